"use client";

import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { ChangeSummary, useCancelScheduled } from "@/app/_components/scheduled";
import type { RouterOutputs } from "@/app/_components/types";
import { Badge, Button, EmptyState, ErrorState, Loading, PageHeader, formatDate } from "@/app/_components/ui";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

type ScheduledChange = RouterOutputs["features"]["scheduled"][number];

const STATUS_TONES = { PENDING: "primary", LIVE: "success", CANCELLED: undefined, FAILED: "danger" } as const;

export default function ScheduledChangesPage() {
  const trpc = useTRPC();
  const { projectId: routeProjectId, environmentId: routeEnvironmentId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const environmentId = routeEnvironmentId ?? 0;
  const environment = useQuery(trpc.environments.get.queryOptions({ environmentId }));
  // Both poll: a pending change that goes live moves from one table to the other.
  const pending = useQuery({ ...trpc.features.scheduled.queryOptions({ environmentId, status: "PENDING" }), refetchInterval: 30_000 });
  const all = useQuery({ ...trpc.features.scheduled.queryOptions({ environmentId }), refetchInterval: 30_000 });
  const past = all.data?.filter((change) => change.status !== "PENDING") ?? [];
  const cancel = useCancelScheduled();
  const featureHref = (change: ScheduledChange) => `/p/${projectId}/e/${environmentId}/features/${change.featureId}${change.segmentId ? "?tab=segments" : ""}`;

  return (
    <>
      <PageHeader title="Scheduled changes" subtitle={environment.data ? `Changes waiting to go live in ${environment.data.name}, and the history of past ones.` : undefined} />
      <section className="panel" aria-labelledby="pending-heading">
        <div className="panel-header">
          <h2 id="pending-heading">Pending</h2>
          <span className="muted small">Schedule a change from a feature&apos;s Value tab.</span>
        </div>
        {pending.isPending ? (
          <Loading />
        ) : pending.isError ? (
          <div className="panel-body">
            <ErrorState error={pending.error} retry={() => pending.refetch()} />
          </div>
        ) : pending.data.length === 0 ? (
          <EmptyState title="Nothing scheduled">Open a feature and tick “Schedule this change” to make it go live later.</EmptyState>
        ) : (
          <table className="table" aria-label="Pending scheduled changes">
            <thead>
              <tr>
                <th>Feature</th>
                <th>Change</th>
                <th>Goes live</th>
                <th>Scheduled by</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {pending.data.map((change) => (
                <tr key={change.id} data-testid={`scheduled-${change.featureName}`}>
                  <td>
                    <Link href={featureHref(change)}>{change.featureName}</Link>
                    {change.segmentName ? <div className="muted small">segment: {change.segmentName}</div> : <div className="muted small">environment value</div>}
                  </td>
                  <td>
                    <ChangeSummary change={change.change} />
                  </td>
                  <td>
                    <time dateTime={String(change.liveFrom)}>{formatDate(change.liveFrom)}</time>
                  </td>
                  <td className="small">{change.actorLabel}</td>
                  <td style={{ textAlign: "right" }}>
                    <Button variant="ghost" className="btn-sm" aria-label={`Cancel scheduled change to ${change.featureName}`} onClick={() => cancel.ask(change.id, change.featureName)}>
                      Cancel
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="panel" aria-labelledby="past-heading">
        <div className="panel-header">
          <h2 id="past-heading">Past</h2>
        </div>
        {all.isPending ? (
          <Loading />
        ) : all.isError ? (
          <div className="panel-body">
            <ErrorState error={all.error} retry={() => all.refetch()} />
          </div>
        ) : past.length === 0 ? (
          <p className="panel-body muted" style={{ margin: 0 }}>
            No scheduled change has gone live or been cancelled yet.
          </p>
        ) : (
          <table className="table" aria-label="Past scheduled changes">
            <thead>
              <tr>
                <th>Feature</th>
                <th>Change</th>
                <th>Status</th>
                <th>When</th>
                <th>Scheduled by</th>
              </tr>
            </thead>
            <tbody>
              {past.map((change) => (
                <tr key={change.id}>
                  <td>
                    <Link href={featureHref(change)}>{change.featureName}</Link>
                    {change.segmentName ? <div className="muted small">segment: {change.segmentName}</div> : null}
                  </td>
                  <td>
                    <ChangeSummary change={change.change} />
                    {change.error ? <div className="field-error">{change.error}</div> : null}
                  </td>
                  <td>
                    <Badge tone={STATUS_TONES[change.status]}>{change.status.toLowerCase()}</Badge>
                  </td>
                  <td className="small">
                    {change.status === "LIVE"
                      ? `went live ${formatDate(change.appliedAt ?? change.liveFrom)}`
                      : change.status === "CANCELLED"
                        ? `cancelled ${formatDate(change.cancelledAt)}`
                        : `due ${formatDate(change.liveFrom)}`}
                  </td>
                  <td className="small">{change.actorLabel}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {cancel.dialog}
    </>
  );
}
