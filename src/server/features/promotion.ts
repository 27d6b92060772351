/**
 * Compare and promote: a project's features × environments matrix, and copying features from one
 * environment to another ("promote Development to Production").
 *
 * A copy makes the target's state of each chosen feature what the source's is: the default's
 * `enabled`, value and multivariate weights, and the segment overrides (added, changed, removed,
 * and put in the source's order of priority). Identity overrides are never copied (identities
 * belong to one environment), and neither are scheduled changes.
 *
 * `previewCopy` computes the differences on the server and carries both environments' revisions;
 * `applyCopy` is given them back and refuses (PRECONDITION_FAILED) when either environment changed
 * since, so what is applied is what was previewed. It applies every feature in ONE transaction,
 * with ONE audit row naming the features, and the target's document write (`commitChange`).
 */
import { createHash } from "node:crypto";
import { and, asc, eq, ilike, inArray, sql, type SQL } from "drizzle-orm";
import { commitChange } from "@/server/audit/change";
import { describeValue, optionLabel } from "@/server/audit/summary";
import type { Actor } from "@/server/auth/principal";
import { getDb, type Executor } from "@/server/db/client";
import { containsPattern } from "@/server/db/like";
import { environments, featureStates, features, multivariateOptions, multivariateStateValues, projects, segments, type StoredValue } from "@/server/db/schema";
import { badInput, DomainError, notFound } from "@/server/errors";
import { bindContext } from "@/server/observability/context";
import { getLogger } from "@/server/observability/logger";
import { plural } from "@/server/text";
import {
  diffFeature,
  effectiveWeights,
  hasChanges,
  sameValue,
  sameWeights,
  stateSignature,
  type ComparableOverride,
  type ComparableState,
  type FeatureDiff,
  type FeatureInEnvironment,
  type StateChanges,
  type Weight,
} from "./promotion-diff";
import { idArray } from "./states";

const log = getLogger("features");

/** Most features one copy takes (the UI selects from one page of the matrix). */
export const MAX_COPY_FEATURES = 200;
/** Features named in the audit summary (every one is in the row's `after`). */
const SUMMARY_FEATURES = 30;

export const STALE_PREVIEW = "The environments changed since this preview: review the differences again before copying";

// ---------------------------------------------------------------------------------------------------------------
// Reading states

interface LoadedState extends FeatureInEnvironment {
  defaultStateId: number;
  /** Segment id → the override's feature-state id. */
  overrideIds: Map<number, number>;
}

const stateKey = (environmentId: number, featureId: number) => `${environmentId}:${featureId}`;

/** Every default state and segment override of `featureIds` in `environmentIds`, with their allocations. */
async function loadStates(executor: Executor, environmentIds: number[], featureIds: number[]): Promise<Map<string, LoadedState>> {
  const out = new Map<string, LoadedState>();
  if (environmentIds.length === 0 || featureIds.length === 0) return out;
  const rows = await executor.execute<{
    id: number;
    feature_id: number;
    environment_id: number;
    segment_id: number | null;
    segment_name: string | null;
    enabled: boolean;
    value: StoredValue;
  }>(sql`
    select s.id, s.feature_id, s.environment_id, s.segment_id, g.name as segment_name, s.enabled, s.value
      from feature_states s
      left join segments g on g.id = s.segment_id
     where s.environment_id = any(${idArray(environmentIds)})
       and s.feature_id = any(${idArray(featureIds)})
       and s.identity_id is null
     order by s.segment_id is not null, s.priority asc nulls last, s.id`);
  const stateIds = rows.rows.map((row) => Number(row.id));
  const allocations = new Map<number, Weight[]>();
  if (stateIds.length > 0) {
    const values = await executor
      .select({ featureStateId: multivariateStateValues.featureStateId, optionId: multivariateStateValues.optionId, percentageAllocation: multivariateStateValues.percentageAllocation })
      .from(multivariateStateValues)
      .where(inArray(multivariateStateValues.featureStateId, stateIds))
      .orderBy(asc(multivariateStateValues.id));
    for (const value of values) {
      const list = allocations.get(value.featureStateId) ?? [];
      list.push({ optionId: value.optionId, percentageAllocation: value.percentageAllocation });
      allocations.set(value.featureStateId, list);
    }
  }
  for (const row of rows.rows) {
    const id = Number(row.id);
    const state: ComparableState = { enabled: row.enabled, value: row.value ?? null, allocations: allocations.get(id) ?? [] };
    const key = stateKey(row.environment_id, row.feature_id);
    if (row.segment_id === null) {
      // Defaults come first (ordering above), so the entry exists before its overrides.
      out.set(key, { defaults: state, overrides: [], defaultStateId: id, overrideIds: new Map() });
      continue;
    }
    const entry = out.get(key);
    if (!entry) continue; // an override without a default state: the feature is still being seeded here
    (entry.overrides as ComparableOverride[]).push({ ...state, segmentId: row.segment_id, segmentName: row.segment_name ?? "" });
    entry.overrideIds.set(row.segment_id, id);
  }
  return out;
}

/** Option id → how summaries and the UI name it, for the options of `featureIds`. */
async function optionNamesOf(executor: Executor, featureIds: number[]): Promise<Map<number, string>> {
  if (featureIds.length === 0) return new Map();
  const rows = await executor
    .select({ id: multivariateOptions.id, value: multivariateOptions.value, key: multivariateOptions.key })
    .from(multivariateOptions)
    .where(inArray(multivariateOptions.featureId, featureIds));
  return new Map(rows.map((row) => [row.id, optionLabel({ value: row.value ?? null, key: row.key })]));
}

// ---------------------------------------------------------------------------------------------------------------
// The matrix

export interface MatrixQuery {
  projectId: number;
  search?: string;
  tag?: string;
  /** Include archived features (default: not). */
  archived?: boolean;
}

export interface MatrixCell {
  environmentId: number;
  enabled: boolean;
  value: StoredValue;
  /** Variants that take a share, in bucket order. */
  weights: { option: string; percentage: number }[];
  segmentOverrides: string[];
  /** Equal for two cells exactly when copying one over the other would change nothing. */
  signature: string;
}

/** Every feature of the project (filtered) with its state in every environment. */
export async function compareEnvironments(query: MatrixQuery) {
  const db = getDb();
  const environmentRows = await db
    .select({ id: environments.id, name: environments.name, isProtected: environments.isProtected })
    .from(environments)
    .where(and(eq(environments.projectId, query.projectId), eq(environments.isCreating, false)))
    .orderBy(asc(environments.id));
  const conditions: SQL[] = [eq(features.projectId, query.projectId), eq(features.isCreating, false)];
  if (query.search) conditions.push(ilike(features.name, containsPattern(query.search)));
  if (query.tag) conditions.push(sql`${query.tag} = any(${features.tags})`);
  if (!query.archived) conditions.push(eq(features.isArchived, false));
  const featureRows = await db
    .select({ id: features.id, name: features.name, type: features.type, tags: features.tags, isArchived: features.isArchived, description: features.description })
    .from(features)
    .where(and(...conditions))
    .orderBy(asc(sql`lower(${features.name})`));
  const featureIds = featureRows.map((f) => f.id);
  const environmentIds = environmentRows.map((e) => e.id);
  const [states, names] = await Promise.all([loadStates(db, environmentIds, featureIds), optionNamesOf(db, featureIds)]);
  return {
    environments: environmentRows,
    features: featureRows.map((feature) => {
      const cells: MatrixCell[] = [];
      for (const environment of environmentRows) {
        const state = states.get(stateKey(environment.id, feature.id));
        if (!state) continue;
        cells.push({
          environmentId: environment.id,
          enabled: state.defaults.enabled,
          value: state.defaults.value,
          weights: effectiveWeights(state.defaults.allocations).map((w) => ({ option: names.get(w.optionId) ?? "?", percentage: w.percentageAllocation })),
          segmentOverrides: state.overrides.map((o) => o.segmentName),
          signature: createHash("sha256").update(stateSignature(state)).digest("base64url").slice(0, 22),
        });
      }
      return { ...feature, cells, differs: new Set(cells.map((c) => c.signature)).size > 1 };
    }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Preview and copy

export interface CopyRequest {
  projectId: number;
  sourceEnvironmentId: number;
  targetEnvironmentId: number;
  featureIds: number[];
}

export interface AppliedCopy extends CopyRequest {
  /** The revisions the preview was computed at. */
  sourceRevision: number;
  targetRevision: number;
}

interface CopyContext {
  organisationId: number;
  source: { id: number; name: string; revision: number };
  target: { id: number; name: string; revision: number; isProtected: boolean };
  features: { id: number; name: string; type: "STANDARD" | "MULTIVARIATE" }[];
}

/** The two environments (of the project, different, created) and the features (of the project), or a typed refusal. */
async function copyContext(executor: Executor, request: CopyRequest): Promise<CopyContext> {
  if (request.sourceEnvironmentId === request.targetEnvironmentId) throw badInput("Choose an environment other than the one copied from", "targetEnvironmentId");
  const [project] = await executor.select({ organisationId: projects.organisationId }).from(projects).where(eq(projects.id, request.projectId));
  if (!project) throw notFound("Project");
  const rows = await executor
    .select({ id: environments.id, name: environments.name, revision: environments.revision, isProtected: environments.isProtected, isCreating: environments.isCreating })
    .from(environments)
    .where(and(eq(environments.projectId, request.projectId), inArray(environments.id, [request.sourceEnvironmentId, request.targetEnvironmentId])));
  const source = rows.find((row) => row.id === request.sourceEnvironmentId);
  const target = rows.find((row) => row.id === request.targetEnvironmentId);
  if (!source || !target) throw notFound("Environment");
  if (source.isCreating || target.isCreating) throw new DomainError("PRECONDITION_FAILED", `Environment "${(source.isCreating ? source : target).name}" is still being created; try again in a moment`);
  const ids = [...new Set(request.featureIds)];
  const featureRows = await executor
    .select({ id: features.id, name: features.name, type: features.type })
    .from(features)
    .where(and(eq(features.projectId, request.projectId), eq(features.isCreating, false), inArray(features.id, ids)))
    .orderBy(asc(sql`lower(${features.name})`), asc(features.id));
  if (featureRows.length !== ids.length) throw notFound("Feature");
  return {
    organisationId: project.organisationId,
    source: { id: source.id, name: source.name, revision: source.revision },
    target: { id: target.id, name: target.name, revision: target.revision, isProtected: target.isProtected },
    features: featureRows,
  };
}

interface PlannedFeature {
  id: number;
  name: string;
  type: "STANDARD" | "MULTIVARIATE";
  diff: FeatureDiff;
  source: LoadedState;
  target: LoadedState;
}

async function plan(executor: Executor, context: CopyContext): Promise<PlannedFeature[]> {
  const featureIds = context.features.map((f) => f.id);
  const [states, names] = await Promise.all([loadStates(executor, [context.source.id, context.target.id], featureIds), optionNamesOf(executor, featureIds)]);
  return context.features.map((feature) => {
    const source = states.get(stateKey(context.source.id, feature.id));
    const target = states.get(stateKey(context.target.id, feature.id));
    if (!source || !target) throw notFound("Feature state");
    return { ...feature, source, target, diff: diffFeature(target, source, names) };
  });
}

function previewOf(context: CopyContext, planned: PlannedFeature[]) {
  return {
    source: context.source,
    target: context.target,
    features: planned.map((feature) => ({ id: feature.id, name: feature.name, type: feature.type, ...feature.diff })),
    changed: planned.filter((feature) => !feature.diff.identical).length,
  };
}

export type CopyPreview = ReturnType<typeof previewOf>;

/** The differences copying would make in the target, computed now (nothing written). */
export async function previewCopy(request: CopyRequest): Promise<CopyPreview> {
  const db = getDb();
  const context = await copyContext(db, request);
  return previewOf(context, await plan(db, context));
}

/** Sets a state's enabled, value and allocations to `to` (allocations: `to`'s rows in its order, then the feature's other options at 0 %). */
async function writeState(tx: Executor, stateId: number, featureId: number, current: ComparableState | null, to: ComparableState): Promise<void> {
  if (!current || current.enabled !== to.enabled || !sameValue(current.value, to.value)) {
    await tx.update(featureStates).set({ enabled: to.enabled, value: to.value, updatedAt: new Date() }).where(eq(featureStates.id, stateId));
  }
  if (current && sameWeights(current.allocations, to.allocations)) return;
  await tx.delete(multivariateStateValues).where(eq(multivariateStateValues.featureStateId, stateId));
  if (to.allocations.length > 0) {
    await tx.insert(multivariateStateValues).values(to.allocations.map((a) => ({ featureStateId: stateId, optionId: a.optionId, percentageAllocation: a.percentageAllocation })));
  }
  await tx.execute(sql`
    insert into multivariate_state_values (feature_state_id, option_id, percentage_allocation)
    select ${stateId}, o.id, 0
      from multivariate_options o
     where o.feature_id = ${featureId}
       and not exists (select 1 from multivariate_state_values v where v.feature_state_id = ${stateId} and v.option_id = o.id)
     order by o.id`);
}

/** Makes the target's state of one feature the source's (see `diffFeature`). */
async function copyFeature(tx: Executor, targetEnvironmentId: number, feature: PlannedFeature): Promise<void> {
  const { source, target, diff } = feature;
  if (hasChanges(diff.defaults)) await writeState(tx, target.defaultStateId, feature.id, target.defaults, source.defaults);
  const targetOverrides = new Map(target.overrides.map((o) => [o.segmentId, o]));
  const ids = new Map(target.overrideIds);
  let added = false;
  for (const change of diff.overrides) {
    if (change.kind === "removed") {
      await tx.delete(featureStates).where(eq(featureStates.id, ids.get(change.segmentId)!));
      ids.delete(change.segmentId);
    }
  }
  for (const override of source.overrides) {
    const current = targetOverrides.get(override.segmentId);
    if (current) {
      if (!sameValue(current.value, override.value) || current.enabled !== override.enabled || !sameWeights(current.allocations, override.allocations)) {
        await writeState(tx, ids.get(override.segmentId)!, feature.id, current, override);
      }
      continue;
    }
    // Key-share lock: a segment deleted meanwhile makes the insert fail instead of leaving an orphan.
    const [segment] = await tx.select({ id: segments.id }).from(segments).where(eq(segments.id, override.segmentId)).for("key share");
    if (!segment) throw notFound("Segment");
    const [row] = await tx
      .insert(featureStates)
      .values({ featureId: feature.id, environmentId: targetEnvironmentId, segmentId: override.segmentId, enabled: override.enabled, value: override.value })
      .returning({ id: featureStates.id });
    await writeState(tx, row.id, feature.id, { enabled: override.enabled, value: override.value, allocations: [] }, override);
    ids.set(override.segmentId, row.id);
    added = true;
  }
  // Priorities 0..n-1 in the source's order (as a reorder writes them) when the order is new.
  if (added || diff.reordered) {
    for (const [priority, override] of source.overrides.entries()) {
      await tx
        .update(featureStates)
        .set({ priority, updatedAt: new Date() })
        .where(and(eq(featureStates.id, ids.get(override.segmentId)!), sql`${featureStates.priority} is distinct from ${priority}`));
    }
  }
}

const onOff = (enabled: boolean) => (enabled ? "enabled" : "disabled");
const percent = (value: number) => `${Math.round(value * 100) / 100}%`;

function describeChanges(changes: StateChanges): string[] {
  const parts: string[] = [];
  if (changes.enabled) parts.push(onOff(changes.enabled.to));
  if (changes.value) parts.push(`value ${describeValue(changes.value.from)} → ${describeValue(changes.value.to)}`);
  if (changes.weights) parts.push(`weights ${changes.weights.map((w) => `${w.option} ${percent(w.from)} → ${percent(w.to)}`).join(", ")}`);
  if (changes.weightOrder) parts.push("order of variations");
  return parts;
}

/** `"checkout" (enabled, value "a" → "b", segment "beta" added)`. */
export function describeFeatureCopy(name: string, diff: FeatureDiff): string {
  const parts = describeChanges(diff.defaults);
  for (const override of diff.overrides) {
    if (override.kind === "added") parts.push(`segment "${override.segment}" added`);
    else if (override.kind === "removed") parts.push(`segment "${override.segment}" removed`);
    else parts.push(`segment "${override.segment}": ${describeChanges(override.changes).join(", ")}`);
  }
  if (diff.reordered) parts.push(`segment overrides reordered to ${diff.reordered.to.map((segment) => `"${segment}"`).join(" > ")}`);
  return `"${name}" (${parts.join(", ")})`;
}

/** A feature's state in an environment for the audit row (options by name, never by id). */
function auditState(state: FeatureInEnvironment, names: ReadonlyMap<number, string>) {
  const weights = (allocations: readonly Weight[]) => effectiveWeights(allocations).map((w) => ({ option: names.get(w.optionId) ?? "?", percentage: w.percentageAllocation }));
  return {
    enabled: state.defaults.enabled,
    value: state.defaults.value,
    weights: weights(state.defaults.allocations),
    segmentOverrides: state.overrides.map((o) => ({ segment: o.segmentName, enabled: o.enabled, value: o.value, weights: weights(o.allocations) })),
  };
}

export interface CopyResult {
  /** Features whose state in the target changed (0: it already matched; nothing was written). */
  changed: number;
  unchanged: number;
  summary: string | null;
}

/**
 * Applies a preview: every feature in one transaction, one audit row, the target's document write.
 * PRECONDITION_FAILED (`STALE_PREVIEW`) when either environment's revision moved since the preview.
 */
export async function applyCopy(actor: Actor, request: AppliedCopy): Promise<CopyResult> {
  const stale = () => new DomainError("PRECONDITION_FAILED", STALE_PREVIEW, { field: "revision" });
  const result = await getDb().transaction(async (tx) => {
    const context = await copyContext(tx, request);
    if (context.source.revision !== request.sourceRevision || context.target.revision !== request.targetRevision) throw stale();
    // The target's default states, locked in feature order (the lock every change of a feature's
    // state set takes first, segment-overrides.ts): nothing changes them under the copy.
    await tx
      .select({ id: featureStates.id })
      .from(featureStates)
      .where(
        and(
          eq(featureStates.environmentId, context.target.id),
          inArray(featureStates.featureId, context.features.map((f) => f.id)),
          sql`${featureStates.segmentId} is null and ${featureStates.identityId} is null`,
        ),
      )
      .orderBy(asc(featureStates.featureId))
      .for("update");
    const planned = await plan(tx, context);
    const changed = planned.filter((feature) => !feature.diff.identical);
    for (const feature of changed) await copyFeature(tx, context.target.id, feature);
    // Authoritative check, with the target locked until commit: a change committed to either
    // environment since the preview (even while this ran) bumped its revision.
    const [target] = await tx.select({ revision: environments.revision }).from(environments).where(eq(environments.id, context.target.id)).for("update");
    const [source] = await tx.select({ revision: environments.revision }).from(environments).where(eq(environments.id, context.source.id));
    if (!target || !source) throw notFound("Environment");
    if (source.revision !== request.sourceRevision || target.revision !== request.targetRevision) throw stale();
    if (changed.length === 0) return { changed: 0, unchanged: planned.length, summary: null, context };

    const names = await optionNamesOf(tx, changed.map((f) => f.id));
    const listed = changed.slice(0, SUMMARY_FEATURES).map((f) => describeFeatureCopy(f.name, f.diff));
    const more = changed.length - listed.length;
    const summary =
      `${plural(changed.length, "feature")} copied from "${context.source.name}" to "${context.target.name}": ${listed.join("; ")}` +
      (more > 0 ? `; and ${more} more` : "") +
      (planned.length > changed.length ? ` (${planned.length - changed.length} already the same)` : "");
    await commitChange(
      tx,
      actor,
      {
        organisationId: context.organisationId,
        projectId: request.projectId,
        environmentId: context.target.id,
        featureId: changed.length === 1 ? changed[0].id : null,
        action: "feature_state.copied",
        resourceType: "environment",
        resourceId: context.target.id,
        summary,
        before: { environment: context.target.name, features: Object.fromEntries(changed.map((f) => [f.name, auditState(f.target, names)])) },
        after: { copiedFrom: context.source.name, features: Object.fromEntries(changed.map((f) => [f.name, auditState(f.source, names)])) },
      },
      { environmentIds: [context.target.id] },
    );
    return { changed: changed.length, unchanged: planned.length - changed.length, summary, context, featureIds: changed.map((f) => f.id) };
  });
  if (result.changed > 0) {
    bindContext({ "environment.id": result.context.target.id });
    log.info("feature_state.copied", {
      environment__id: result.context.target.id,
      source_environment__id: result.context.source.id,
      features__count: result.changed,
      feature__ids: "featureIds" in result ? result.featureIds : [],
    });
  }
  return { changed: result.changed, unchanged: result.unchanged, summary: result.summary };
}
