/**
 * The one way a change reaches the SDKs: inside the change's transaction, bump the affected
 * environments' revision and `updated_at`, and enqueue a document write per environment (job key
 * per environment, so a burst of edits coalesces into one pending write; the job exists iff the
 * change committed).
 */
import { sql } from "drizzle-orm";
import type { Executor } from "@/server/db/client";
import { enqueueJob } from "@/server/jobs/enqueue";

export function documentJobKey(environmentId: number): string {
  return `environment_document:${environmentId}`;
}

export type ChangeTarget = { environmentIds: number[] } | { projectId: number } | { organisationId: number };

/** Bumps revision/updated_at of the target environments and enqueues their document writes. */
export async function environmentsChanged(tx: Executor, target: ChangeTarget, cause: string): Promise<number[]> {
  const where =
    "organisationId" in target
      ? sql`project_id in (select id from projects where organisation_id = ${target.organisationId})`
      : "projectId" in target
        ? sql`project_id = ${target.projectId}`
        : target.environmentIds.length === 0
          ? sql`false`
          : sql`id in (${sql.join(target.environmentIds.map((id) => sql`${id}`), sql`, `)})`;
  // Lock in id order so concurrent changes to overlapping sets cannot deadlock.
  const result = await tx.execute<{ id: number; revision: number }>(sql`
    with locked as (select id from environments where ${where} order by id for update)
    update environments e
       set revision = e.revision + 1, updated_at = clock_timestamp()
      from locked
     where e.id = locked.id
    returning e.id, e.revision`);
  for (const row of result.rows) {
    await enqueueJob(
      tx,
      "environment_document_write",
      { environmentId: row.id, revision: row.revision, cause, changedAt: new Date().toISOString() },
      { jobKey: documentJobKey(row.id), maxAttempts: 25 },
    );
  }
  return result.rows.map((row) => row.id);
}
