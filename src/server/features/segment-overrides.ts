/**
 * Segment overrides: feature states with `segment_id`, ordered per feature and environment by
 * `priority` (lower wins). An override change rewrites its environment's document.
 */
import { and, asc, eq, inArray, isNotNull, sql } from "drizzle-orm";
import { auditScope, commitChange } from "@/server/audit/change";
import type { Actor } from "@/server/auth/principal";
import { getDb, type Executor } from "@/server/db/client";
import { environments, featureStates, features, multivariateOptions, multivariateStateValues, projects, segments, type StoredValue } from "@/server/db/schema";
import { badInput, conflict, isUniqueViolation, notFound } from "@/server/errors";
import { bindContext } from "@/server/observability/context";
import { getLogger } from "@/server/observability/logger";
import { loadSegment } from "@/server/segments/service";
import { applyStateChange, auditState, describeStateChange, lockState, optionNames, snapshotState, type Allocation, type FeatureStateRow } from "./states";
import { auditPriorities } from "@/server/audit/readable";
import { describeValue } from "@/server/audit/summary";

// Events keep the logger of the segments domain (docs/events.md).
const log = getLogger("segments");

const OVERRIDE_TAKEN = "This segment already overrides this feature in this environment";
const OVERRIDE_CONSTRAINT = "feature_states_segment_uq";

interface OverrideContext {
  featureId: number;
  featureName: string;
  featureType: "STANDARD" | "MULTIVARIATE";
  projectId: number;
  organisationId: number;
  environmentId: number;
  environmentName: string;
}

/** The feature and environment of an override (same project), or NOT_FOUND. */
async function overrideContext(tx: Executor, featureId: number, environmentId: number): Promise<OverrideContext> {
  const [row] = await tx
    .select({
      featureId: features.id,
      featureName: features.name,
      featureType: features.type,
      projectId: features.projectId,
      organisationId: projects.organisationId,
      environmentId: environments.id,
      environmentName: environments.name,
    })
    .from(features)
    .innerJoin(projects, eq(projects.id, features.projectId))
    .innerJoin(environments, and(eq(environments.projectId, features.projectId), eq(environments.id, environmentId)))
    .where(eq(features.id, featureId));
  if (!row) throw notFound("Feature");
  return row;
}

/**
 * Locks the feature's default state in the environment. Every change to the *set* of segment
 * overrides of a (feature, environment) — create, reorder, delete — takes this lock first, so
 * priorities are computed without races and the lock order (default, then override) is fixed.
 */
export async function lockDefaultState(tx: Executor, featureId: number, environmentId: number): Promise<FeatureStateRow> {
  const [state] = await tx
    .select()
    .from(featureStates)
    .where(
      and(
        eq(featureStates.featureId, featureId),
        eq(featureStates.environmentId, environmentId),
        sql`${featureStates.segmentId} is null and ${featureStates.identityId} is null`,
      ),
    )
    .for("update");
  if (!state) throw notFound("Feature state");
  return state;
}

/** A segment override by state id (NOT_FOUND for other kinds of state). */
async function loadOverride(tx: Executor, featureStateId: number, lock: boolean): Promise<FeatureStateRow & { segmentId: number }> {
  const state = lock ? await lockState(tx, featureStateId) : (await tx.select().from(featureStates).where(eq(featureStates.id, featureStateId)))[0];
  if (!state || state.segmentId === null) throw notFound("Segment override");
  return state as FeatureStateRow & { segmentId: number };
}

async function segmentName(tx: Executor, segmentId: number): Promise<string> {
  return (await loadSegment(tx, segmentId)).name;
}

export interface SegmentOverrideView {
  id: number;
  featureId: number;
  environmentId: number;
  segmentId: number;
  segmentName: string;
  /** Set when the segment is specific to this feature. */
  segmentFeatureId: number | null;
  priority: number | null;
  enabled: boolean;
  value: StoredValue;
  allocations: Allocation[];
  updatedAt: Date;
}

/** The segment overrides of a feature in an environment, strongest (lowest priority) first. */
export async function listSegmentOverrides(featureId: number, environmentId: number, executor: Executor = getDb()): Promise<SegmentOverrideView[]> {
  const rows = await executor
    .select({
      id: featureStates.id,
      featureId: featureStates.featureId,
      environmentId: featureStates.environmentId,
      segmentId: segments.id,
      segmentName: segments.name,
      segmentFeatureId: segments.featureId,
      priority: featureStates.priority,
      enabled: featureStates.enabled,
      value: featureStates.value,
      updatedAt: featureStates.updatedAt,
    })
    .from(featureStates)
    .innerJoin(segments, eq(segments.id, featureStates.segmentId))
    .where(and(eq(featureStates.featureId, featureId), eq(featureStates.environmentId, environmentId), isNotNull(featureStates.segmentId)))
    .orderBy(sql`${featureStates.priority} asc nulls last`, asc(featureStates.id));
  const ids = rows.map((r) => r.id);
  const allocations = ids.length
    ? await executor
        .select({ featureStateId: multivariateStateValues.featureStateId, optionId: multivariateStateValues.optionId, percentageAllocation: multivariateStateValues.percentageAllocation })
        .from(multivariateStateValues)
        .where(inArray(multivariateStateValues.featureStateId, ids))
        .orderBy(asc(multivariateStateValues.id))
    : [];
  return rows.map((r) => ({
    ...r,
    value: r.value ?? null,
    allocations: allocations.filter((a) => a.featureStateId === r.id).map(({ optionId, percentageAllocation }) => ({ optionId, percentageAllocation })),
  }));
}

export interface NewSegmentOverride {
  featureId: number;
  environmentId: number;
  segmentId: number;
  enabled: boolean;
  value: StoredValue;
  /**
   * Multivariate features only: the override's allocations (options not listed get 0). Omitted or
   * empty: a copy of the environment default's allocations.
   */
  allocations?: Allocation[];
}

/** Creates a segment override with the weakest priority (after every existing one). */
export async function createSegmentOverride(actor: Actor, input: NewSegmentOverride) {
  let created: { id: number; segmentName: string };
  try {
    created = await getDb().transaction(async (tx) => {
      const context = await overrideContext(tx, input.featureId, input.environmentId);
      // Key-share lock: a concurrent deleteSegment (FOR UPDATE) finishes first and this is NOT_FOUND, or waits for us.
      const [segment] = await tx.select().from(segments).where(eq(segments.id, input.segmentId)).for("key share");
      if (!segment || segment.projectId !== context.projectId) throw notFound("Segment");
      if (segment.featureId !== null && segment.featureId !== context.featureId) throw badInput("This segment is specific to another feature", "segmentId");
      const allocations = input.allocations ?? [];
      if (allocations.length > 0 && context.featureType !== "MULTIVARIATE") throw badInput("Only multivariate features have allocations", "allocations");

      const defaultState = await lockDefaultState(tx, context.featureId, context.environmentId);
      const [existing] = await tx
        .select({ id: featureStates.id })
        .from(featureStates)
        .where(and(eq(featureStates.featureId, context.featureId), eq(featureStates.environmentId, context.environmentId), eq(featureStates.segmentId, segment.id)));
      if (existing) throw conflict(OVERRIDE_TAKEN, "segmentId");

      // `position`: where the list (and the UI, counting from 1) shows it: after every prioritised override.
      const [{ next, position }] = await tx
        .select({ next: sql<number>`coalesce(max(${featureStates.priority}) + 1, 0)::int`, position: sql<number>`(count(${featureStates.priority}) + 1)::int` })
        .from(featureStates)
        .where(and(eq(featureStates.featureId, context.featureId), eq(featureStates.environmentId, context.environmentId), isNotNull(featureStates.segmentId)));
      const [state] = await tx
        .insert(featureStates)
        .values({ featureId: context.featureId, environmentId: context.environmentId, segmentId: segment.id, enabled: input.enabled, value: input.value, priority: next })
        .returning();

      if (context.featureType === "MULTIVARIATE") {
        if (allocations.length > 0) {
          // The override gets every option, in option order (bucket order), at the given allocation or 0.
          const optionIds = allocations.map((a) => a.optionId);
          if (new Set(optionIds).size !== optionIds.length) throw badInput("Each option can be allocated once", "allocations");
          const options = await tx.select({ id: multivariateOptions.id }).from(multivariateOptions).where(eq(multivariateOptions.featureId, context.featureId)).orderBy(asc(multivariateOptions.id));
          const known = new Set(options.map((o) => o.id));
          if (optionIds.some((optionId) => !known.has(optionId))) throw badInput("Unknown multivariate option for this feature", "allocations");
          const given = new Map(allocations.map((a) => [a.optionId, a.percentageAllocation]));
          await applyStateChange(tx, state, { allocations: options.map((o) => ({ optionId: o.id, percentageAllocation: given.get(o.id) ?? 0 })) });
        } else {
          await tx.execute(sql`
            insert into multivariate_state_values (feature_state_id, option_id, percentage_allocation)
            select ${state.id}, option_id, percentage_allocation
              from multivariate_state_values
             where feature_state_id = ${defaultState.id}
             order by id`);
        }
      }

      const snapshot = await snapshotState(tx, state.id);
      // The audit row counts priorities from 1 (its `position`), as the list and the summary do.
      const after = { segment: segment.name, priority: position, ...auditState(snapshot, await optionNames(tx, snapshot.allocations)) };
      await commitChange(
        tx,
        actor,
        {
          ...auditScope(context),
          segmentId: segment.id,
          action: "segment_override.created",
          resourceType: "segment_override",
          resourceId: state.id,
          summary: `Feature "${context.featureName}" in "${context.environmentName}": override for segment "${segment.name}" added (${snapshot.enabled ? "enabled" : "disabled"}, value ${describeValue(snapshot.value)}, priority ${position})`,
          after,
        },
        { environmentIds: [context.environmentId] },
      );
      return { id: state.id, segmentName: segment.name };
    });
  } catch (error) {
    if (isUniqueViolation(error, OVERRIDE_CONSTRAINT)) throw conflict(OVERRIDE_TAKEN, "segmentId");
    throw error;
  }
  bindContext({ "environment.id": input.environmentId });
  log.info("segment_override.created", { feature__id: input.featureId, segment__id: input.segmentId, feature_state__id: created.id });
  const [view] = (await listSegmentOverrides(input.featureId, input.environmentId)).filter((o) => o.id === created.id);
  return view;
}

export interface SegmentOverrideChange {
  enabled?: boolean;
  value?: StoredValue;
  allocations?: Allocation[];
}

export async function updateSegmentOverride(actor: Actor, featureStateId: number, change: SegmentOverrideChange) {
  const state = await getDb().transaction(async (tx) => {
    const override = await loadOverride(tx, featureStateId, true);
    const context = await overrideContext(tx, override.featureId, override.environmentId);
    if (change.allocations?.length && context.featureType !== "MULTIVARIATE") throw badInput("Only multivariate features have allocations", "allocations");
    const name = await segmentName(tx, override.segmentId);
    const { before, after } = await applyStateChange(tx, override, change);
    const names = await optionNames(tx, [...before.allocations, ...after.allocations]);
    await commitChange(
      tx,
      actor,
      {
        ...auditScope(context),
        segmentId: override.segmentId,
        action: "segment_override.updated",
        resourceType: "segment_override",
        resourceId: featureStateId,
        summary: `Feature "${context.featureName}" in "${context.environmentName}", segment "${name}": ${describeStateChange(before, after, names)}`,
        before: auditState(before, names),
        after: auditState(after, names),
      },
      { environmentIds: [context.environmentId] },
    );
    return override;
  });
  bindContext({ "environment.id": state.environmentId });
  log.info("segment_override.updated", { feature__id: state.featureId, segment__id: state.segmentId, feature_state__id: featureStateId });
  const [view] = (await listSegmentOverrides(state.featureId, state.environmentId)).filter((o) => o.id === featureStateId);
  return view;
}

/**
 * Sets the order of a feature's segment overrides in an environment: `segmentIds` must list every
 * overriding segment exactly once, strongest first; priorities become 0..n-1.
 */
export async function reorderSegmentOverrides(actor: Actor, featureId: number, environmentId: number, segmentIds: number[]) {
  await getDb().transaction(async (tx) => {
    const context = await overrideContext(tx, featureId, environmentId);
    await lockDefaultState(tx, featureId, environmentId);
    const current = await listSegmentOverrides(featureId, environmentId, tx);
    const existing = new Set(current.map((o) => o.segmentId));
    if (new Set(segmentIds).size !== segmentIds.length || segmentIds.length !== existing.size || segmentIds.some((segmentId) => !existing.has(segmentId))) {
      throw badInput("List every segment override of this feature in this environment exactly once", "segmentIds");
    }
    const bySegment = new Map(current.map((o) => [o.segmentId, o]));
    for (const [priority, segmentId] of segmentIds.entries()) {
      const override = bySegment.get(segmentId)!;
      if (override.priority !== priority) await tx.update(featureStates).set({ priority, updatedAt: new Date() }).where(eq(featureStates.id, override.id));
    }
    const describe = (ids: number[]) => ids.map((segmentId) => `"${bySegment.get(segmentId)!.segmentName}"`).join(" > ");
    const names = new Map(current.map((o) => [o.segmentId, o.segmentName]));
    await commitChange(
      tx,
      actor,
      {
        ...auditScope(context),
        action: "segment_override.reordered",
        resourceType: "segment_override",
        resourceId: null,
        summary: `Feature "${context.featureName}" in "${context.environmentName}": segment overrides reordered to ${describe(segmentIds) || "(none)"}`,
        // By segment name, strongest first (not by internal id).
        before: { priorities: auditPriorities(current.map((o) => o.segmentId), names) },
        after: { priorities: auditPriorities(segmentIds, names) },
      },
      { environmentIds: [environmentId] },
    );
  });
  bindContext({ "environment.id": environmentId });
  log.info("segment_override.reordered", { feature__id: featureId });
  return listSegmentOverrides(featureId, environmentId);
}

export async function deleteSegmentOverride(actor: Actor, featureStateId: number) {
  const deleted = await getDb().transaction(async (tx) => {
    const unlocked = await loadOverride(tx, featureStateId, false);
    const context = await overrideContext(tx, unlocked.featureId, unlocked.environmentId);
    await lockDefaultState(tx, unlocked.featureId, unlocked.environmentId);
    const override = await loadOverride(tx, featureStateId, true);
    const name = await segmentName(tx, override.segmentId);
    // Its place in the list as the UI shows it (from 1), not the stored priority (which may have gaps).
    const position = (await listSegmentOverrides(override.featureId, override.environmentId, tx)).findIndex((o) => o.id === override.id) + 1;
    const snapshot = await snapshotState(tx, override.id);
    const before = { segment: name, priority: position, ...auditState(snapshot, await optionNames(tx, snapshot.allocations)) };
    await tx.delete(featureStates).where(eq(featureStates.id, featureStateId));
    await commitChange(
      tx,
      actor,
      {
        ...auditScope(context),
        segmentId: override.segmentId,
        action: "segment_override.deleted",
        resourceType: "segment_override",
        resourceId: featureStateId,
        summary: `Feature "${context.featureName}" in "${context.environmentName}": override for segment "${name}" removed`,
        before,
      },
      { environmentIds: [context.environmentId] },
    );
    return override;
  });
  bindContext({ "environment.id": deleted.environmentId });
  log.info("segment_override.deleted", { feature__id: deleted.featureId, segment__id: deleted.segmentId, feature_state__id: featureStateId });
}
