"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { NewFeatureForm } from "@/app/_components/feature-form";
import type { RouterOutputs } from "@/app/_components/types";
import { Badge, Button, Dialog, EmptyState, ErrorState, Loading, PageHeader, Switch, useDebouncedValue, useToast } from "@/app/_components/ui";
import { ValuePreview } from "@/app/_components/values";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

type FeatureRow = RouterOutputs["features"]["list"][number];

export default function FeaturesPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { projectId: routeProjectId, environmentId: routeEnvironmentId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const environmentId = routeEnvironmentId ?? 0;

  const [search, setSearch] = useState("");
  const [tag, setTag] = useState("");
  const [archived, setArchived] = useState(false);
  const [creating, setCreating] = useState(false);
  const [createPending, setCreatePending] = useState(false);
  const debouncedSearch = useDebouncedValue(search.trim());

  const environment = useQuery(trpc.environments.get.queryOptions({ environmentId }));
  const input = { projectId, environmentId, search: debouncedSearch || undefined, tag: tag || undefined, archived };
  const listKey = trpc.features.list.queryKey(input);
  const features = useQuery({ ...trpc.features.list.queryOptions(input), placeholderData: (previous) => previous });
  // Every tag of the project (unfiltered), for the tag filter.
  const all = useQuery(trpc.features.list.queryOptions({ projectId }));
  const tags = [...new Set((all.data ?? []).flatMap((f) => f.tags))].sort();

  const toggle = useMutation(
    trpc.features.updateState.mutationOptions({
      onMutate: async (variables) => {
        await queryClient.cancelQueries({ queryKey: listKey });
        const previous = queryClient.getQueryData(listKey);
        queryClient.setQueryData(
          listKey,
          (rows) =>
            rows?.map((row) => (row.id === variables.featureId && row.state ? { ...row, state: { ...row.state, enabled: variables.enabled ?? row.state.enabled } } : row)) as typeof rows,
        );
        return { previous };
      },
      onError: (error, _variables, context) => {
        if (context?.previous) queryClient.setQueryData(listKey, context.previous);
        toast.error(error);
      },
      onSettled: async () => {
        if (queryClient.isMutating({ mutationKey: trpc.features.updateState.mutationKey() }) <= 1) {
          await queryClient.invalidateQueries({ queryKey: trpc.features.pathKey() });
        }
        await queryClient.invalidateQueries({ queryKey: trpc.audit.pathKey() });
      },
    }),
  );

  const filtered = debouncedSearch !== "" || tag !== "" || archived;
  const base = `/p/${projectId}/e/${environmentId}/features`;

  return (
    <>
      <PageHeader
        title="Features"
        subtitle={environment.data ? `Flags and remote config in ${environment.data.name}.` : undefined}
        actions={
          <Button variant="primary" onClick={() => setCreating(true)}>
            New feature
          </Button>
        }
      />
      <div className="filters" role="search" aria-label="Filter features">
        <div className="field grow">
          <label htmlFor="feature-search">Search</label>
          <input id="feature-search" className="input" type="search" placeholder="Feature name…" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="feature-tag">Tag</label>
          <select id="feature-tag" className="input" value={tag} onChange={(e) => setTag(e.target.value)}>
            <option value="">All tags</option>
            {tags.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div className="field filter-switch">
          <Switch label="Show archived features" checked={archived} onChange={setArchived} showLabel />
        </div>
      </div>
      {features.isPending ? (
        <Loading />
      ) : features.isError ? (
        <ErrorState error={features.error} retry={() => features.refetch()} />
      ) : features.data.length === 0 ? (
        <div className="panel">
          {filtered ? (
            <EmptyState title={archived ? "No archived features" : "No matching features"}>{archived ? "Archived features show here." : "Try another search or tag."}</EmptyState>
          ) : (
            <EmptyState
              title="No features yet"
              action={
                <Button variant="primary" onClick={() => setCreating(true)}>
                  Create your first feature
                </Button>
              }
            >
              Features are flags (on/off) with an optional value, the same in code across environments.
            </EmptyState>
          )}
        </div>
      ) : (
        <div className="panel">
          <table className="table" aria-label="Features">
            <thead>
              <tr>
                <th>Feature</th>
                <th>Value</th>
                <th>Overrides</th>
                <th style={{ textAlign: "right" }}>Enabled</th>
              </tr>
            </thead>
            <tbody>
              {features.data.map((feature) => (
                <FeatureListRow
                  key={feature.id}
                  feature={feature}
                  href={`${base}/${feature.id}`}
                  onToggle={(enabled) => toggle.mutate({ featureId: feature.id, environmentId, enabled })}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog
        open={creating}
        title="New feature"
        wide
        onClose={() => setCreating(false)}
        footer={
          <>
            <Button onClick={() => setCreating(false)}>Cancel</Button>
            <Button variant="primary" type="submit" form="new-feature" busy={createPending}>
              Create feature
            </Button>
          </>
        }
      >
        <NewFeatureForm
          projectId={projectId}
          formId="new-feature"
          onPendingChange={setCreatePending}
          onCreated={(feature) => {
            setCreating(false);
            toast.success(`Feature "${feature.name}" created`);
            router.push(`${base}/${feature.id}`);
          }}
        />
      </Dialog>
    </>
  );
}

function FeatureListRow({ feature, href, onToggle }: { feature: FeatureRow; href: string; onToggle: (enabled: boolean) => void }) {
  const segments = "segmentOverrides" in feature ? feature.segmentOverrides : 0;
  const identities = "identityOverrides" in feature ? feature.identityOverrides : 0;
  return (
    <tr data-testid={`feature-row-${feature.name}`}>
      <td>
        <div className="row">
          <Link href={href} className="feature-name">
            {feature.name}
          </Link>
          {feature.type === "MULTIVARIATE" ? <Badge tone="primary">multivariate</Badge> : null}
          {feature.isServerKeyOnly ? <Badge title="Only served with server-side keys">server-side</Badge> : null}
          {feature.isArchived ? <Badge tone="warning">archived</Badge> : null}
          {feature.tags.map((t) => (
            <Badge key={t}>#{t}</Badge>
          ))}
        </div>
        {feature.description ? <div className="muted small truncate">{feature.description}</div> : null}
      </td>
      <td>{feature.state ? <ValuePreview value={feature.state.value} /> : <span className="muted small">—</span>}</td>
      <td className="small">
        {segments || identities ? (
          <span className="row">
            {segments ? <Badge title="Segment overrides in this environment">{segments} segment{segments === 1 ? "" : "s"}</Badge> : null}
            {identities ? <Badge title="Identity overrides in this environment">{identities} identit{identities === 1 ? "y" : "ies"}</Badge> : null}
          </span>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td style={{ textAlign: "right" }}>
        {feature.state ? <Switch label={`Enable ${feature.name}`} checked={feature.state.enabled} onChange={onToggle} /> : <span className="muted small">—</span>}
      </td>
    </tr>
  );
}
