/**
 * "Rebuild environment document": audited, enqueued through the same path as every change (revision
 * bump + document-write job), for repairing after an incident. Used by the settings page and by
 * `npm run documents:rebuild`.
 */
import { sql } from "drizzle-orm";
import { getDb } from "@/server/db/client";
import { commitChange } from "@/server/audit/change";
import type { Actor } from "@/server/auth/principal";
import { getLogger } from "@/server/observability/logger";

const log = getLogger("environments");

export type RebuildTarget = { environmentIds: number[] } | { environmentKey: string } | { projectId: number } | { all: true };

/** Returns the number of environments enqueued. */
export async function requestRebuild(actor: Actor, target: RebuildTarget): Promise<number> {
  const where =
    "environmentIds" in target
      ? sql`e.id = any(${`{${target.environmentIds.map(Number).join(",")}}`}::int[])`
      : "environmentKey" in target
        ? sql`e.api_key = ${target.environmentKey}`
        : "projectId" in target
          ? sql`e.project_id = ${target.projectId}`
          : sql`true`;
  const rows = await getDb().execute<{ id: number; name: string; project_id: number; organisation_id: number }>(sql`
    select e.id, e.name, e.project_id, p.organisation_id from environments e join projects p on p.id = e.project_id where ${where} order by e.id`);
  for (const environment of rows.rows) {
    await getDb().transaction(async (tx) => {
      await commitChange(
        tx,
        actor,
        {
          organisationId: environment.organisation_id,
          projectId: environment.project_id,
          environmentId: environment.id,
          action: "environment_document.rebuild_requested",
          resourceType: "environment",
          resourceId: environment.id,
          summary: `Environment document of "${environment.name}" rebuild requested`,
        },
        { environmentIds: [environment.id] },
      );
    });
    log.info("environment_document.rebuild_requested", { environment__id: environment.id });
  }
  return rows.rows.length;
}
