/**
 * Compare and promote (tRPC `promotion.*`): the features × environments matrix of a project, and
 * copying features from one environment to another — previewed first, then applied with the
 * revisions the preview carries (a stale preview is refused with PRECONDITION_FAILED).
 *
 * `projectId` is resolved and access-checked by the scope middleware; the service checks that both
 * environments and every feature belong to that project (NOT_FOUND otherwise).
 */
import { z } from "zod";
import { text } from "@/server/input";
import { router, serialId } from "@/server/trpc/init";
import { protectedProcedure, requireScope } from "@/server/auth/procedures";
import { applyCopy, compareEnvironments, MAX_COPY_FEATURES, previewCopy } from "./promotion";

const copy = z.object({
  projectId: serialId,
  sourceEnvironmentId: serialId,
  targetEnvironmentId: serialId,
  featureIds: z.array(serialId).min(1, "Choose at least one feature").max(MAX_COPY_FEATURES, `At most ${MAX_COPY_FEATURES} features at a time`),
});
const revision = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const promotionRouter = router({
  /** Every feature of the project (filtered by name and tag) with its state in every environment. */
  matrix: protectedProcedure
    .input(
      z.object({
        projectId: serialId,
        search: text().trim().max(200).optional(),
        tag: text().trim().max(50).optional(),
        archived: z.boolean().optional(),
      }),
    )
    .query(({ ctx, input }) =>
      compareEnvironments({ projectId: requireScope(ctx, "project").projectId, search: input.search || undefined, tag: input.tag || undefined, archived: input.archived }),
    ),
  /** What copying the features from source to target would change in the target (nothing written). */
  preview: protectedProcedure.input(copy).query(({ ctx, input }) => previewCopy({ ...input, projectId: requireScope(ctx, "project").projectId })),
  /** Applies a preview: one transaction, one audit row, the target's document write. */
  copy: protectedProcedure
    .input(copy.extend({ sourceRevision: revision, targetRevision: revision }))
    .mutation(({ ctx, input }) => applyCopy(ctx.actor, { ...input, projectId: requireScope(ctx, "project").projectId })),
});
