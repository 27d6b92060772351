"use client";

import { usePathname, useSearchParams } from "next/navigation";
import { Suspense, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { AuditLog } from "@/app/_components/audit-log";
import { CopyToEnvironmentDialog } from "@/app/_components/copy-to-environment";
import { Badge, Breadcrumb, Button, ErrorState, Loading, PageHeader, TabPanel, Tabs } from "@/app/_components/ui";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";
import { AnalyticsTab } from "@/app/(app)/p/[projectId]/e/[environmentId]/features/[featureId]/_parts/AnalyticsTab";
import { EnvironmentStates } from "@/app/(app)/p/[projectId]/e/[environmentId]/features/[featureId]/_parts/EnvironmentStates";
import { IdentityOverridesTab } from "@/app/(app)/p/[projectId]/e/[environmentId]/features/[featureId]/_parts/IdentityOverridesTab";
import { SegmentOverridesTab } from "@/app/(app)/p/[projectId]/e/[environmentId]/features/[featureId]/_parts/SegmentOverridesTab";
import { SettingsTab } from "@/app/(app)/p/[projectId]/e/[environmentId]/features/[featureId]/_parts/SettingsTab";
import { ValueTab } from "@/app/(app)/p/[projectId]/e/[environmentId]/features/[featureId]/_parts/ValueTab";
import { VariationsTab } from "@/app/(app)/p/[projectId]/e/[environmentId]/features/[featureId]/_parts/VariationsTab";

const TABS = [
  { id: "value", label: "Value" },
  { id: "variations", label: "Variations" },
  { id: "segments", label: "Segment overrides" },
  { id: "identities", label: "Identity overrides" },
  { id: "history", label: "History" },
  { id: "analytics", label: "Analytics" },
  { id: "settings", label: "Settings" },
] as const;
type TabId = (typeof TABS)[number]["id"];

export default function FeaturePage() {
  return (
    <Suspense fallback={<Loading />}>
      <FeatureDetail />
    </Suspense>
  );
}

function FeatureDetail() {
  const trpc = useTRPC();
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const { projectId: routeProjectId, environmentId: routeEnvironmentId, featureId: routeFeatureId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const environmentId = routeEnvironmentId ?? 0;
  const featureId = routeFeatureId ?? 0;

  const feature = useQuery(trpc.features.get.queryOptions({ featureId }));
  const environment = useQuery(trpc.environments.get.queryOptions({ environmentId }));
  const environments = useQuery(trpc.environments.list.queryOptions({ projectId }));
  const [copying, setCopying] = useState(false);
  const requested = searchParams.get("tab");
  const tab: TabId = TABS.some((t) => t.id === requested) ? (requested as TabId) : "value";
  // The tab is in the address (reload, links), replaced in place: no server round trip, so the
  // switch is instant even on a slow connection.
  const setTab = (next: TabId) => {
    const params = new URLSearchParams(searchParams.toString());
    if (next === "value") params.delete("tab");
    else params.set("tab", next);
    const query = params.toString();
    window.history.replaceState(null, "", query ? `${pathname}?${query}` : pathname);
  };

  const listHref = `/p/${projectId}/e/${environmentId}/features`;
  if (feature.isPending) return <Loading />;
  if (feature.isError) {
    return (
      <>
        <Breadcrumb parent={{ href: listHref, label: "Features" }} current="Feature" />
        <ErrorState error={feature.error} retry={() => feature.refetch()} />
      </>
    );
  }
  const f = feature.data;
  const envName = environment.data?.name ?? "this environment";

  return (
    <>
      <Breadcrumb parent={{ href: listHref, label: "Features" }} current={f.name} />
      <PageHeader
        title={f.name}
        subtitle={
          <span className="row">
            {f.description ? <span>{f.description}</span> : null}
            {f.type === "MULTIVARIATE" ? <Badge tone="primary">multivariate</Badge> : <Badge>standard</Badge>}
            {f.isServerKeyOnly ? <Badge>server-side only</Badge> : null}
            {f.isArchived ? <Badge tone="warning">archived</Badge> : null}
            {f.tags.map((t) => (
              <Badge key={t}>#{t}</Badge>
            ))}
          </span>
        }
        actions={
          (environments.data?.length ?? 0) > 1 ? (
            <Button onClick={() => setCopying(true)} disabled={!environment.data}>
              Copy to environment…
            </Button>
          ) : undefined
        }
      />
      {environment.data && environments.data ? (
        <CopyToEnvironmentDialog
          open={copying}
          onClose={() => setCopying(false)}
          onCopied={() => undefined}
          projectId={projectId}
          source={environment.data}
          environments={environments.data}
          features={[{ id: f.id, name: f.name }]}
        />
      ) : null}
      <EnvironmentStates feature={f} projectId={projectId} currentEnvironmentId={environmentId} />
      <div className="panel">
        <div className="panel-body">
          <Tabs label="Feature" tabs={TABS} value={tab} onChange={setTab} idPrefix="feature-tab" />
          <TabPanel id={tab} idPrefix="feature-tab">
            {tab === "value" ? <ValueTab feature={f} environmentId={environmentId} environmentName={envName} /> : null}
            {tab === "variations" ? <VariationsTab feature={f} /> : null}
            {tab === "segments" ? <SegmentOverridesTab feature={f} projectId={projectId} environmentId={environmentId} environmentName={envName} /> : null}
            {tab === "identities" ? <IdentityOverridesTab feature={f} projectId={projectId} environmentId={environmentId} environmentName={envName} /> : null}
            {tab === "history" ? <AuditLog projectId={projectId} featureId={featureId} pageSize={20} /> : null}
            {tab === "analytics" ? <AnalyticsTab featureId={featureId} environmentId={environmentId} environmentName={envName} /> : null}
            {tab === "settings" ? <SettingsTab key={`${f.id}:${f.updatedAt}`} feature={f} listHref={listHref} /> : null}
          </TabPanel>
        </div>
      </div>
    </>
  );
}
