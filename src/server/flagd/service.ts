/**
 * The flagd integration's admin side: the project toggle (audited; every environment's document is
 * rewritten, so the flagd endpoints start or stop answering) and the views of what the stored flagd
 * documents look like.
 */
import { eq, sql } from "drizzle-orm";
import { commitChange } from "@/server/audit/change";
import type { Actor } from "@/server/auth/principal";
import { getDb } from "@/server/db/client";
import { projects } from "@/server/db/schema";
import { notFound } from "@/server/errors";
import { getLogger } from "@/server/observability/logger";
import { isGateOpen } from "@/server/rollouts/gates";
import { grpcSyncStatus } from "./grpc-status";
import { TRANSLATOR_VERSION } from "./translator";
import type { FlagdDiagnostics } from "./types";

const log = getLogger("flagd");

/**
 * The project's flagd integration, per environment what its latest flagd document looks like, and
 * where the answering web process serves gRPC sync (null: not served by it, or Flagpost's rollout
 * gate `flagd_grpc_sync` is closed for the project's organisation — the UI then shows none of it).
 */
export async function flagdStatus(projectId: number) {
  const [project] = await getDb().select({ enabled: projects.flagdEnabled, organisationId: projects.organisationId }).from(projects).where(eq(projects.id, projectId));
  if (!project) throw notFound("Project");
  const rows = await getDb().execute<{ id: number; name: string; etag: string | null; written_at: string | null; summary: FlagdDiagnostics["summary"] | null; translator_version: string | null; bytes: number | null }>(sql`
    select e.id, e.name, d.flagd_etag as etag, d.written_at, d.flagd_diagnostics->'summary' as summary, d.translator_version,
           octet_length(d.flagd_document) as bytes
      from environments e left join environment_documents d on d.environment_id = e.id
     where e.project_id = ${projectId}
     order by e.id`);
  const grpcSync = (await isGateOpen("flagd_grpc_sync", project.organisationId)) ? grpcSyncStatus() : null;
  return { enabled: project.enabled, translatorVersion: TRANSLATOR_VERSION, environments: rows.rows, grpcSync };
}

/** Turns the integration on or off (audited); the project's environments' documents are rewritten. */
export async function setFlagdEnabled(actor: Actor, scope: { organisationId: number; projectId: number }, enabled: boolean) {
  await getDb().transaction(async (tx) => {
    const [before] = await tx.select().from(projects).where(eq(projects.id, scope.projectId)).for("update");
    if (!before) throw notFound("Project");
    await tx.update(projects).set({ flagdEnabled: enabled }).where(eq(projects.id, scope.projectId));
    await commitChange(
      tx,
      actor,
      {
        organisationId: scope.organisationId,
        projectId: scope.projectId,
        action: enabled ? "flagd_integration.enabled" : "flagd_integration.disabled",
        resourceType: "project",
        resourceId: scope.projectId,
        summary: `flagd integration ${enabled ? "enabled" : "disabled"} for project "${before.name}"`,
        before: { flagdEnabled: before.flagdEnabled },
        after: { flagdEnabled: enabled },
      },
      { projectId: scope.projectId },
    );
  });
  if (enabled) log.info("integration.enabled", { project__id: scope.projectId });
  else log.info("integration.disabled", { project__id: scope.projectId });
  return { enabled };
}

/** Translation warnings and per-flag fidelity of an environment's latest flagd document (null before the first). */
export async function flagdDiagnostics(environmentId: number) {
  const result = await getDb().execute<{ diagnostics: FlagdDiagnostics | null; revision: number; written_at: string }>(
    sql`select flagd_diagnostics as diagnostics, revision, written_at from environment_documents where environment_id = ${environmentId}`,
  );
  const row = result.rows[0];
  return row ? { diagnostics: row.diagnostics, revision: row.revision, writtenAt: row.written_at } : null;
}
