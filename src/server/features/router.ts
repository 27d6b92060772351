import { z } from "zod";
import { text } from "@/server/input";
import { id, name, router, serialId } from "@/server/trpc/init";
import { protectedProcedure, requireScope } from "@/server/auth/procedures";
import { DEFAULT_PAGE_SIZE, MAX_IDENTIFIER_LENGTH, MAX_PAGE_SIZE } from "@/server/identities/service";
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
import {
  createIdentityOverride,
  deleteIdentityOverride,
  getIdentityWithOverrides,
  listFeatureIdentityOverrides,
  listIdentityOverrides,
  updateIdentityOverride,
} from "./identity-overrides";
import { createSegmentOverride, deleteSegmentOverride, listSegmentOverrides, reorderSegmentOverrides, updateSegmentOverride } from "./segment-overrides";

// Inputs name the entities they touch by top-level ids (featureId, environmentId, optionId, …):
// the scope middleware resolves and access-checks them before any procedure body runs.

const description = text().trim().max(2000, "Descriptions are limited to 2000 characters").nullable().optional();
const tags = z.array(text().trim().min(1, "Tags cannot be empty").max(50, "Tags are limited to 50 characters")).max(20, "At most 20 tags");
const allocation = z.number().min(0, "Allocations are between 0 and 100").max(100, "Allocations are between 0 and 100");
const variantKey = text()
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
        search: text().max(200).optional(),
        tag: text().max(50).optional(),
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

/** Segment overrides (tRPC `segmentOverrides.*`). Nested ids (allocations' optionId, reorder's segmentIds) are checked by the service. */
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

const identitySearch = text().trim().max(MAX_IDENTIFIER_LENGTH).optional();
const identityCursor = text().max(MAX_IDENTIFIER_LENGTH).optional();
const pageLimit = z.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE);

/**
 * Identity overrides and the identity page's view (tRPC `identities.*`, merged with the identities
 * router by the root router). Inputs name identityId / featureId / environmentId / featureStateId,
 * access-checked by the scope middleware.
 */
export const identityOverridesRouter = router({
  /** An identity with its traits and overrides. */
  get: protectedProcedure.input(z.object({ identityId: id })).query(({ input }) => getIdentityWithOverrides(input.identityId)),
  listOverrides: protectedProcedure.input(z.object({ identityId: id })).query(({ input }) => listIdentityOverrides(input.identityId)),
  /** A feature's identity overrides in one environment (feature page), identifiers ascending. */
  overridesForFeature: protectedProcedure
    .input(z.object({ featureId: id, environmentId: id, search: identitySearch, cursor: identityCursor, limit: pageLimit }))
    .query(({ ctx, input }) =>
      listFeatureIdentityOverrides({
        featureId: input.featureId,
        environmentId: requireScope(ctx, "environment").environmentId,
        search: input.search || undefined,
        cursor: input.cursor,
        limit: input.limit,
      }),
    ),
  createOverride: protectedProcedure
    .input(z.object({ identityId: id, featureId: id, enabled: z.boolean(), value: featureValue }))
    .mutation(({ ctx, input }) => createIdentityOverride(ctx.actor, input)),
  updateOverride: protectedProcedure
    .input(z.object({ featureStateId: id, enabled: z.boolean().optional(), value: featureValue.optional() }))
    .mutation(({ ctx, input }) => {
      const { featureStateId, ...change } = input;
      return updateIdentityOverride(ctx.actor, featureStateId, change);
    }),
  deleteOverride: protectedProcedure.input(z.object({ featureStateId: id })).mutation(({ ctx, input }) => deleteIdentityOverride(ctx.actor, input.featureStateId)),
});
