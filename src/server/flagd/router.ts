import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import { getDb } from "../db/client";
import { projects } from "../db/schema";
import { commitChange } from "../audit/change";
import { notFound } from "../errors";
import { getLogger } from "../observability/logger";
import { id, protectedProcedure, requireAdmin, requireScope, router } from "../trpc/init";
import { TRANSLATOR_VERSION } from "./translator";
import type { FlagdDiagnostics } from "./types";

const log = getLogger("flagd");

export const flagdRouter = router({
  /** The project's flagd integration and, per environment, what its latest flagd document looks like. */
  status: protectedProcedure.input(z.object({ projectId: id })).query(async ({ ctx }) => {
    const projectId = requireScope(ctx, "project").projectId;
    const [project] = await getDb().select({ enabled: projects.flagdEnabled }).from(projects).where(eq(projects.id, projectId));
    if (!project) throw notFound("Project");
    const rows = await getDb().execute<{ id: number; name: string; etag: string | null; written_at: string | null; summary: FlagdDiagnostics["summary"] | null; translator_version: string | null; bytes: number | null }>(sql`
      select e.id, e.name, d.flagd_etag as etag, d.written_at, d.flagd_diagnostics->'summary' as summary, d.translator_version,
             octet_length(d.flagd_document) as bytes
        from environments e left join environment_documents d on d.environment_id = e.id
       where e.project_id = ${projectId}
       order by e.id`);
    return { enabled: project.enabled, translatorVersion: TRANSLATOR_VERSION, environments: rows.rows };
  }),
  /** Turns the integration on or off (audited); the environments' documents are rewritten. */
  setEnabled: protectedProcedure.input(z.object({ projectId: id, enabled: z.boolean() })).mutation(async ({ ctx, input }) => {
    requireAdmin(ctx);
    const scope = requireScope(ctx, "project");
    await getDb().transaction(async (tx) => {
      const [before] = await tx.select().from(projects).where(eq(projects.id, scope.projectId)).for("update");
      if (!before) throw notFound("Project");
      await tx.update(projects).set({ flagdEnabled: input.enabled }).where(eq(projects.id, scope.projectId));
      await commitChange(
        tx,
        ctx.actor,
        {
          organisationId: scope.organisationId,
          projectId: scope.projectId,
          action: input.enabled ? "flagd_integration.enabled" : "flagd_integration.disabled",
          resourceType: "project",
          resourceId: scope.projectId,
          summary: `flagd integration ${input.enabled ? "enabled" : "disabled"} for project "${before.name}"`,
          before: { flagdEnabled: before.flagdEnabled },
          after: { flagdEnabled: input.enabled },
        },
        { projectId: scope.projectId },
      );
    });
    if (input.enabled) log.info("integration.enabled", { project__id: scope.projectId });
    else log.info("integration.disabled", { project__id: scope.projectId });
    return { enabled: input.enabled };
  }),
  /** Translation warnings and per-flag fidelity of an environment's latest flagd document. */
  diagnostics: protectedProcedure.input(z.object({ environmentId: id })).query(async ({ ctx }) => {
    const environmentId = requireScope(ctx, "environment").environmentId;
    const result = await getDb().execute<{ diagnostics: FlagdDiagnostics | null; revision: number; written_at: string }>(
      sql`select flagd_diagnostics as diagnostics, revision, written_at from environment_documents where environment_id = ${environmentId}`,
    );
    const row = result.rows[0];
    return row ? { diagnostics: row.diagnostics, revision: row.revision, writtenAt: row.written_at } : null;
  }),
});
