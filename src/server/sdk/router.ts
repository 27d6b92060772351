import { z } from "zod";
import { id, router } from "@/server/trpc/init";
import { protectedProcedure, requireScope } from "@/server/auth/procedures";
import { actingUserId, requireGate } from "@/server/rollouts/gates";
import { featureAnalytics, MAX_ANALYTICS_DAYS } from "./analytics";
import { evaluateContext, evaluateIdentity, testContextInput } from "./evaluation";

// Inputs name the entities they touch by top-level ids (featureId, environmentId): the scope
// middleware resolves and access-checks them, and that they belong to the same project, before
// the procedure body runs.

export const sdkRouter = router({
  /**
   * SDK-reported evaluation counts of a feature in an environment for the last `days` (default 7):
   * hourly buckets up to 2 days, daily beyond; zero-filled, oldest first, UTC.
   */
  analytics: protectedProcedure
    .input(z.object({ featureId: id, environmentId: id, days: z.number().int().min(1).max(MAX_ANALYTICS_DAYS).optional() }))
    .query(({ ctx, input }) => featureAnalytics(input.featureId, requireScope(ctx, "environment").environmentId, input.days ?? 7)),
  /** A stored identity's flags as the SDK API gives them, each with its reason, and its segments (evaluation.ts). */
  evaluateIdentity: protectedProcedure.input(z.object({ identityId: id })).query(async ({ ctx, input }) => {
    await requireGate("context_evaluation", requireScope(ctx, "organisation").organisationId, actingUserId(ctx.principal));
    return evaluateIdentity(input.identityId);
  }),
  /**
   * Any identifier and traits evaluated as the SDK API would (transient: nothing is written). A
   * query sent as POST by the UI (its input can be larger than an address holds).
   */
  evaluateContext: protectedProcedure
    .input(testContextInput.extend({ environmentId: id }))
    .query(async ({ ctx, input }) => {
      const scope = requireScope(ctx, "environment");
      await requireGate("context_evaluation", scope.organisationId, actingUserId(ctx.principal));
      return evaluateContext(scope.environmentId, input);
    }),
});
