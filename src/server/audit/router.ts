import { z } from "zod";
import { text } from "@/server/input";
import { id, router } from "@/server/trpc/init";
import { protectedProcedure, requireScope } from "@/server/auth/procedures";
import { listAudit } from "./service";

export const auditRouter = router({
  /**
   * The audit log of an organisation (everything in it), of a project (all its environments) or of
   * one environment, newest first.
   */
  list: protectedProcedure
    .input(
      z.object({
        organisationId: id.optional(),
        projectId: id.optional(),
        environmentId: id.optional(),
        featureId: id.optional(),
        segmentId: id.optional(),
        action: text().trim().max(100).optional(),
        search: text().trim().max(200).optional(),
        cursor: z.number().int().positive().optional(),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(({ ctx, input }) => {
      const scope = requireScope(ctx, "organisation");
      return listAudit({
        organisationId: scope.organisationId,
        projectId: scope.projectId,
        environmentId: input.environmentId,
        featureId: input.featureId,
        segmentId: input.segmentId,
        action: input.action || undefined,
        search: input.search || undefined,
        cursor: input.cursor,
        limit: input.limit,
      });
    }),
});
