"use client";

import { PageHeader } from "@/app/_components/ui";

/**
 * A page that failed while rendering (a bug, or a response the page did not expect): the navigation
 * stays, with a way to try again, instead of the browser's blank "application error".
 */
export default function PageError({ error, retry }: { error: unknown; retry: () => void }) {
  const digest = error instanceof Error ? (error as Error & { digest?: string }).digest : undefined;
  return (
    <>
      <PageHeader title="Something went wrong" />
      <div className="error-state" role="alert">
        <span>
          This page could not be shown{error instanceof Error && error.message ? `: ${error.message}` : "."}
          {digest ? <span className="small"> (reference {digest})</span> : null}
        </span>
        <button type="button" className="btn btn-ghost" onClick={() => retry()}>
          Try again
        </button>
      </div>
    </>
  );
}
