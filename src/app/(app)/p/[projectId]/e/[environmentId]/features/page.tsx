"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { Suspense, useEffect, useState } from "react";
import { FEATURE_SORTS, filtersFromParams, queryWithFilters, sortFeatures, type FeatureSort } from "@/app/_components/feature-filters";
import { useRouter } from "@/app/_components/navigation";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { NewFeatureForm } from "@/app/_components/feature-form";
import { useToggleWithUndo } from "@/app/_components/protected-change";
import { TestContextPanel } from "@/app/_components/evaluation";
import { useGate } from "@/app/_components/gates";
import type { RouterOutputs } from "@/app/_components/types";
import { Badge, Button, Dialog, EmptyState, ErrorState, Loading, PageHeader, Switch, useDebouncedValue, useToast } from "@/app/_components/ui";
import { plural } from "@/server/text";
import { ValuePreview } from "@/app/_components/values";
import { SearchAndTagFields } from "@/app/_components/search-and-tag";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

type FeatureRow = RouterOutputs["features"]["list"][number];

export default function FeaturesPage() {
  // The filters are read from the query string (useSearchParams).
  return (
    <Suspense fallback={<Loading />}>
      <FeatureList />
    </Suspense>
  );
}

function FeatureList() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { projectId: routeProjectId, environmentId: routeEnvironmentId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const environmentId = routeEnvironmentId ?? 0;

  // Search, tag, "show archived" and sort start from the address and are written back to it (replaced,
  // not pushed: no server round trip, and Back leaves the list as it was).
  const searchParams = useSearchParams();
  const [initial] = useState(() => filtersFromParams(searchParams));
  const [search, setSearch] = useState(initial.search);
  const [tag, setTag] = useState(initial.tag);
  const [archived, setArchived] = useState(initial.archived);
  const [sort, setSort] = useState<FeatureSort>(initial.sort);
  const [creating, setCreating] = useState(false);
  const [createPending, setCreatePending] = useState(false);
  const debouncedSearch = useDebouncedValue(search.trim());
  useEffect(() => {
    const query = queryWithFilters(window.location.search, { search: debouncedSearch, tag, archived, sort });
    if (query !== window.location.search) window.history.replaceState(null, "", `${window.location.pathname}${query}${window.location.hash}`);
  }, [debouncedSearch, tag, archived, sort]);

  const environment = useQuery(trpc.environments.get.queryOptions({ environmentId }));
  // "Show archived" lists archived features with the others (marked), not instead of them.
  const input = { projectId, environmentId, search: debouncedSearch || undefined, tag: tag || undefined, archived: archived ? undefined : false };
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

  const toggleFeature = useToggleWithUndo(toggle.mutateAsync);
  const [testing, setTesting] = useState(false);
  const contextEvaluation = useGate("context_evaluation", { projectId });

  const filtered = debouncedSearch !== "" || tag !== "";
  const rows: FeatureRow[] = features.data ? sortFeatures<FeatureRow>(features.data, sort) : [];
  const base = `/p/${projectId}/e/${environmentId}/features`;

  return (
    <>
      <PageHeader
        title="Features"
        subtitle={
          environment.data ? (
            <span className="row">
              <span>Flags and remote config in {environment.data.name}.</span>
              {environment.data.isProtected ? <Badge tone="warning" title="Toggles and value changes ask for confirmation">protected</Badge> : null}
            </span>
          ) : undefined
        }
        actions={
          <>
            {contextEvaluation ? (
              <Button aria-expanded={testing} aria-controls="test-context" onClick={() => setTesting(!testing)}>
                Test a context
              </Button>
            ) : null}
            <Button variant="primary" aria-keyshortcuts="c" onClick={() => setCreating(true)}>
              New feature
            </Button>
          </>
        }
      />
      {testing && contextEvaluation ? <TestContextPanel id="test-context" environmentId={environmentId} projectId={projectId} onClose={() => setTesting(false)} /> : null}
      <div className="filters" role="search" aria-label="Filter features">
        <SearchAndTagFields idPrefix="feature" search={search} onSearch={setSearch} tag={tag} onTag={setTag} tags={tags} />
        <div className="field">
          <label htmlFor="feature-sort">Sort by</label>
          <select id="feature-sort" className="input" value={sort} onChange={(e) => setSort(FEATURE_SORTS.find((option) => option.value === e.target.value)?.value ?? "name")}>
            {FEATURE_SORTS.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
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
      ) : rows.length === 0 ? (
        <div className="panel">
          {filtered ? (
            <EmptyState title="No matching features">Try another search or tag.</EmptyState>
          ) : !archived && (all.data?.length ?? 0) > 0 ? (
            <EmptyState title="Every feature is archived">Switch on “Show archived features” to list them.</EmptyState>
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
          <table className="table table-cards" aria-label="Features" aria-describedby="feature-list-count">
            <caption id="feature-list-count" className="sr-only">
              {plural(rows.length, "feature")}, sorted by {FEATURE_SORTS.find((option) => option.value === sort)?.label.toLowerCase()}
            </caption>
            <thead>
              <tr>
                <th scope="col" aria-sort={sort === "name" ? "ascending" : sort === "name-desc" ? "descending" : undefined}>
                  Feature
                </th>
                <th scope="col">Value</th>
                <th scope="col">Overrides</th>
                <th scope="col" style={{ textAlign: "right" }}>
                  Enabled
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((feature) => (
                <FeatureListRow
                  key={feature.id}
                  feature={feature}
                  toggleDisabled={!environment.data}
                  href={`${base}/${feature.id}`}
                  onToggle={(enabled) => void toggleFeature({ featureId: feature.id, featureName: feature.name, environmentId, environment: environment.data, enabled })}
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

function FeatureListRow({ feature, href, onToggle, toggleDisabled }: { feature: FeatureRow; href: string; onToggle: (enabled: boolean) => void; toggleDisabled: boolean }) {
  const segments = "segmentOverrides" in feature ? feature.segmentOverrides : 0;
  const identities = "identityOverrides" in feature ? feature.identityOverrides : 0;
  return (
    <tr data-testid={`feature-row-${feature.name}`} className={feature.isArchived ? "row-archived" : undefined}>
      <td className="cell-main">
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
      <td data-label="Value">{feature.state ? <ValuePreview value={feature.state.value} /> : <span className="muted small">—</span>}</td>
      <td className="small" data-label="Overrides">
        {segments || identities ? (
          <span className="row">
            {segments ? <Badge title="Segment overrides in this environment">{plural(segments, "segment")}</Badge> : null}
            {identities ? <Badge title="Identity overrides in this environment">{plural(identities, "identity", "identities")}</Badge> : null}
          </span>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td className="cell-end" style={{ textAlign: "right" }}>
        {feature.state ? <Switch label={`Enable ${feature.name}`} checked={feature.state.enabled} disabled={toggleDisabled} onChange={onToggle} /> : <span className="muted small">—</span>}
      </td>
    </tr>
  );
}
