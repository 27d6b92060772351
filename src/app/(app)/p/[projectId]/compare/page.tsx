"use client";

/**
 * Compare environments: every feature of the project (filtered by name and tag) with its state in each
 * environment — on/off, value, multivariate weights, segment overrides. Cells that differ from the
 * environment compared with are marked (a word and a bar, not colour alone). Selected features can be
 * copied from that environment to another: the dialog shows the server's preview of the differences,
 * then copies them in one audited change (asking first when the target is protected).
 *
 * The filters and the environment compared with are kept in the address (compare-filters.ts).
 * Narrow screens show each feature as a card, every environment labelled (table-cards).
 */
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { Suspense, useEffect, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { compareFiltersFromParams, queryWithCompareFilters } from "@/app/_components/compare-filters";
import { CopyToEnvironmentDialog } from "@/app/_components/copy-to-environment";
import type { RouterOutputs } from "@/app/_components/types";
import { Badge, Button, EmptyState, ErrorState, Loading, PageHeader, Switch, useDebouncedValue } from "@/app/_components/ui";
import { formatPercent, ValuePreview } from "@/app/_components/values";
import { SearchAndTagFields } from "@/app/_components/search-and-tag";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";
import { plural } from "@/server/text";
import "./compare.css";

type Matrix = RouterOutputs["promotion"]["matrix"];
type MatrixFeature = Matrix["features"][number];
type MatrixCell = MatrixFeature["cells"][number];

export default function ComparePage() {
  // The filters are read from the query string (useSearchParams).
  return (
    <Suspense fallback={<Loading />}>
      <CompareEnvironments />
    </Suspense>
  );
}

function CompareEnvironments() {
  const trpc = useTRPC();
  const { projectId: routeProjectId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const searchParams = useSearchParams();
  const [initial] = useState(() => compareFiltersFromParams(searchParams));
  const [search, setSearch] = useState(initial.search);
  const [tag, setTag] = useState(initial.tag);
  const [onlyDifferences, setOnlyDifferences] = useState(initial.onlyDifferences);
  const [archived, setArchived] = useState(initial.archived);
  const [referenceId, setReferenceId] = useState<number | null>(initial.referenceId);
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const [copying, setCopying] = useState(false);
  const debouncedSearch = useDebouncedValue(search.trim());
  // Written back to the address in place (replaced, not pushed), as the feature list does.
  useEffect(() => {
    const query = queryWithCompareFilters(window.location.search, { search: debouncedSearch, tag, archived, onlyDifferences, referenceId });
    if (query !== window.location.search) window.history.replaceState(null, "", `${window.location.pathname}${query}${window.location.hash}`);
  }, [debouncedSearch, tag, archived, onlyDifferences, referenceId]);

  const input = { projectId, search: debouncedSearch || undefined, tag: tag || undefined, archived: archived || undefined };
  const matrix = useQuery({ ...trpc.promotion.matrix.queryOptions(input), placeholderData: (previous) => previous });
  // Every feature of the project (archived too, unfiltered): its tags for the tag filter, and the empty states.
  const all = useQuery(trpc.features.list.queryOptions({ projectId }));
  const tags = [...new Set((all.data ?? []).flatMap((f) => f.tags))].sort();

  const environments = matrix.data?.environments ?? [];
  const reference = environments.find((e) => e.id === referenceId) ?? environments[0];
  const rows = (matrix.data?.features ?? []).filter((f) => !onlyDifferences || f.differs);
  const shownSelected = rows.filter((f) => selected.has(f.id));
  const toggle = (featureId: number, on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(featureId);
      else next.delete(featureId);
      return next;
    });

  return (
    <>
      <PageHeader
        title="Compare environments"
        subtitle="Every feature's state in each environment. Select features to copy them from one environment to another."
      />
      <div className="filters" role="search" aria-label="Filter features">
        <SearchAndTagFields idPrefix="compare" search={search} onSearch={setSearch} tag={tag} onTag={setTag} tags={tags} />
        <div className="field">
          <label htmlFor="compare-reference">Compare with</label>
          <select id="compare-reference" className="input" value={reference?.id ?? ""} onChange={(e) => setReferenceId(Number(e.target.value))}>
            {environments.map((environment) => (
              <option key={environment.id} value={environment.id}>
                {environment.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field filter-switch">
          <Switch label="Only differences" checked={onlyDifferences} onChange={setOnlyDifferences} showLabel />
        </div>
        <div className="field filter-switch">
          <Switch label="Show archived features" checked={archived} onChange={setArchived} showLabel />
        </div>
      </div>
      {matrix.isPending ? (
        <Loading />
      ) : matrix.isError ? (
        <ErrorState error={matrix.error} retry={() => matrix.refetch()} />
      ) : environments.length < 2 ? (
        <div className="panel">
          <EmptyState
            title="Two environments are needed"
            action={
              <Link className="btn btn-primary" href={`/p/${projectId}/environments`}>
                Go to Environments
              </Link>
            }
          >
            This page compares features across the environments of a project, and copies them from one to another.
          </EmptyState>
        </div>
      ) : (
        <>
          <div className="matrix-actions" role="group" aria-label="Selected features">
            <span aria-live="polite">{plural(shownSelected.length, "feature")} selected</span>
            <Button variant="ghost" onClick={() => setSelected(new Set([...selected, ...rows.map((f) => f.id)]))} disabled={rows.length === 0}>
              Select all shown
            </Button>
            <Button variant="ghost" onClick={() => setSelected(new Set())} disabled={selected.size === 0}>
              Clear selection
            </Button>
            <Button variant="primary" onClick={() => setCopying(true)} disabled={shownSelected.length === 0 || !reference}>
              Copy to environment…
            </Button>
          </div>
          {rows.length === 0 ? (
            <div className="panel">
              {onlyDifferences && (matrix.data?.features.length ?? 0) > 0 ? (
                <EmptyState title="No differences">Every feature shown is the same in every environment.</EmptyState>
              ) : debouncedSearch || tag ? (
                <EmptyState title="No matching features">Try another search or tag.</EmptyState>
              ) : !archived && (all.data?.length ?? 0) > 0 ? (
                <EmptyState title="Every feature is archived">Switch on “Show archived features” to compare them.</EmptyState>
              ) : (
                <EmptyState
                  title="No features yet"
                  action={
                    reference ? (
                      <Link className="btn btn-primary" href={`/p/${projectId}/e/${reference.id}/features`}>
                        Go to Features
                      </Link>
                    ) : undefined
                  }
                >
                  Features created on an environment&apos;s Features page appear here, in every environment.
                </EmptyState>
              )}
            </div>
          ) : (
            <div className="panel">
              <table className="table table-cards matrix" aria-label="Features by environment" aria-describedby="matrix-caption">
                <caption id="matrix-caption" className="sr-only">
                  {plural(rows.length, "feature")} in {plural(environments.length, "environment")}; cells that differ from {reference?.name} are marked “differs”.
                </caption>
                <thead>
                  <tr>
                    <th scope="col">
                      <span className="sr-only">Select</span>
                    </th>
                    <th scope="col">Feature</th>
                    {environments.map((environment) => (
                      <th scope="col" key={environment.id}>
                        {environment.name}
                        {environment.id === reference?.id ? <span className="sr-only"> (compared with)</span> : null}
                        {environment.isProtected ? (
                          <>
                            {" "}
                            <Badge tone="warning" title="Changes ask for confirmation">
                              protected
                            </Badge>
                          </>
                        ) : null}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((feature) => (
                    <MatrixRow
                      key={feature.id}
                      feature={feature}
                      environments={environments}
                      referenceId={reference?.id}
                      href={reference ? `/p/${projectId}/e/${reference.id}/features/${feature.id}` : undefined}
                      selected={selected.has(feature.id)}
                      onSelect={(on) => toggle(feature.id, on)}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
      {reference ? (
        <CopyToEnvironmentDialog
          open={copying}
          onClose={() => setCopying(false)}
          onCopied={() => setSelected(new Set())}
          projectId={projectId}
          source={reference}
          environments={environments}
          features={shownSelected.map((f) => ({ id: f.id, name: f.name }))}
        />
      ) : null}
    </>
  );
}

function MatrixRow({
  feature,
  environments,
  referenceId,
  href,
  selected,
  onSelect,
}: {
  feature: MatrixFeature;
  environments: Matrix["environments"];
  referenceId: number | undefined;
  href: string | undefined;
  selected: boolean;
  onSelect: (on: boolean) => void;
}) {
  const cells = new Map(feature.cells.map((cell) => [cell.environmentId, cell]));
  const referenceCell = referenceId !== undefined ? cells.get(referenceId) : undefined;
  const reference = environments.find((e) => e.id === referenceId);
  return (
    <tr data-testid={`matrix-row-${feature.name}`} className={feature.differs ? "matrix-row-differs" : undefined}>
      <td className="cell-end">
        <input type="checkbox" className="matrix-select" aria-label={`Select ${feature.name}`} checked={selected} onChange={(e) => onSelect(e.target.checked)} />
      </td>
      <td className="cell-main">
        <div className="row">
          {href ? (
            <Link href={href} className="feature-name">
              {feature.name}
            </Link>
          ) : (
            <span className="feature-name">{feature.name}</span>
          )}
          {feature.type === "MULTIVARIATE" ? <Badge tone="primary">multivariate</Badge> : null}
          {feature.isArchived ? <Badge tone="warning">archived</Badge> : null}
          {feature.tags.map((t) => (
            <Badge key={t}>#{t}</Badge>
          ))}
        </div>
      </td>
      {environments.map((environment) => {
        const cell = cells.get(environment.id);
        const differs = !!cell && !!referenceCell && environment.id !== referenceId && cell.signature !== referenceCell.signature;
        return (
          <td key={environment.id} data-label={environment.name} className={`matrix-cell ${differs ? "matrix-cell-differs" : ""}`} data-testid={`cell-${feature.name}-${environment.name}`}>
            {cell ? <CellState cell={cell} /> : <span className="muted small">—</span>}
            {differs ? (
              <span className="diff-mark matrix-mark" title={`Differs from ${reference?.name}`}>
                differs<span className="sr-only"> from {reference?.name}</span>
              </span>
            ) : null}
          </td>
        );
      })}
    </tr>
  );
}

function CellState({ cell }: { cell: MatrixCell }) {
  return (
    <span className="matrix-state">
      <Badge tone={cell.enabled ? "success" : undefined}>{cell.enabled ? "On" : "Off"}</Badge>
      <ValuePreview value={cell.value} max={24} />
      {cell.weights.length > 0 ? <span className="small">{cell.weights.map((w) => `${w.option} ${formatPercent(w.percentage)}`).join(" · ")}</span> : null}
      {cell.segmentOverrides.length > 0 ? (
        <span className="small" title={`Segment overrides, strongest first: ${cell.segmentOverrides.join(" > ")}`}>
          {plural(cell.segmentOverrides.length, "segment override")}
        </span>
      ) : null}
    </span>
  );
}
