import { z } from "zod";
import { id, name, protectedProcedure, requireScope, router, serialId } from "../trpc/init";
import { featureValue } from "./values";
import {
  addOption,
  createFeature,
  deleteFeature,
  deleteOption,
  getFeature,
  listFeatures,
  listFeatureStates,
  updateEnvironmentState,
  updateFeature,
  updateOption,
} from "./service";
import { cancelScheduledChange, listScheduledChanges, scheduleChange } from "./scheduled";

// Inputs name the entities they touch by top-level ids (featureId, environmentId, optionId, …):
// the scope middleware resolves and access-checks them before any procedure body runs.

const description = z.string().trim().max(2000, "Descriptions are limited to 2000 characters").nullable().optional();
const tags = z.array(z.string().trim().min(1, "Tags cannot be empty").max(50, "Tags are limited to 50 characters")).max(20, "At most 20 tags");
const allocation = z.number().min(0, "Allocations are between 0 and 100").max(100, "Allocations are between 0 and 100");
const variantKey = z
  .string()
  .trim()
  .max(100, "Keys are limited to 100 characters")
  .regex(/^[A-Za-z0-9_.:-]*$/, "Keys may contain letters, digits and _ . : -")
  .nullable()
  .optional();
// Nested ids are not resolved by the scope middleware: the services check that they belong to the feature.
const allocations = z.array(z.object({ optionId: serialId, percentageAllocation: allocation })).max(100).optional();
const featureName = name.max(150, "Feature names are limited to 150 characters");
const option = z.object({ value: featureValue, key: variantKey, defaultPercentageAllocation: allocation });

export const featuresRouter = router({
  list: protectedProcedure
    .input(
      z.object({
        projectId: id,
        environmentId: id.optional(),
        search: z.string().max(200).optional(),
        tag: z.string().max(50).optional(),
        archived: z.boolean().optional(),
      }),
    )
    .query(({ ctx, input }) => listFeatures({ ...input, projectId: requireScope(ctx, "project").projectId })),
  get: protectedProcedure.input(z.object({ featureId: id })).query(({ input }) => getFeature(input.featureId)),
  create: protectedProcedure
    .input(
      z.object({
        projectId: id,
        name: featureName,
        description,
        type: z.enum(["STANDARD", "MULTIVARIATE"]).optional(),
        defaultEnabled: z.boolean().optional(),
        initialValue: featureValue.optional(),
        isServerKeyOnly: z.boolean().optional(),
        tags: tags.optional(),
        options: z.array(option).max(50).optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      const { projectId: _projectId, ...feature } = input;
      return createFeature(ctx.actor, requireScope(ctx, "project").projectId, feature);
    }),
  update: protectedProcedure
    .input(
      z.object({
        featureId: id,
        name: featureName.optional(),
        description,
        defaultEnabled: z.boolean().optional(),
        initialValue: featureValue.optional(),
        isServerKeyOnly: z.boolean().optional(),
        tags: tags.optional(),
        isArchived: z.boolean().optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      const { featureId, ...changes } = input;
      return updateFeature(ctx.actor, featureId, changes);
    }),
  delete: protectedProcedure.input(z.object({ featureId: id })).mutation(({ ctx, input }) => deleteFeature(ctx.actor, input.featureId)),

  /** The feature's default state in every environment. */
  states: protectedProcedure.input(z.object({ featureId: id })).query(({ input }) => listFeatureStates(input.featureId)),
  /** Toggle, value and allocations of the feature in one environment (now). */
  updateState: protectedProcedure
    .input(z.object({ featureId: id, environmentId: id, enabled: z.boolean().optional(), value: featureValue.optional(), allocations }))
    .mutation(({ ctx, input }) => {
      const { featureId, environmentId, ...change } = input;
      return updateEnvironmentState(ctx.actor, featureId, environmentId, change);
    }),

  addOption: protectedProcedure.input(z.object({ featureId: id }).extend(option.shape)).mutation(({ ctx, input }) => {
    const { featureId, ...rest } = input;
    return addOption(ctx.actor, featureId, rest);
  }),
  updateOption: protectedProcedure
    .input(z.object({ optionId: id, value: featureValue.optional(), key: variantKey, defaultPercentageAllocation: allocation.optional() }))
    .mutation(({ ctx, input }) => {
      const { optionId, ...changes } = input;
      return updateOption(ctx.actor, optionId, changes);
    }),
  deleteOption: protectedProcedure.input(z.object({ optionId: id })).mutation(({ ctx, input }) => deleteOption(ctx.actor, input.optionId)),

  scheduled: protectedProcedure
    .input(z.object({ environmentId: id, status: z.enum(["PENDING", "LIVE", "CANCELLED", "FAILED"]).optional() }))
    .query(({ ctx, input }) => listScheduledChanges(requireScope(ctx, "environment").environmentId, input.status)),
  schedule: protectedProcedure
    .input(
      z.object({
        environmentId: id,
        featureId: id,
        segmentId: id.nullable().optional(),
        enabled: z.boolean().optional(),
        value: featureValue.optional(),
        allocations,
        liveFrom: z.coerce.date({ error: "Enter a date and time" }),
      }),
    )
    .mutation(({ ctx, input }) =>
      scheduleChange(ctx.actor, {
        environmentId: requireScope(ctx, "environment").environmentId,
        featureId: input.featureId,
        segmentId: input.segmentId ?? null,
        change: { enabled: input.enabled, value: input.value, allocations: input.allocations },
        liveFrom: input.liveFrom,
      }),
    ),
  cancelScheduled: protectedProcedure.input(z.object({ scheduledChangeId: id })).mutation(({ ctx, input }) => cancelScheduledChange(ctx.actor, input.scheduledChangeId)),
});
