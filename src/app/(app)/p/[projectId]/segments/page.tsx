"use client";

import Link from "next/link";
import { useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { describeRules } from "@/server/segments/validation";
import type { RouterOutputs } from "@/app/_components/types";
import { Badge, Button, ConfirmDialog, EmptyState, ErrorState, Loading, PageHeader, formatDate, useDebouncedValue, useToast } from "@/app/_components/ui";
import { useInvalidateFlags } from "@/app/_components/use-invalidate";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

type Segment = RouterOutputs["segments"]["list"][number];

export default function SegmentsPage() {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const { projectId: routeProjectId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const [search, setSearch] = useState("");
  const debounced = useDebouncedValue(search.trim());
  const [deleting, setDeleting] = useState<Segment | null>(null);
  const segments = useQuery({ ...trpc.segments.list.queryOptions({ projectId, search: debounced || undefined }), placeholderData: (previous) => previous });
  const remove = useMutation(
    trpc.segments.delete.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success(`Segment "${deleting?.name}" deleted`);
        setDeleting(null);
      },
      onError: (error) => toast.error(error),
    }),
  );
  const newHref = `/p/${projectId}/segments/new`;

  return (
    <>
      <PageHeader
        title="Segments"
        subtitle="Groups of identities defined by rules on their traits, shared by every environment of the project."
        actions={
          <Link href={newHref} className="btn btn-primary" aria-keyshortcuts="c">
            New segment
          </Link>
        }
      />
      <div className="filters" role="search">
        <div className="field grow">
          <label htmlFor="segment-search">Search</label>
          <input
            id="segment-search"
            className="input"
            type="search"
            value={search}
            placeholder="Segment name…"
            aria-keyshortcuts="/"
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
      </div>
      {segments.isPending ? (
        <Loading />
      ) : segments.isError ? (
        <ErrorState error={segments.error} retry={() => segments.refetch()} />
      ) : segments.data.length === 0 ? (
        <div className="panel">
          {debounced ? (
            <EmptyState title="No matching segments">Try another name.</EmptyState>
          ) : (
            <EmptyState
              title="No segments yet"
              action={
                <Link href={newHref} className="btn btn-primary">
                  Create a segment
                </Link>
              }
            >
              Segments let you override flags for some users: beta testers, a country, a percentage of traffic…
            </EmptyState>
          )}
        </div>
      ) : (
        <div className="panel">
          <table className="table table-cards" aria-label="Segments">
            <thead>
              <tr>
                <th>Segment</th>
                <th>Rules</th>
                <th>Updated</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {segments.data.map((segment) => (
                <tr key={segment.id}>
                  <td className="cell-main">
                    <div className="row">
                      <Link href={`/p/${projectId}/segments/${segment.id}`}>{segment.name}</Link>
                      {segment.featureName ? <Badge title="Only usable by this feature">feature: {segment.featureName}</Badge> : null}
                    </div>
                    {segment.description ? <div className="muted small truncate">{segment.description}</div> : null}
                  </td>
                  <td data-label="Rules">
                    <code className="rules-summary truncate" title={describeRules(segment.rules)}>
                      {describeRules(segment.rules)}
                    </code>
                  </td>
                  <td className="muted small" data-label="Updated">
                    {formatDate(segment.updatedAt)}
                  </td>
                  <td className="cell-end" style={{ textAlign: "right" }}>
                    <Button variant="ghost" className="btn-sm" aria-label={`Delete segment ${segment.name}`} onClick={() => setDeleting(segment)}>
                      Delete
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog
        open={deleting !== null}
        title="Delete segment"
        message={`Delete "${deleting?.name}"? Its overrides are removed from every environment.`}
        confirmLabel="Delete segment"
        busy={remove.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() => deleting && remove.mutate({ segmentId: deleting.id })}
      />
    </>
  );
}
