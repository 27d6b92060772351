import { z } from "zod";
import { text } from "@/server/input";
import { id, name, router } from "@/server/trpc/init";
import { protectedProcedure, requireAdmin, requireScope } from "@/server/auth/procedures";
import {
  cloneEnvironment,
  createEnvironment,
  createServerKey,
  deleteEnvironment,
  getEnvironment,
  listEnvironments,
  listServerKeys,
  revokeServerKey,
  updateEnvironment,
} from "./service";

const description = text().trim().max(2000).nullable().optional();

export const environmentsRouter = router({
  list: protectedProcedure.input(z.object({ projectId: id })).query(({ ctx }) => listEnvironments(requireScope(ctx, "project").projectId)),
  get: protectedProcedure.input(z.object({ environmentId: id })).query(({ ctx }) => getEnvironment(requireScope(ctx, "environment").environmentId)),
  create: protectedProcedure.input(z.object({ projectId: id, name, description })).mutation(({ ctx, input }) => {
    requireAdmin(ctx);
    return createEnvironment(ctx.actor, requireScope(ctx, "project").projectId, input);
  }),
  clone: protectedProcedure.input(z.object({ environmentId: id, name, description })).mutation(({ ctx, input }) => {
    requireAdmin(ctx);
    return cloneEnvironment(ctx.actor, requireScope(ctx, "environment").environmentId, { name: input.name, description: input.description });
  }),
  update: protectedProcedure
    .input(
      z.object({
        environmentId: id,
        name: name.optional(),
        description,
        allowClientTraits: z.boolean().optional(),
        hideDisabledFlags: z.boolean().nullable().optional(),
        useIdentityCompositeKeyForHashing: z.boolean().optional(),
        useIdentityOverridesInLocalEval: z.boolean().optional(),
        hideSensitiveData: z.boolean().optional(),
        isProtected: z.boolean().optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      requireAdmin(ctx);
      const { environmentId: _environmentId, ...changes } = input;
      return updateEnvironment(ctx.actor, requireScope(ctx, "environment").environmentId, changes);
    }),
  delete: protectedProcedure.input(z.object({ environmentId: id })).mutation(({ ctx }) => {
    requireAdmin(ctx);
    return deleteEnvironment(ctx.actor, requireScope(ctx, "environment").environmentId);
  }),
  serverKeys: protectedProcedure.input(z.object({ environmentId: id })).query(({ ctx }) => listServerKeys(requireScope(ctx, "environment").environmentId)),
  createServerKey: protectedProcedure.input(z.object({ environmentId: id, name })).mutation(({ ctx, input }) => {
    requireAdmin(ctx);
    return createServerKey(ctx.actor, requireScope(ctx, "environment").environmentId, input.name);
  }),
  revokeServerKey: protectedProcedure.input(z.object({ environmentId: id, serverKeyId: id })).mutation(({ ctx, input }) => {
    requireAdmin(ctx);
    return revokeServerKey(ctx.actor, requireScope(ctx, "environment").environmentId, input.serverKeyId);
  }),
});
