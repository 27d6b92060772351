import { z } from "zod";
import { id, name, protectedProcedure, requireScope, router, serialId } from "../trpc/init";
import { featureValue } from "../features/values";
import {
  createSegment,
  createSegmentOverride,
  deleteSegment,
  deleteSegmentOverride,
  getSegment,
  listSegmentOverrides,
  listSegments,
  reorderSegmentOverrides,
  updateSegment,
  updateSegmentOverride,
} from "./service";
import { MAX_SEGMENT_DESCRIPTION_LENGTH, MESSAGES, type RuleInput } from "./validation";

// Inputs name the entities they touch by top-level ids (projectId, segmentId, featureId,
// environmentId, featureStateId): the scope middleware resolves and access-checks them (and that
// they belong together) before any procedure body runs.

const description = z
  .string()
  .trim()
  .max(MAX_SEGMENT_DESCRIPTION_LENGTH, `Descriptions are limited to ${MAX_SEGMENT_DESCRIPTION_LENGTH} characters`)
  .nullable()
  .optional();
/**
 * Rules are checked by ./validation.ts (the same checks the UI runs), which reports paths such as
 * `rules.0.conditions.1.value`; zod only checks that it is a list.
 */
const rules = z.custom<RuleInput[]>((value) => Array.isArray(value), MESSAGES.rulesNotList);
const allocation = z.number().min(0, "Allocations are between 0 and 100").max(100, "Allocations are between 0 and 100");
// Nested ids (allocations' optionId, reorder's segmentIds) are not resolved by the scope middleware:
// the service checks that they belong to the feature / are its overriding segments.
const allocations = z.array(z.object({ optionId: serialId, percentageAllocation: allocation })).max(100).optional();

export const segmentsRouter = router({
  list: protectedProcedure
    .input(z.object({ projectId: id, search: z.string().trim().max(200).optional() }))
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

export const segmentOverridesRouter = router({
  /** The feature's segment overrides in one environment, strongest first. */
  list: protectedProcedure
    .input(z.object({ featureId: id, environmentId: id }))
    .query(({ ctx, input }) => listSegmentOverrides(input.featureId, requireScope(ctx, "environment").environmentId)),
  create: protectedProcedure
    .input(z.object({ featureId: id, environmentId: id, segmentId: id, enabled: z.boolean(), value: featureValue, allocations }))
    .mutation(({ ctx, input }) => createSegmentOverride(ctx.actor, { ...input, environmentId: requireScope(ctx, "environment").environmentId })),
  update: protectedProcedure
    .input(z.object({ featureStateId: id, enabled: z.boolean().optional(), value: featureValue.optional(), allocations }))
    .mutation(({ ctx, input }) => {
      const { featureStateId, ...change } = input;
      return updateSegmentOverride(ctx.actor, featureStateId, change);
    }),
  /** `segmentIds`: every overriding segment exactly once, strongest first. */
  reorder: protectedProcedure
    .input(z.object({ featureId: id, environmentId: id, segmentIds: z.array(serialId).max(1000) }))
    .mutation(({ ctx, input }) => reorderSegmentOverrides(ctx.actor, input.featureId, requireScope(ctx, "environment").environmentId, input.segmentIds)),
  delete: protectedProcedure.input(z.object({ featureStateId: id })).mutation(({ ctx, input }) => deleteSegmentOverride(ctx.actor, input.featureStateId)),
});
