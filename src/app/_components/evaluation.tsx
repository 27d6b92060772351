"use client";

/**
 * Evaluation views: every flag as an SDK receives it for one context, with why (environment
 * default, segment override, identity override, split bucket), and the segments the context is in
 * (computed on the server by Flagpost's engine: `sdk.evaluateIdentity`, `sdk.evaluateContext`).
 * `TestContextPanel` evaluates any identifier and traits without writing anything.
 */
import Link from "next/link";
import { useId, useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { formError } from "./errors";
import type { FlagValue, RouterOutputs } from "./types";
import { Badge, Button, FormAlert, Loading, Select, TextInput } from "./ui";
import { EMPTY_DRAFT, ValueEditor, ValuePreview, parseTraitValue, type ValueDraft } from "./values";
import { useTRPC } from "@/app/_trpc/client";

export type EvaluationView = RouterOutputs["sdk"]["evaluateContext"];
type EvaluatedFlag = EvaluationView["flags"][number];

/** At most this many traits in a tested context (the server's bound too). */
const MAX_TRAITS = 100;

/** While the stored document is behind the environment (a change being published), look again shortly. */
export const refetchWhilePublishing = (query: { state: { data?: { upToDate: boolean } } }) => (query.state.data && !query.state.data.upToDate ? 1000 : false);

function Reason({ flag, projectId, highlightSegmentId }: { flag: EvaluatedFlag; projectId: number; highlightSegmentId?: number }) {
  const source = flag.source;
  const split =
    flag.variant === null ? null : flag.splitWeight !== null ? `split: variation ${flag.variant === null ? "" : `“${flag.variant}” `}(${flag.splitWeight}% bucket)` : "split: control (outside every variation’s bucket)";
  return (
    <span className="stack-tight">
      {source.kind === "default" ? (
        <span>Environment default</span>
      ) : source.kind === "identity_override" ? (
        <span>Identity override</span>
      ) : (
        <span>
          Segment override:{" "}
          <Link href={`/p/${projectId}/segments/${source.segmentId}`} className={source.segmentId === highlightSegmentId ? "strong" : undefined}>
            {source.segmentName}
          </Link>
        </span>
      )}
      {split ? <span className="muted small">{split}</span> : null}
    </span>
  );
}

/** The flags of one evaluation, each with its reason. */
export function EvaluationTable({
  view,
  projectId,
  environmentId,
  highlightSegmentId,
  label = "Evaluated flags",
}: {
  view: EvaluationView;
  projectId: number;
  environmentId: number;
  highlightSegmentId?: number;
  label?: string;
}) {
  const flags = [...view.flags].sort((a, b) => a.featureName.localeCompare(b.featureName));
  return (
    <div className="stack">
      {!view.upToDate ? (
        <p className="notice" role="status">
          A change is being published: this shows what SDKs receive right now (document revision {view.revision}) and updates in a moment.
        </p>
      ) : null}
      <div className="evaluation-segments">
        <strong>Segments</strong>{" "}
        {view.segments.length === 0 ? (
          <span className="muted">in no segment</span>
        ) : (
          <span className="row" style={{ display: "inline-flex" }}>
            {view.segments.map((segment) => (
              <Link key={segment.id} href={`/p/${projectId}/segments/${segment.id}`} className="badge badge-primary">
                {segment.name}
              </Link>
            ))}
          </span>
        )}
      </div>
      {flags.length === 0 ? (
        <p className="muted" style={{ margin: 0 }}>
          This environment has no features yet.
        </p>
      ) : (
        <table className="table table-cards" aria-label={label}>
          <thead>
            <tr>
              <th scope="col">Feature</th>
              <th scope="col">Enabled</th>
              <th scope="col">Value</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {flags.map((flag) => (
              <tr key={flag.featureId} data-testid={`evaluated-${flag.featureName}`}>
                <td className="cell-main">
                  <span className="row">
                    <Link href={`/p/${projectId}/e/${environmentId}/features/${flag.featureId}`}>{flag.featureName}</Link>
                    {flag.serverKeyOnly ? <Badge title="Only served with server-side keys">server-side</Badge> : null}
                    {!flag.enabled && view.hideDisabledFlags ? <Badge title="Hide disabled flags is on: SDKs do not receive it">not sent</Badge> : null}
                  </span>
                </td>
                <td data-label="Enabled">{flag.enabled ? <Badge tone="success">on</Badge> : <Badge>off</Badge>}</td>
                <td data-label="Value">
                  <ValuePreview value={flag.value as FlagValue} />
                </td>
                <td data-label="Why">
                  <Reason flag={flag} projectId={projectId} highlightSegmentId={highlightSegmentId} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

interface TraitRow {
  id: number;
  key: string;
  value: ValueDraft;
}

type SubmittedContext = { environmentId: number; identifier?: string; traits: { key: string; value: FlagValue }[] };

/**
 * "Test a context": an identifier (optional) and traits, evaluated on the server as the SDK would
 * (transient: nothing is written). `environmentId` fixed (features page) or chosen here (segment
 * page, `projectId`'s environments); `segmentId` adds whether the context is in that segment.
 */
export function TestContextPanel({
  id,
  environmentId: fixedEnvironmentId,
  projectId,
  segment,
  onClose,
}: {
  id: string;
  environmentId?: number;
  projectId: number;
  segment?: { id: number; name: string };
  onClose?: () => void;
}) {
  const trpc = useTRPC();
  const formId = useId();
  const environments = useQuery({ ...trpc.environments.list.queryOptions({ projectId }), enabled: fixedEnvironmentId === undefined });
  const [chosenEnvironment, setChosenEnvironment] = useState("");
  const environmentId = fixedEnvironmentId ?? (Number(chosenEnvironment) || environments.data?.[0]?.id);
  const [identifier, setIdentifier] = useState("");
  const [rows, setRows] = useState<TraitRow[]>([{ id: 0, key: "", value: { ...EMPTY_DRAFT } }]);
  const [nextId, setNextId] = useState(1);
  const [submitted, setSubmitted] = useState<SubmittedContext | null>(null);
  const [touched, setTouched] = useState(false);

  const result = useQuery({
    ...trpc.sdk.evaluateContext.queryOptions(submitted ?? { environmentId: 0, traits: [] }, { refetchInterval: refetchWhilePublishing }),
    enabled: submitted !== null,
    retry: false,
  });

  const parsed = rows.map((row) => ({ row, value: parseTraitValue(row.value) }));
  const filled = parsed.filter(({ row }) => row.key.trim() !== "");
  const duplicate = new Set<string>();
  const seen = new Set<string>();
  for (const { row } of filled) {
    const key = row.key.trim();
    if (seen.has(key)) duplicate.add(key);
    seen.add(key);
  }
  const valueError = (row: TraitRow) => {
    const entry = parsed.find((p) => p.row === row)!;
    return row.key.trim() !== "" && !entry.value.ok ? entry.value.error : undefined;
  };
  const keyError = (row: TraitRow) => (duplicate.has(row.key.trim()) ? "This trait is given twice" : undefined);
  const invalid = filled.some(({ row, value }) => !value.ok || duplicate.has(row.key.trim()));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (invalid || !environmentId) return;
    setSubmitted({
      environmentId,
      identifier: identifier.trim() === "" ? undefined : identifier,
      traits: filled.map(({ row, value }) => ({ key: row.key.trim(), value: value.ok ? value.value : null })),
    });
  };
  const server = formError(result.error);
  const view = result.data;
  const inSegment = segment && view ? view.segments.some((s) => s.id === segment.id) : null;

  return (
    <section className="panel" id={id} aria-labelledby={`${formId}-heading`}>
      <div className="panel-header">
        <h2 id={`${formId}-heading`}>Test a context</h2>
        <span className="muted small">Evaluated by Flagpost&apos;s engine as an SDK would; nothing is saved.</span>
        {onClose ? (
          <Button variant="ghost" className="btn-sm" onClick={onClose}>
            Close
          </Button>
        ) : null}
      </div>
      <form className="panel-body stack" onSubmit={submit} noValidate aria-label="Context to test">
        <FormAlert message={server?.message} />
        <div className="grid-2">
          {fixedEnvironmentId === undefined ? (
            <Select label="Evaluate in environment" value={chosenEnvironment || String(environmentId ?? "")} onChange={(e) => setChosenEnvironment(e.target.value)}>
              {(environments.data ?? []).map((env) => (
                <option key={env.id} value={env.id}>
                  {env.name}
                </option>
              ))}
            </Select>
          ) : null}
          <TextInput
            label="Identifier"
            value={identifier}
            maxLength={2000}
            placeholder="user-123 (optional)"
            autoComplete="off"
            onChange={(e) => setIdentifier(e.target.value)}
            hint="An existing identity lends its stored traits and overrides; a new one is not created."
          />
        </div>
        <fieldset className="stack trait-rows">
          <legend>Traits</legend>
          {rows.map((row, index) => (
            <div key={row.id} className="trait-row">
              <TextInput
                label={`Trait ${index + 1} key`}
                value={row.key}
                placeholder="plan"
                autoComplete="off"
                maxLength={200}
                error={touched ? keyError(row) : undefined}
                onChange={(e) => setRows(rows.map((r) => (r.id === row.id ? { ...r, key: e.target.value } : r)))}
              />
              <ValueEditor
                label={`Trait ${index + 1} value`}
                draft={row.value}
                multiline={false}
                error={touched ? valueError(row) : undefined}
                onChange={(draft) => setRows(rows.map((r) => (r.id === row.id ? { ...r, value: draft } : r)))}
              />
              <Button type="button" variant="ghost" className="btn-sm" aria-label={`Remove trait ${index + 1}`} onClick={() => setRows(rows.filter((r) => r.id !== row.id))}>
                Remove
              </Button>
            </div>
          ))}
          <div>
            <Button
              type="button"
              className="btn-sm"
              disabled={rows.length >= MAX_TRAITS}
              onClick={() => {
                setRows([...rows, { id: nextId, key: "", value: { ...EMPTY_DRAFT } }]);
                setNextId(nextId + 1);
              }}
            >
              Add trait
            </Button>
          </div>
        </fieldset>
        <div>
          <Button type="submit" variant="primary" busy={result.isFetching && submitted !== null}>
            Evaluate
          </Button>
        </div>
      </form>
      {submitted !== null ? (
        <div className="panel-body" aria-live="polite">
          {result.isPending ? (
            <Loading label="Evaluating…" />
          ) : result.isError ? null : view && environmentId ? (
            <div className="stack" aria-label="Evaluation result">
              <p style={{ margin: 0 }}>
                <strong>{view.identityId ? `Identity “${view.identifier}”` : submitted.identifier ? `New identifier “${view.identifier}”` : "Anonymous context"}</strong>
                {view.identityId ? (
                  <>
                    {" "}
                    · <Link href={`/p/${projectId}/e/${view.environmentId}/identities/${view.identityId}`}>open identity</Link>
                  </>
                ) : null}
                {view.traits.length > 0 ? (
                  <span className="muted small">
                    {" "}
                    · traits {view.traits.map((t) => `${t.key} = ${JSON.stringify(t.value)}${t.source === "stored" ? " (stored)" : ""}`).join(", ")}
                  </span>
                ) : null}
              </p>
              {segment && inSegment !== null ? (
                <p className={`notice ${inSegment ? "notice-success" : ""}`} role="status">
                  {inSegment ? `In segment “${segment.name}”.` : `Not in segment “${segment.name}”.`}
                </p>
              ) : null}
              <EvaluationTable view={view} projectId={projectId} environmentId={view.environmentId} highlightSegmentId={segment?.id} label="Flags for this context" />
            </div>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
