import { eq } from "drizzle-orm";
import { z } from "zod";
import { getDb } from "../db/client";
import { environmentDocuments, environments } from "../db/schema";
import { id, protectedProcedure, requireAdmin, requireScope, router } from "../trpc/init";
import { requestRebuild } from "./rebuild";

export const documentsRouter = router({
  /** The stored document's revision against the environment's, for the settings page. */
  status: protectedProcedure.input(z.object({ environmentId: id })).query(async ({ ctx }) => {
    const environmentId = requireScope(ctx, "environment").environmentId;
    const [environment] = await getDb().select({ revision: environments.revision, updatedAt: environments.updatedAt }).from(environments).where(eq(environments.id, environmentId));
    const [stored] = await getDb()
      .select({
        revision: environmentDocuments.revision,
        writtenAt: environmentDocuments.writtenAt,
        bytes: environmentDocuments.bytes,
        featureStatesCount: environmentDocuments.featureStatesCount,
      })
      .from(environmentDocuments)
      .where(eq(environmentDocuments.environmentId, environmentId));
    return { environmentRevision: environment?.revision ?? null, stored: stored ?? null, upToDate: !!stored && stored.revision >= (environment?.revision ?? 0) };
  }),
  /** Operators' repair action: enqueue a fresh document write through the normal path (audited). */
  rebuild: protectedProcedure.input(z.object({ environmentId: id })).mutation(async ({ ctx }) => {
    requireAdmin(ctx);
    const count = await requestRebuild(ctx.actor, { environmentIds: [requireScope(ctx, "environment").environmentId] });
    return { environments: count };
  }),
});
