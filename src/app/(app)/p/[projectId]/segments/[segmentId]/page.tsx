"use client";

import Link from "next/link";
import { useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { AuditLog } from "@/app/_components/audit-log";
import { TestContextPanel } from "@/app/_components/evaluation";
import { useGate } from "@/app/_components/gates";
import { SegmentForm } from "@/app/_components/segment-form";
import { Badge, Breadcrumb, Button, ConfirmDialog, ErrorState, Loading, PageHeader, useToast } from "@/app/_components/ui";
import { useLeaveDeleted } from "@/app/_components/use-invalidate";
import { ValuePreview } from "@/app/_components/values";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";
import { plural } from "@/server/text";

export default function SegmentPage() {
  const trpc = useTRPC();
  const toast = useToast();
  const leave = useLeaveDeleted();
  const { projectId: routeProjectId, segmentId: routeSegmentId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const segmentId = routeSegmentId ?? 0;
  const listHref = `/p/${projectId}/segments`;
  const segment = useQuery(trpc.segments.get.queryOptions({ segmentId }));
  const contextEvaluation = useGate("context_evaluation", { projectId });
  const [confirmDelete, setConfirmDelete] = useState(false);
  const remove = useMutation(
    trpc.segments.delete.mutationOptions({
      onSuccess: async () => {
        toast.success("Segment deleted");
        await leave({ segmentId }, listHref);
      },
      onError: (error) => toast.error(error),
    }),
  );

  const breadcrumb = (name: string) => <Breadcrumb parent={{ href: listHref, label: "Segments" }} current={name} />;
  if (segment.isPending) return <Loading />;
  if (segment.isError) {
    return (
      <>
        {breadcrumb("Segment")}
        <ErrorState error={segment.error} retry={() => segment.refetch()} />
      </>
    );
  }
  const s = segment.data;
  return (
    <>
      {breadcrumb(s.name)}
      <PageHeader
        title={s.name}
        subtitle={
          <span className="row">
            {s.description ? <span>{s.description}</span> : null}
            {s.featureName ? <Badge>only for feature {s.featureName}</Badge> : null}
          </span>
        }
        actions={
          <Button variant="danger" onClick={() => setConfirmDelete(true)}>
            Delete segment
          </Button>
        }
      />
      <section className="panel" aria-labelledby="segment-edit-heading">
        <div className="panel-header">
          <h2 id="segment-edit-heading">Definition</h2>
        </div>
        <div className="panel-body">
          <SegmentForm key={String(s.updatedAt)} projectId={projectId} segment={s} onSaved={() => undefined} />
        </div>
      </section>
      {contextEvaluation ? <TestContextPanel id="segment-test-context" projectId={projectId} segment={{ id: s.id, name: s.name }} /> : null}
      <section className="panel" aria-labelledby="segment-overrides-heading">
        <div className="panel-header">
          <h2 id="segment-overrides-heading">Feature overrides</h2>
          <span className="muted small">Features served differently to this segment, per environment.</span>
        </div>
        {s.overrides.length === 0 ? (
          <p className="panel-body muted" style={{ margin: 0 }}>
            No feature overrides this segment yet. Add one from a feature&apos;s “Segment overrides” tab.
          </p>
        ) : (
          <table className="table table-cards" aria-label="Feature overrides">
            <thead>
              <tr>
                <th>Feature</th>
                <th>Environment</th>
                <th>Priority</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {s.overrides.map((override) => (
                <tr key={override.featureStateId}>
                  <td className="cell-main">
                    <Link href={`/p/${projectId}/e/${override.environmentId}/features/${override.featureId}?tab=segments`}>{override.featureName}</Link>
                  </td>
                  <td data-label="Environment">{override.environmentName}</td>
                  <td data-label="Priority">{override.position}</td>
                  <td data-label="State">
                    <span className="row">
                      {override.enabled ? <Badge tone="success">on</Badge> : <Badge>off</Badge>} <ValuePreview value={override.value ?? null} />
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="panel" aria-labelledby="segment-history-heading">
        <div className="panel-header">
          <h2 id="segment-history-heading">History</h2>
        </div>
        <div className="panel-body">
          <AuditLog projectId={projectId} segmentId={segmentId} showFilters={false} pageSize={10} />
        </div>
      </section>
      <ConfirmDialog
        open={confirmDelete}
        title="Delete segment"
        message={s.overrides.length === 0 ? `Delete "${s.name}"? No feature is overridden for it.` : `Delete "${s.name}"? Its ${plural(s.overrides.length, "override")} ${s.overrides.length === 1 ? "is" : "are"} removed from every environment.`}
        confirmLabel="Delete segment"
        busy={remove.isPending}
        onClose={() => setConfirmDelete(false)}
        onConfirm={() => remove.mutate({ segmentId })}
      />
    </>
  );
}
