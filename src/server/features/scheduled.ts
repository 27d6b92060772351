/**
 * Scheduled changes: a feature-state change (toggle, value, allocations — of the environment default
 * or of a segment override) that goes live at `live_from`. Until then the current state stays live.
 *
 * Scheduling writes the row, its audit row and a graphile-worker job with `run_at = live_from`
 * (job key `scheduled_change:<id>`) in one transaction. At `live_from` the job (`applyScheduledChange`)
 * applies the change, marks it LIVE, audits "went live" and rewrites the environment's document — so
 * `Last-Modified`/ETags move when it goes live. Cancelling marks it CANCELLED and removes the job; a
 * job that still runs finds a non-PENDING row and does nothing.
 */
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import { getDb, type Executor } from "@/server/db/client";
import { featureStates, features, multivariateOptions, projects, scheduledChanges, segments } from "@/server/db/schema";
import { commitChange } from "@/server/audit/change";
import { auditAllocations } from "@/server/audit/readable";
import type { Actor } from "@/server/auth/principal";
import { SYSTEM_ACTOR } from "@/server/auth/principal";
import { enqueueJob, removeJob } from "@/server/jobs/enqueue";
import { badInput, DomainError, notFound } from "@/server/errors";
import { getLogger } from "@/server/observability/logger";
import { lockDefaultState } from "./segment-overrides";
import { applyStateChange, auditState, describeStateChange, lockState, nameOption, optionNames, snapshotState, type Allocation } from "./states";
import { checkAllocations } from "./values";
import { describeValue } from "@/server/audit/summary";

const log = getLogger("features");

/** How far ahead a change can be scheduled (a date PostgreSQL, graphile-worker and ISO 8601 all take). */
export const MAX_SCHEDULE_AHEAD_YEARS = 10;
const MAX_SCHEDULE_AHEAD_MS = MAX_SCHEDULE_AHEAD_YEARS * 366 * 86_400_000;

export const scheduledChangeJobKey = (id: number) => `scheduled_change:${id}`;

/** What a scheduled change applies (stored as `scheduled_changes.change`). */
export interface ScheduledChangePayload {
  enabled?: boolean;
  value?: string | number | boolean | null;
  allocations?: Allocation[];
}

/** `enable, value → "b", allocations "green" 40%` (options named by `optionNames`). */
async function describePayload(tx: Executor, change: ScheduledChangePayload): Promise<string> {
  const parts: string[] = [];
  if (change.enabled !== undefined) parts.push(change.enabled ? "enable" : "disable");
  if (change.value !== undefined) parts.push(`value → ${describeValue(change.value)}`);
  if (change.allocations?.length) {
    const names = await optionNames(tx, change.allocations);
    parts.push(`allocations ${change.allocations.map((a) => `${nameOption(names, a.optionId)} ${a.percentageAllocation}%`).join(", ")}`);
  }
  return parts.join(", ") || "no change";
}

/** The payload as its audit row stores it: options by name (never by id). */
async function auditPayload(tx: Executor, change: ScheduledChangePayload) {
  const { allocations, ...rest } = change;
  return allocations?.length ? { ...rest, allocations: auditAllocations(allocations, await optionNames(tx, allocations)) } : rest;
}

/** A state as it is now, as its audit row stores it. */
async function auditedState(tx: Executor, stateId: number) {
  const snapshot = await snapshotState(tx, stateId);
  return auditState(snapshot, await optionNames(tx, snapshot.allocations));
}

async function context(tx: Executor, featureId: number) {
  const [row] = await tx
    .select({ feature: features, organisationId: projects.organisationId })
    .from(features)
    .innerJoin(projects, eq(projects.id, features.projectId))
    .where(eq(features.id, featureId));
  if (!row) throw notFound("Feature");
  return row;
}

async function targetStateId(tx: Executor, featureId: number, environmentId: number, segmentId: number | null): Promise<number | null> {
  const [state] = await tx
    .select({ id: featureStates.id })
    .from(featureStates)
    .where(
      and(
        eq(featureStates.featureId, featureId),
        eq(featureStates.environmentId, environmentId),
        segmentId === null ? sql`${featureStates.segmentId} is null` : eq(featureStates.segmentId, segmentId),
        sql`${featureStates.identityId} is null`,
      ),
    );
  return state?.id ?? null;
}

export async function scheduleChange(
  actor: Actor,
  input: { environmentId: number; featureId: number; segmentId?: number | null; change: ScheduledChangePayload; liveFrom: Date },
) {
  if (!(input.liveFrom.getTime() > Date.now())) throw badInput("Choose a time in the future", "liveFrom");
  if (input.liveFrom.getTime() > Date.now() + MAX_SCHEDULE_AHEAD_MS) throw badInput(`Choose a time within the next ${MAX_SCHEDULE_AHEAD_YEARS} years`, "liveFrom");
  if (input.change.enabled === undefined && input.change.value === undefined && !input.change.allocations?.length) {
    throw badInput("A scheduled change must change something", "change");
  }
  const allocations = input.change.allocations ?? [];
  const problem = checkAllocations(allocations.map((a) => a.percentageAllocation));
  if (problem) throw badInput(problem, "allocations");
  const optionIds = allocations.map((a) => a.optionId);
  if (new Set(optionIds).size !== optionIds.length) throw badInput("Each option can be allocated once", "allocations");
  const created = await getDb().transaction(async (tx) => {
    const { feature, organisationId } = await context(tx, input.featureId);
    if (optionIds.length > 0) {
      // Option ids are nested in the input (not checked by the scope middleware): they must be this feature's.
      const options = await tx
        .select({ id: multivariateOptions.id })
        .from(multivariateOptions)
        .where(and(eq(multivariateOptions.featureId, feature.id), inArray(multivariateOptions.id, optionIds)));
      if (options.length !== optionIds.length) throw badInput("Unknown multivariate option for this feature", "allocations");
    }
    const segmentId = input.segmentId ?? null;
    if (segmentId !== null) {
      const [segment] = await tx.select({ projectId: segments.projectId, featureId: segments.featureId }).from(segments).where(eq(segments.id, segmentId));
      if (!segment || segment.projectId !== feature.projectId || (segment.featureId !== null && segment.featureId !== feature.id)) throw notFound("Segment");
    }
    const stateId = await targetStateId(tx, feature.id, input.environmentId, segmentId);
    if (segmentId === null && stateId === null) throw notFound("Feature state");
    const [row] = await tx
      .insert(scheduledChanges)
      .values({
        environmentId: input.environmentId,
        featureId: feature.id,
        segmentId,
        change: input.change,
        liveFrom: input.liveFrom,
        createdByUserId: actor.userId ?? null,
        createdByApiKeyId: actor.apiKeyId ?? null,
        actorLabel: actor.label,
      })
      .returning();
    await commitChange(
      tx,
      actor,
      {
        organisationId,
        projectId: feature.projectId,
        environmentId: input.environmentId,
        featureId: feature.id,
        segmentId,
        action: "scheduled_change.created",
        resourceType: "scheduled_change",
        resourceId: row.id,
        summary: `Feature "${feature.name}"${segmentId ? " (segment override)" : ""}: ${await describePayload(tx, input.change)} scheduled for ${input.liveFrom.toISOString()}`,
        after: { change: await auditPayload(tx, input.change), liveFrom: input.liveFrom.toISOString() },
      },
      null,
    );
    await enqueueJob(tx, "scheduled_change_apply", { scheduledChangeId: row.id }, { runAt: input.liveFrom, jobKey: scheduledChangeJobKey(row.id), maxAttempts: 10 });
    return row;
  });
  log.info("scheduled_change.created", { scheduled_change__id: created.id, feature__id: created.featureId });
  return created;
}

export async function cancelScheduledChange(actor: Actor, scheduledChangeId: number) {
  await getDb().transaction(async (tx) => {
    const [row] = await tx.select().from(scheduledChanges).where(eq(scheduledChanges.id, scheduledChangeId)).for("update");
    if (!row) throw notFound("Scheduled change");
    if (row.status !== "PENDING") throw badInput(`This change is already ${row.status.toLowerCase()}`, "status");
    await tx.update(scheduledChanges).set({ status: "CANCELLED", cancelledAt: new Date() }).where(eq(scheduledChanges.id, scheduledChangeId));
    await removeJob(tx, scheduledChangeJobKey(scheduledChangeId));
    const { feature, organisationId } = await context(tx, row.featureId);
    await commitChange(
      tx,
      actor,
      {
        organisationId,
        projectId: feature.projectId,
        environmentId: row.environmentId,
        featureId: row.featureId,
        segmentId: row.segmentId,
        action: "scheduled_change.cancelled",
        resourceType: "scheduled_change",
        resourceId: scheduledChangeId,
        summary: `Feature "${feature.name}": scheduled change (${await describePayload(tx, row.change as ScheduledChangePayload)}) cancelled`,
      },
      null,
    );
  });
  log.info("scheduled_change.cancelled", { scheduled_change__id: scheduledChangeId });
}

export async function listScheduledChanges(environmentId: number, status?: "PENDING" | "LIVE" | "CANCELLED" | "FAILED") {
  return getDb()
    .select({
      id: scheduledChanges.id,
      featureId: scheduledChanges.featureId,
      featureName: features.name,
      segmentId: scheduledChanges.segmentId,
      segmentName: segments.name,
      change: scheduledChanges.change,
      liveFrom: scheduledChanges.liveFrom,
      status: scheduledChanges.status,
      actorLabel: scheduledChanges.actorLabel,
      createdAt: scheduledChanges.createdAt,
      appliedAt: scheduledChanges.appliedAt,
      cancelledAt: scheduledChanges.cancelledAt,
      error: scheduledChanges.error,
    })
    .from(scheduledChanges)
    .innerJoin(features, eq(features.id, scheduledChanges.featureId))
    .leftJoin(segments, eq(segments.id, scheduledChanges.segmentId))
    .where(and(eq(scheduledChanges.environmentId, environmentId), status ? eq(scheduledChanges.status, status) : undefined))
    .orderBy(status === "PENDING" ? asc(scheduledChanges.liveFrom) : desc(scheduledChanges.liveFrom));
}

/**
 * Runs at `live_from` (worker). Applies the change to the current state — creating the segment
 * override (last priority) if it no longer exists — marks it LIVE, audits and publishes. A change
 * that cannot apply (e.g. allocations now over 100) is marked FAILED with the reason, audited, and
 * not retried.
 */
export async function applyScheduledChange(scheduledChangeId: number): Promise<"applied" | "skipped" | "failed"> {
  return getDb().transaction(async (tx) => {
    // "Too early" by the database clock, the one graphile-worker compares `run_at` with: a worker whose
    // clock lags would otherwise skip (and so lose) a change that is due.
    const [found] = await tx
      .select({ row: scheduledChanges, early: sql<boolean>`${scheduledChanges.liveFrom} > now() + interval '1 second'` })
      .from(scheduledChanges)
      .where(eq(scheduledChanges.id, scheduledChangeId))
      .for("update");
    if (!found || found.row.status !== "PENDING" || found.early) return "skipped";
    const { row } = found;
    const { feature, organisationId } = await context(tx, row.featureId);
    const change = row.change as ScheduledChangePayload;
    const audit = {
      organisationId,
      projectId: feature.projectId,
      environmentId: row.environmentId,
      featureId: feature.id,
      segmentId: row.segmentId,
      resourceType: "scheduled_change",
      resourceId: scheduledChangeId,
    };
    const existing = await targetStateId(tx, feature.id, row.environmentId, row.segmentId);
    if (existing === null && row.segmentId === null) {
      await tx.update(scheduledChanges).set({ status: "FAILED", error: "The feature state no longer exists" }).where(eq(scheduledChanges.id, scheduledChangeId));
      await commitChange(tx, SYSTEM_ACTOR, { ...audit, action: "scheduled_change.failed", summary: `Feature "${feature.name}": scheduled change could not go live (state deleted)` }, null);
      return "failed";
    }
    try {
      // A savepoint: a change that cannot apply leaves nothing behind (not even a new override).
      const { before, after } = await tx.transaction(async (savepoint) => {
        let stateId = existing;
        if (stateId === null) {
          // Same lock order as segment-override creation, so "a new override goes last" holds under concurrency.
          const defaultState = await lockDefaultState(savepoint, feature.id, row.environmentId);
          const [created] = await savepoint
            .insert(featureStates)
            .values({
              featureId: feature.id,
              environmentId: row.environmentId,
              segmentId: row.segmentId,
              enabled: false,
              value: feature.initialValue ?? null,
              priority: sql`(select coalesce(max(priority) + 1, 0) from feature_states where feature_id = ${feature.id} and environment_id = ${row.environmentId} and segment_id is not null)`,
            })
            .returning({ id: featureStates.id });
          stateId = created.id;
          // Like a segment override created by hand: members start with the environment's split.
          await savepoint.execute(sql`
            insert into multivariate_state_values (feature_state_id, option_id, percentage_allocation)
            select ${created.id}, v.option_id, v.percentage_allocation
              from multivariate_state_values v
             where v.feature_state_id = ${defaultState.id}
             order by v.id`);
        }
        return applyStateChange(savepoint, await lockState(savepoint, stateId), change);
      });
      await tx.update(scheduledChanges).set({ status: "LIVE", appliedAt: new Date() }).where(eq(scheduledChanges.id, scheduledChangeId));
      const names = await optionNames(tx, [...before.allocations, ...after.allocations]);
      await commitChange(
        tx,
        { label: `scheduled by ${row.actorLabel}` },
        {
          ...audit,
          action: "scheduled_change.applied",
          summary: `Feature "${feature.name}"${row.segmentId ? " (segment override)" : ""} went live: ${describeStateChange(before, after, names)}`,
          before: auditState(before, names),
          after: auditState(after, names),
        },
        { environmentIds: [row.environmentId] },
      );
      return "applied";
    } catch (error) {
      // Invalid now (e.g. allocations over 100 after other edits): record it. Anything else
      // (connection loss…) propagates so the job is retried.
      if (!(error instanceof DomainError)) throw error;
      const message = error.message;
      await tx.update(scheduledChanges).set({ status: "FAILED", error: message }).where(eq(scheduledChanges.id, scheduledChangeId));
      await commitChange(
        tx,
        SYSTEM_ACTOR,
        {
          ...audit,
          action: "scheduled_change.failed",
          summary: `Feature "${feature.name}": scheduled change could not go live: ${message}`,
          before: existing === null ? null : await auditedState(tx, existing),
        },
        null,
      );
      return "failed";
    }
  });
}
