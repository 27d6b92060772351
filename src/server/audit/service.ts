/**
 * The audit log: every mutation writes one row in its own transaction (`recordAudit(tx, …)`).
 */
import { and, desc, eq, getTableColumns, inArray, lt, or, sql, type SQL } from "drizzle-orm";
import { getDb, type Executor } from "@/server/db/client";
import { containsPattern, escapeLike } from "@/server/db/like";
import { auditLog, environments, multivariateOptions, projects, segments } from "@/server/db/schema";
import type { Actor } from "@/server/auth/principal";
import { optionLabel } from "./summary";
import { legacyAuditIds, readableAuditValue, type AuditNames } from "./readable";

export interface AuditEntry {
  organisationId: number;
  projectId?: number | null;
  environmentId?: number | null;
  featureId?: number | null;
  segmentId?: number | null;
  action: string;
  resourceType: string;
  resourceId?: string | number | null;
  summary: string;
  before?: unknown;
  after?: unknown;
}

export async function recordAudit(tx: Executor, actor: Actor, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values({
    organisationId: entry.organisationId,
    projectId: entry.projectId ?? null,
    environmentId: entry.environmentId ?? null,
    featureId: entry.featureId ?? null,
    segmentId: entry.segmentId ?? null,
    actorUserId: actor.userId ?? null,
    actorApiKeyId: actor.apiKeyId ?? null,
    actorLabel: actor.label,
    action: entry.action,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId === undefined || entry.resourceId === null ? null : String(entry.resourceId),
    summary: entry.summary,
    before: entry.before ?? null,
    after: entry.after ?? null,
  });
}

export interface AuditQuery {
  organisationId: number;
  /** Omitted: the whole organisation (every project, and organisation-level changes). */
  projectId?: number;
  environmentId?: number;
  featureId?: number;
  segmentId?: number;
  /** Matches action prefix, e.g. `feature` or `feature_state.updated`. */
  action?: string;
  search?: string;
  /** Keyset pagination: rows older than this id. */
  cursor?: number;
  limit: number;
}

export async function listAudit(query: AuditQuery, db: Executor = getDb()) {
  const conditions: SQL[] = [eq(auditLog.organisationId, query.organisationId)];
  if (query.projectId !== undefined) conditions.push(eq(auditLog.projectId, query.projectId));
  if (query.environmentId !== undefined) {
    // Project-wide changes (no environment) affect every environment of the project too.
    conditions.push(or(eq(auditLog.environmentId, query.environmentId), sql`${auditLog.environmentId} is null`)!);
  }
  if (query.featureId !== undefined) conditions.push(eq(auditLog.featureId, query.featureId));
  if (query.segmentId !== undefined) conditions.push(eq(auditLog.segmentId, query.segmentId));
  if (query.action) conditions.push(sql`${auditLog.action} like ${escapeLike(query.action) + "%"}`);
  if (query.search) {
    const pattern = containsPattern(query.search);
    conditions.push(or(sql`${auditLog.summary} ilike ${pattern}`, sql`${auditLog.actorLabel} ilike ${pattern}`)!);
  }
  if (query.cursor !== undefined) conditions.push(lt(auditLog.id, query.cursor));
  // Names as they are now (null once the project or environment is deleted; the summary keeps the old name).
  const rows = await db
    .select({ ...getTableColumns(auditLog), projectName: projects.name, environmentName: environments.name })
    .from(auditLog)
    .leftJoin(projects, eq(projects.id, auditLog.projectId))
    .leftJoin(environments, eq(environments.id, auditLog.environmentId))
    .where(and(...conditions))
    .orderBy(desc(auditLog.id))
    .limit(query.limit + 1);
  const hasMore = rows.length > query.limit;
  const page = hasMore ? rows.slice(0, query.limit) : rows;
  // Before/after as people read them: rows stored with internal ids get the names those ids have now.
  const names = await namesOf(db, legacyAuditIds(page.flatMap((row) => [row.before, row.after])));
  const items = page.map((row) => ({ ...row, before: readableAuditValue(row.action, row.before, names), after: readableAuditValue(row.action, row.after, names) }));
  return { items, nextCursor: hasMore ? items[items.length - 1].id : null };
}

/** Names of the options and segments old audit rows refer to by id (none asked: no query). */
async function namesOf(db: Executor, ids: { optionIds: number[]; segmentIds: number[] }): Promise<AuditNames> {
  const [options, segmentRows] = await Promise.all([
    ids.optionIds.length
      ? db.select({ id: multivariateOptions.id, value: multivariateOptions.value, key: multivariateOptions.key }).from(multivariateOptions).where(inArray(multivariateOptions.id, ids.optionIds))
      : [],
    ids.segmentIds.length ? db.select({ id: segments.id, name: segments.name }).from(segments).where(inArray(segments.id, ids.segmentIds)) : [],
  ]);
  return {
    options: new Map(options.map((option) => [option.id, optionLabel({ value: option.value ?? null, key: option.key })])),
    segments: new Map(segmentRows.map((segment) => [segment.id, segment.name])),
  };
}
