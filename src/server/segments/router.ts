import { z } from "zod";
import { text } from "@/server/input";
import { id, name, router } from "@/server/trpc/init";
import { protectedProcedure, requireScope } from "@/server/auth/procedures";
import { createSegment, deleteSegment, getSegment, listSegments, updateSegment } from "./service";
import { MAX_SEGMENT_DESCRIPTION_LENGTH, MESSAGES, type RuleInput } from "./validation";

// Inputs name the entities they touch by top-level ids (projectId, segmentId, featureId,
// environmentId, featureStateId): the scope middleware resolves and access-checks them (and that
// they belong together) before any procedure body runs.

const description = text()
  .trim()
  .max(MAX_SEGMENT_DESCRIPTION_LENGTH, `Descriptions are limited to ${MAX_SEGMENT_DESCRIPTION_LENGTH} characters`)
  .nullable()
  .optional();
/**
 * Rules are checked by ./validation.ts (the same checks the UI runs), which reports paths such as
 * `rules.0.conditions.1.value`; zod only checks that it is a list.
 */
const rules = z.custom<RuleInput[]>((value) => Array.isArray(value), MESSAGES.rulesNotList);

export const segmentsRouter = router({
  list: protectedProcedure
    .input(z.object({ projectId: id, search: text().trim().max(200).optional() }))
    .query(({ ctx, input }) => listSegments(requireScope(ctx, "project").projectId, input.search || undefined)),
  get: protectedProcedure.input(z.object({ segmentId: id })).query(({ input }) => getSegment(input.segmentId)),
  create: protectedProcedure
    .input(z.object({ projectId: id, name, description, featureId: id.nullable().optional(), rules }))
    .mutation(({ ctx, input }) => {
      const { projectId: _projectId, ...segment } = input;
      return createSegment(ctx.actor, requireScope(ctx, "project").projectId, segment);
    }),
  update: protectedProcedure
    .input(z.object({ segmentId: id, name: name.optional(), description, rules: rules.optional() }))
    .mutation(({ ctx, input }) => {
      const { segmentId, ...changes } = input;
      return updateSegment(ctx.actor, segmentId, changes);
    }),
  delete: protectedProcedure.input(z.object({ segmentId: id })).mutation(({ ctx, input }) => deleteSegment(ctx.actor, input.segmentId)),
});
