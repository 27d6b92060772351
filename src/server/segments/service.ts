/**
 * Segments (project-wide, or specific to one feature) and their rules. Segment overrides (feature
 * states with `segment_id`) are feature states: features/segment-overrides.ts.
 *
 * A segment is part of every environment document of its project (its rules, and the overrides
 * hanging off it), so segment changes rewrite all of them. Rules are validated by ./validation.ts
 * (shared with the UI) and stored normalised (the document's shape).
 */
import { and, asc, eq, ilike, sql, type SQL } from "drizzle-orm";
import { getDb, type Executor } from "@/server/db/client";
import { containsPattern } from "@/server/db/like";
import { environments, featureStates, features, segments, type StoredRule } from "@/server/db/schema";
import { commitChange, organisationOfProject } from "@/server/audit/change";
import type { Actor } from "@/server/auth/principal";
import { badInput, conflict, isUniqueViolation, notFound } from "@/server/errors";
import { getLogger } from "@/server/observability/logger";
import { plural } from "@/server/text";
import { describeRules, firstError, normaliseRules, validateSegment, type RuleInput } from "./validation";

const log = getLogger("segments");

const NAME_TAKEN = "A segment with this name already exists in this project";
const NAME_CONSTRAINT = "segments_project_name_lower_uq";

export type SegmentRow = typeof segments.$inferSelect;

/** Throws BAD_REQUEST for the first validation problem (`field` = its path, e.g. `rules.0.conditions.1.value`). */
function checkSegmentInput(input: { name?: unknown; description?: unknown; rules?: unknown }, partial: boolean): void {
  const first = firstError(validateSegment(input, { partial }));
  if (first) throw badInput(first[1], first[0]);
}

export async function loadSegment(executor: Executor, segmentId: number, lock = false): Promise<SegmentRow> {
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
