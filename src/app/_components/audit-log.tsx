"use client";

/**
 * The audit log as a filterable, paginated list ("Load more" follows the server's cursor): who did
 * what and when, with the before/after of each change (a field-by-field diff) in an expander.
 */
import { useState } from "react";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useTRPC } from "@/app/_trpc/client";
import { Badge, EmptyState, ErrorState, Loading, LoadMore, formatDate, useDebouncedValue } from "./ui";
import { JsonDiff } from "./json-diff";
import type { RouterOutputs } from "./types";

type AuditItem = RouterOutputs["audit"]["list"]["items"][number];

/** Action prefixes offered by the filter (the server matches `action` by prefix). */
export const AUDIT_ACTION_FILTERS: readonly { value: string; label: string }[] = [
  { value: "", label: "All changes" },
  { value: "feature.", label: "Features" },
  { value: "feature_state.", label: "Feature values & toggles" },
  { value: "multivariate_option.", label: "Variations" },
  { value: "segment.", label: "Segments" },
  { value: "segment_override.", label: "Segment overrides" },
  { value: "identity.", label: "Identities" },
  { value: "identity_override.", label: "Identity overrides" },
  { value: "trait.", label: "Traits" },
  { value: "scheduled_change.", label: "Scheduled changes" },
  { value: "environment", label: "Environments & documents" },
  { value: "server_key.", label: "Server-side keys" },
  { value: "project.", label: "Project" },
];

/** Extra prefixes on the organisation's audit log. */
const ORGANISATION_ACTION_FILTERS: readonly { value: string; label: string }[] = [
  { value: "membership.", label: "Members" },
  { value: "invitation.", label: "Invitations" },
  { value: "api_key.", label: "API keys" },
  { value: "organisation.", label: "Organisation" },
];

function actionTone(action: string): "success" | "danger" | "warning" | "primary" | undefined {
  if (action.endsWith(".created") || action.endsWith(".accepted") || action.endsWith(".applied") || action.endsWith(".cloned")) return "success";
  if (action.endsWith(".deleted") || action.endsWith(".revoked") || action.endsWith(".failed")) return "danger";
  if (action.endsWith(".cancelled")) return "warning";
  return "primary";
}

export function AuditLog({
  organisationId,
  projectId,
  environmentId,
  featureId,
  segmentId,
  showFilters = true,
  pageSize = 25,
}: {
  /** Set (without `projectId`) for the whole organisation's log. */
  organisationId?: number;
  projectId?: number;
  environmentId?: number;
  featureId?: number;
  segmentId?: number;
  showFilters?: boolean;
  pageSize?: number;
}) {
  const trpc = useTRPC();
  const [action, setAction] = useState("");
  const [search, setSearch] = useState("");
  const debouncedSearch = useDebouncedValue(search.trim());
  const query = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { organisationId, projectId, environmentId, featureId, segmentId, action: action || undefined, search: debouncedSearch || undefined, limit: pageSize },
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const wholeOrganisation = projectId === undefined;
  const filters = wholeOrganisation ? [...AUDIT_ACTION_FILTERS, ...ORGANISATION_ACTION_FILTERS] : AUDIT_ACTION_FILTERS;
  const items = query.data?.pages.flatMap((page) => page.items) ?? [];
  const filtered = action !== "" || debouncedSearch !== "";

  return (
    <div className="stack">
      {showFilters ? (
        <div className="filters" role="search">
          <div className="field">
            <label htmlFor="audit-action">Change type</label>
            <select id="audit-action" className="input" value={action} onChange={(e) => setAction(e.target.value)}>
              {filters.map((filter) => (
                <option key={filter.value} value={filter.value}>
                  {filter.label}
                </option>
              ))}
            </select>
          </div>
          <div className="field grow">
            <label htmlFor="audit-search">Search</label>
            <input
              id="audit-search"
              className="input"
              type="search"
              value={search}
              placeholder="Summary or person…"
              aria-keyshortcuts="/"
              onChange={(e) => setSearch(e.target.value)}
            />
          </div>
        </div>
      ) : null}
      {query.isPending ? (
        <Loading />
      ) : query.isError ? (
        <ErrorState error={query.error} retry={() => query.refetch()} />
      ) : items.length === 0 ? (
        <div className="panel">
          <EmptyState title={filtered ? "No matching changes" : "No changes yet"}>
            {filtered ? "Try another change type or search." : "Every change to flags, segments and identities is recorded here."}
          </EmptyState>
        </div>
      ) : (
        <div className="panel">
          <ol className="audit-list" aria-label="Audit log">
            {items.map((item) => (
              <AuditRow key={item.id} item={item} showProject={wholeOrganisation} />
            ))}
          </ol>
          <LoadMore hasMore={query.hasNextPage} loading={query.isFetchingNextPage} onClick={() => void query.fetchNextPage()} />
        </div>
      )}
    </div>
  );
}

// Timestamps inside summaries (e.g. "scheduled for …"), as the server writes them: ISO 8601 in UTC.
const ISO_TIMESTAMP = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z/g;

/** A summary as text and timestamps, so that times show in the reader's time zone and format. */
export function summaryParts(summary: string): ({ text: string } | { time: string })[] {
  const parts: ({ text: string } | { time: string })[] = [];
  let last = 0;
  for (const match of summary.matchAll(ISO_TIMESTAMP)) {
    const at = match.index ?? 0;
    if (Number.isNaN(Date.parse(match[0]))) continue;
    if (at > last) parts.push({ text: summary.slice(last, at) });
    parts.push({ time: match[0] });
    last = at + match[0].length;
  }
  if (last < summary.length) parts.push({ text: summary.slice(last) });
  return parts;
}

function AuditRow({ item, showProject }: { item: AuditItem; showProject: boolean }) {
  const hasDetail = item.before !== null || item.after !== null;
  const environmentName = item.environmentId === null ? undefined : (item.environmentName ?? `environment #${item.environmentId} (deleted)`);
  const projectName = item.projectId === null ? undefined : (item.projectName ?? `project #${item.projectId} (deleted)`);
  return (
    <li className="audit-item">
      <div className="audit-main">
        <div className="audit-summary">
          {summaryParts(item.summary).map((part, index) =>
            "time" in part ? (
              <time key={index} dateTime={part.time} title={`${part.time} (UTC)`}>
                {formatDate(part.time)}
              </time>
            ) : (
              part.text
            ),
          )}
        </div>
        <div className="muted small row">
          <Badge tone={actionTone(item.action)}>{item.action}</Badge>
          {showProject ? (
            projectName ? (
              <Badge title="Project">{projectName}</Badge>
            ) : (
              <span title="Applies to the whole organisation">organisation-wide</span>
            )
          ) : null}
          {environmentName ? (
            <Badge title="Environment">{environmentName}</Badge>
          ) : projectName ? (
            <span title="Applies to the whole project">project-wide</span>
          ) : null}
          <span>
            by <strong>{item.actorLabel}</strong>
          </span>
          <time dateTime={String(item.createdAt)}>{formatDate(item.createdAt)}</time>
        </div>
      </div>
      {hasDetail ? (
        <details className="audit-detail">
          <summary>Before / after</summary>
          <JsonDiff before={item.before} after={item.after} />
        </details>
      ) : null}
    </li>
  );
}
