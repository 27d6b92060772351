/**
 * Segments (project-wide, or specific to one feature) and segment overrides (feature states with
 * `segment_id`, ordered per feature and environment by `priority`: lower wins).
 *
 * A segment is part of every environment document of its project (its rules, and the overrides
 * hanging off it), so segment changes rewrite all of them; an override change rewrites its
 * environment's document. Rules are validated by ./validation.ts (shared with the UI) and stored
 * normalised (the document's shape).
 */
import { and, asc, eq, ilike, inArray, isNotNull, sql, type SQL } from "drizzle-orm";
import { getDb, type Executor } from "../db/client";
import { containsPattern } from "../db/like";
import {
  environments,
  featureStates,
  features,
  multivariateOptions,
  multivariateStateValues,
  projects,
  segments,
  type StoredRule,
  type StoredValue,
} from "../db/schema";
import { commitChange, organisationOfProject } from "../audit/change";
import type { Actor } from "../auth/principal";
import { badInput, conflict, isUniqueViolation, notFound } from "../errors";
import { applyStateChange, describeStateChange, lockState, optionNames, snapshotState, type Allocation, type FeatureStateRow } from "../features/states";
import { describeValue } from "../features/values";
import { bindContext } from "../observability/context";
import { getLogger } from "../observability/logger";
import { plural } from "../text";
import { describeRules, firstError, normaliseRules, validateSegment, type RuleInput } from "./validation";

const log = getLogger("segments");

const NAME_TAKEN = "A segment with this name already exists in this project";
const NAME_CONSTRAINT = "segments_project_name_lower_uq";
const OVERRIDE_TAKEN = "This segment already overrides this feature in this environment";
const OVERRIDE_CONSTRAINT = "feature_states_segment_uq";

export type SegmentRow = typeof segments.$inferSelect;

/** Throws BAD_REQUEST for the first validation problem (`field` = its path, e.g. `rules.0.conditions.1.value`). */
function checkSegmentInput(input: { name?: unknown; description?: unknown; rules?: unknown }, partial: boolean): void {
  const first = firstError(validateSegment(input, { partial }));
  if (first) throw badInput(first[1], first[0]);
}

async function loadSegment(executor: Executor, segmentId: number, lock = false): Promise<SegmentRow> {
  const query = executor.select().from(segments).where(eq(segments.id, segmentId));
  const [segment] = lock ? await query.for("update") : await query;
  if (!segment) throw notFound("Segment");
  return segment;
}

function auditView(segment: Pick<SegmentRow, "name" | "description" | "featureId" | "rules">) {
  return { name: segment.name, description: segment.description, featureId: segment.featureId, rules: describeRules(segment.rules) };
}

// ---------------------------------------------------------------------------------------------
// Segments
// ---------------------------------------------------------------------------------------------

export async function listSegments(projectId: number, search?: string) {
  const conditions: SQL[] = [eq(segments.projectId, projectId)];
  if (search) conditions.push(ilike(segments.name, containsPattern(search)));
  return getDb()
    .select({
      id: segments.id,
      projectId: segments.projectId,
      featureId: segments.featureId,
      featureName: features.name,
      name: segments.name,
      description: segments.description,
      rules: segments.rules,
      documentId: segments.documentId,
      createdAt: segments.createdAt,
      updatedAt: segments.updatedAt,
    })
    .from(segments)
    .leftJoin(features, eq(features.id, segments.featureId))
    .where(and(...conditions))
    .orderBy(asc(sql`lower(${segments.name})`), asc(segments.id));
}

/** A segment with the overrides that use it, in every environment of its project. */
export async function getSegment(segmentId: number) {
  const db = getDb();
  const segment = await loadSegment(db, segmentId);
  const [feature] = segment.featureId ? await db.select({ name: features.name }).from(features).where(eq(features.id, segment.featureId)) : [];
  const overrides = await db
    .select({
      featureStateId: featureStates.id,
      featureId: featureStates.featureId,
      featureName: features.name,
      environmentId: featureStates.environmentId,
      environmentName: environments.name,
      enabled: featureStates.enabled,
      value: featureStates.value,
      priority: featureStates.priority,
      /** Its place among the feature's segment overrides in that environment, from 1 (as the UI counts priorities). */
      position: sql<number>`(
        select count(*)::int + 1 from feature_states o
         where o.feature_id = ${featureStates.featureId} and o.environment_id = ${featureStates.environmentId} and o.segment_id is not null
           and case when ${featureStates.priority} is null then o.priority is not null or o.id < ${featureStates.id}
                    else o.priority < ${featureStates.priority} or (o.priority = ${featureStates.priority} and o.id < ${featureStates.id}) end)`,
    })
    .from(featureStates)
    .innerJoin(features, eq(features.id, featureStates.featureId))
    .innerJoin(environments, eq(environments.id, featureStates.environmentId))
    .where(eq(featureStates.segmentId, segmentId))
    .orderBy(asc(sql`lower(${features.name})`), asc(environments.id));
  return { ...segment, featureName: feature?.name ?? null, overrides };
}

export interface NewSegment {
  name: string;
  description?: string | null;
  /** Makes the segment specific to this feature (of the same project). */
  featureId?: number | null;
  rules: RuleInput[];
}

/**
 * Inserts a segment. Its id must not collide with the document id an imported segment keeps
 * (`coalesce(document_id, id)` is unique per project): on such a collision the insert is retried
 * (inside a savepoint) with the next id.
 */
async function insertSegment(tx: Executor, values: typeof segments.$inferInsert): Promise<SegmentRow> {
  // A new segment's id is also its document id, which must not equal a document id kept by an
  // imported segment of the project: skip ids that are taken.
  for (;;) {
    const next = await tx.execute<{ id: number }>(sql`select nextval(pg_get_serial_sequence('segments', 'id'))::int as id`);
    const id = next.rows[0].id;
    const taken = await tx.execute(sql`select 1 from segments where project_id = ${values.projectId} and coalesce(document_id, id) = ${id} limit 1`);
    if (taken.rows.length === 0) {
      const [row] = await tx.insert(segments).values({ ...values, id }).returning();
      return row;
    }
  }
}

export async function createSegment(actor: Actor, projectId: number, input: NewSegment) {
  checkSegmentInput(input, false);
  const rules: StoredRule[] = normaliseRules(input.rules);
  let created: SegmentRow;
  try {
    created = await getDb().transaction(async (tx) => {
      const organisationId = await organisationOfProject(tx, projectId);
      const featureId = input.featureId ?? null;
      if (featureId !== null) {
        const [feature] = await tx.select({ projectId: features.projectId }).from(features).where(eq(features.id, featureId));
        if (!feature || feature.projectId !== projectId) throw notFound("Feature");
      }
      const row = await insertSegment(tx, { projectId, featureId, name: input.name.trim(), description: input.description ?? null, rules });
      await commitChange(
        tx,
        actor,
        {
          organisationId,
          projectId,
          featureId,
          segmentId: row.id,
          action: "segment.created",
          resourceType: "segment",
          resourceId: row.id,
          summary: `Segment "${row.name}" created: ${describeRules(row.rules)}`,
          after: auditView(row),
        },
        { projectId },
      );
      return row;
    });
  } catch (error) {
    if (isUniqueViolation(error, NAME_CONSTRAINT)) throw conflict(NAME_TAKEN, "name");
    throw error;
  }
  log.info("segment.created", { segment__id: created.id });
  return created;
}

export interface SegmentChanges {
  name?: string;
  description?: string | null;
  rules?: RuleInput[];
}

export async function updateSegment(actor: Actor, segmentId: number, changes: SegmentChanges) {
  checkSegmentInput(changes, true);
  let updated: SegmentRow;
  try {
    updated = await getDb().transaction(async (tx) => {
      const before = await loadSegment(tx, segmentId, true);
      const set: Partial<typeof segments.$inferInsert> = { updatedAt: new Date() };
      if (changes.name !== undefined) set.name = changes.name.trim();
      if (changes.description !== undefined) set.description = changes.description;
      if (changes.rules !== undefined) set.rules = normaliseRules(changes.rules);
      const [after] = await tx.update(segments).set(set).where(eq(segments.id, segmentId)).returning();
      const beforeView = auditView(before);
      const afterView = auditView(after);
      const changed = (Object.keys(afterView) as (keyof typeof afterView)[]).filter((k) => JSON.stringify(beforeView[k]) !== JSON.stringify(afterView[k]));
      const rulesChanged = JSON.stringify(before.rules) !== JSON.stringify(after.rules);
      const summary =
        before.name !== after.name
          ? `Segment "${before.name}" renamed to "${after.name}"${rulesChanged ? `; rules: ${afterView.rules}` : ""}`
          : rulesChanged
            ? `Segment "${after.name}" rules changed: ${afterView.rules}`
            : `Segment "${after.name}" updated (${changed.join(", ") || "no change"})`;
      // Name and rules are served (documents); the description is admin metadata only.
      const served = before.name !== after.name || rulesChanged;
      await commitChange(
        tx,
        actor,
        {
          organisationId: await organisationOfProject(tx, before.projectId),
          projectId: before.projectId,
          featureId: before.featureId,
          segmentId,
          action: "segment.updated",
          resourceType: "segment",
          resourceId: segmentId,
          summary,
          before: beforeView,
          after: afterView,
        },
        served ? { projectId: before.projectId } : null,
      );
      return after;
    });
  } catch (error) {
    if (isUniqueViolation(error, NAME_CONSTRAINT)) throw conflict(NAME_TAKEN, "name");
    throw error;
  }
  log.info("segment.updated", { segment__id: segmentId });
  return updated;
}

/** Deletes a segment and (cascading) its overrides and scheduled changes in every environment. */
export async function deleteSegment(actor: Actor, segmentId: number) {
  await getDb().transaction(async (tx) => {
    // Scheduled changes first, then the segment: the order applying a scheduled change takes them
    // in, so the two never deadlock.
    await tx.execute(sql`select id from scheduled_changes where segment_id = ${segmentId} order by id for update`);
    const segment = await loadSegment(tx, segmentId, true);
    const [{ overrides }] = await tx
      .select({ overrides: sql<number>`count(*)::int` })
      .from(featureStates)
      .where(eq(featureStates.segmentId, segmentId));
    await tx.delete(segments).where(eq(segments.id, segmentId));
    await commitChange(
      tx,
      actor,
      {
        organisationId: await organisationOfProject(tx, segment.projectId),
        projectId: segment.projectId,
        featureId: segment.featureId,
        segmentId,
        action: "segment.deleted",
        resourceType: "segment",
        resourceId: segmentId,
        summary: `Segment "${segment.name}" deleted${overrides ? ` with its ${plural(overrides, "override")}` : ""}`,
        before: auditView(segment),
      },
      { projectId: segment.projectId },
    );
  });
  log.info("segment.deleted", { segment__id: segmentId });
}

// ---------------------------------------------------------------------------------------------
// Segment overrides
// ---------------------------------------------------------------------------------------------

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

      const after = { ...(await snapshotState(tx, state.id)), priority: next, segmentName: segment.name };
      await commitChange(
        tx,
        actor,
        {
          organisationId: context.organisationId,
          projectId: context.projectId,
          environmentId: context.environmentId,
          featureId: context.featureId,
          segmentId: segment.id,
          action: "segment_override.created",
          resourceType: "segment_override",
          resourceId: state.id,
          summary: `Feature "${context.featureName}" in "${context.environmentName}": override for segment "${segment.name}" added (${after.enabled ? "enabled" : "disabled"}, value ${describeValue(after.value)}, priority ${position})`,
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
    await commitChange(
      tx,
      actor,
      {
        organisationId: context.organisationId,
        projectId: context.projectId,
        environmentId: context.environmentId,
        featureId: context.featureId,
        segmentId: override.segmentId,
        action: "segment_override.updated",
        resourceType: "segment_override",
        resourceId: featureStateId,
        summary: `Feature "${context.featureName}" in "${context.environmentName}", segment "${name}": ${describeStateChange(before, after, await optionNames(tx, [...before.allocations, ...after.allocations]))}`,
        before,
        after,
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
    const before = current.map((o) => o.segmentId);
    await commitChange(
      tx,
      actor,
      {
        organisationId: context.organisationId,
        projectId: context.projectId,
        environmentId,
        featureId,
        action: "segment_override.reordered",
        resourceType: "segment_override",
        resourceId: null,
        summary: `Feature "${context.featureName}" in "${context.environmentName}": segment overrides reordered to ${describe(segmentIds) || "(none)"}`,
        before: { segmentIds: before },
        after: { segmentIds },
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
    const before = { ...(await snapshotState(tx, override.id)), priority: override.priority };
    const name = await segmentName(tx, override.segmentId);
    await tx.delete(featureStates).where(eq(featureStates.id, featureStateId));
    await commitChange(
      tx,
      actor,
      {
        organisationId: context.organisationId,
        projectId: context.projectId,
        environmentId: context.environmentId,
        featureId: context.featureId,
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
