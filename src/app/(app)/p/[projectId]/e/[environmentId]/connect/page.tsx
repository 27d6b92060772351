"use client";

import Link from "next/link";
import { useRef, useSyncExternalStore } from "react";
import { useQuery } from "@tanstack/react-query";
import { apiUrlOf, connectSnippets, flagsmithStreamUrlOf, ofrepBaseUrlOf, SERVER_KEY_PLACEHOLDER, type ConnectSection, type Snippet } from "@/app/_components/connect-snippets";
import { CopyButton, selectContents } from "@/app/_components/copy-button";
import { Badge, CopyField, ErrorState, Loading, PageHeader } from "@/app/_components/ui";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

/** The browser's origin: the address applications reach this instance at (as the admin sees it). */
function useOrigin(): string | null {
  return useSyncExternalStore(
    () => () => undefined,
    () => window.location.origin,
    () => null,
  );
}

export default function ConnectPage() {
  const trpc = useTRPC();
  const { projectId: routeProjectId, environmentId: routeEnvironmentId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const environmentId = routeEnvironmentId ?? 0;
  const origin = useOrigin();
  const environment = useQuery(trpc.environments.get.queryOptions({ environmentId }));
  const flagd = useQuery(trpc.flagd.status.queryOptions({ projectId }));
  const features = useQuery(trpc.features.list.queryOptions({ projectId, archived: false }));
  const gates = useQuery({ ...trpc.rollouts.gates.queryOptions({ projectId }), staleTime: 60_000 });

  // The snippets name a feature of the project and say whether flagd is on: wait for both, so a
  // snippet never changes under a Copy button.
  if (environment.isPending || flagd.isPending || features.isPending || gates.isPending || origin === null) return <Loading />;
  if (environment.isError) return <ErrorState error={environment.error} retry={() => environment.refetch()} />;
  const env = environment.data;
  const instance = { origin };
  const sections = connectSnippets(instance, {
    name: env.name,
    clientKey: env.apiKey,
    flagdEnabled: flagd.data?.enabled ?? false,
    exampleFeature: features.data?.[0]?.name,
    // A capability whose gate is closed (or unknown: the gates query failed) is not shown.
    ofrepEnabled: gates.data?.ofrep_api === true,
    realtimeEnabled: gates.data?.realtime_streams === true,
  });

  return (
    <>
      <PageHeader title="Connect" subtitle={`Use ${env.name} from your application: any official Flagsmith SDK works against this instance.`} />
      <section className="panel" aria-labelledby="connect-keys-heading">
        <div className="panel-header">
          <h2 id="connect-keys-heading">This instance and environment</h2>
        </div>
        <div className="panel-body stack">
          <div className="grid-2">
            <CopyField label="API URL" value={apiUrlOf(instance)} />
            <CopyField label="Client-side environment key" value={env.apiKey} />
            {gates.data?.ofrep_api ? <CopyField label="OFREP base URL" value={ofrepBaseUrlOf(instance)} /> : null}
            {gates.data?.realtime_streams ? <CopyField label="Real-time stream URL (Flagsmith)" value={flagsmithStreamUrlOf(instance, env.apiKey)} /> : null}
          </div>
          <p className="muted small" style={{ margin: 0 }}>
            Server-side snippets show <code>{SERVER_KEY_PLACEHOLDER}</code> where a server-side key goes: create one under{" "}
            <Link href={`/p/${projectId}/e/${environmentId}/settings`}>Environment settings → SDK keys</Link> (it is shown once) and keep it secret.
          </p>
          <nav aria-label="SDKs on this page">
            <ul className="connect-toc">
              {sections.map((section) => (
                <li key={section.id}>
                  <a href={`#connect-${section.id}`}>{section.title}</a>
                </li>
              ))}
            </ul>
          </nav>
        </div>
      </section>
      {sections.map((section) => (
        <SectionPanel key={section.id} section={section} />
      ))}
    </>
  );
}

function SectionPanel({ section }: { section: ConnectSection }) {
  const headingId = `connect-${section.id}-heading`;
  return (
    <section className="panel connect-section" id={`connect-${section.id}`} aria-labelledby={headingId}>
      <div className="panel-header">
        <h2 id={headingId}>{section.title}</h2>
        <Badge tone={section.keyKind === "client" ? "primary" : "warning"}>{section.keyKind === "client" ? "client-side key" : "server-side key"}</Badge>
      </div>
      <div className="panel-body stack">
        <p style={{ margin: 0 }}>
          {section.summary}{" "}
          <a href={section.docsUrl} target="_blank" rel="noreferrer noopener">
            {section.title} documentation<span className="sr-only"> (opens in a new tab)</span>
          </a>
        </p>
        <p className="small" style={{ margin: 0 }}>
          Install: <code>{section.install}</code>
        </p>
        {section.snippets.map((snippet) => (
          <SnippetBlock key={snippet.id} section={section} snippet={snippet} />
        ))}
      </div>
    </section>
  );
}

function SnippetBlock({ section, snippet }: { section: ConnectSection; snippet: Snippet }) {
  const code = useRef<HTMLPreElement>(null);
  const name = `${section.title} snippet (${snippet.label.toLowerCase()})`;
  return (
    <div className="snippet" data-testid={`snippet-${snippet.id}`}>
      <div className="snippet-head">
        <span className="small">
          <strong>{snippet.label}</strong> <span className="muted">{snippet.language}</span>
        </span>
        <CopyButton text={snippet.code} what={name} select={() => selectContents(code.current)} />
      </div>
      <pre ref={code} className="code-block" role="group" aria-label={name} tabIndex={0}>
        <code>{snippet.code}</code>
      </pre>
      {snippet.note ? (
        <p className="muted small" style={{ margin: "6px 10px" }}>
          {snippet.note}
        </p>
      ) : null}
    </div>
  );
}
