import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { text } from "@/server/input";
import { id, name, router, serialId } from "@/server/trpc/init";
import { protectedProcedure, requireAdmin, requireScope } from "@/server/auth/procedures";
import { addMember, createApiKey, createOrganisation, deleteOrganisation, listApiKeys, listMembers, listOrganisations, removeMember, revokeApiKey, updateMemberRole, updateOrganisation } from "./service";

const role = z.enum(["ADMIN", "USER"]);
const memberId = text().uuid("No such member");

export const organisationsRouter = router({
  list: protectedProcedure.query(({ ctx }) => listOrganisations(ctx.principal)),
  create: protectedProcedure.input(z.object({ name })).mutation(({ ctx, input }) => {
    if (ctx.principal.kind !== "user") throw new TRPCError({ code: "FORBIDDEN", message: "API keys cannot create organisations" });
    return createOrganisation({ ...ctx.actor, userId: ctx.principal.userId }, input.name);
  }),
  update: protectedProcedure
    .input(z.object({ organisationId: id, name: name.optional(), persistTraitData: z.boolean().optional(), stopServingFlags: z.boolean().optional() }))
    .mutation(({ ctx, input }) => {
      requireAdmin(ctx);
      const { organisationId: _organisationId, ...changes } = input;
      return updateOrganisation(ctx.actor, requireScope(ctx, "organisation").organisationId, changes);
    }),
  /** Admins only, signed in (not with an API key), confirming with the organisation's name. */
  delete: protectedProcedure.input(z.object({ organisationId: id, confirmName: text().max(200) })).mutation(({ ctx, input }) => {
    if (ctx.principal.kind !== "user") throw new TRPCError({ code: "FORBIDDEN", message: "API keys cannot delete organisations" });
    requireAdmin(ctx);
    return deleteOrganisation(requireScope(ctx, "organisation").organisationId, input.confirmName);
  }),
  members: protectedProcedure.input(z.object({ organisationId: id })).query(({ ctx }) => listMembers(requireScope(ctx, "organisation").organisationId)),
  addMember: protectedProcedure
    .input(z.object({ organisationId: id, email: text().trim().email("Enter a valid email address"), role }))
    .mutation(({ ctx, input }) => {
      requireAdmin(ctx);
      return addMember(ctx.actor, requireScope(ctx, "organisation").organisationId, input.email, input.role);
    }),
  updateMember: protectedProcedure.input(z.object({ organisationId: id, userId: memberId, role })).mutation(({ ctx, input }) => {
    requireAdmin(ctx);
    return updateMemberRole(ctx.actor, requireScope(ctx, "organisation").organisationId, input.userId, input.role);
  }),
  /** Admins remove anyone; any member may remove themselves (leave). */
  removeMember: protectedProcedure.input(z.object({ organisationId: id, userId: memberId })).mutation(({ ctx, input }) => {
    const leaving = ctx.principal.kind === "user" && ctx.principal.userId === input.userId;
    if (!leaving) requireAdmin(ctx);
    return removeMember(ctx.actor, requireScope(ctx, "organisation").organisationId, input.userId);
  }),
  apiKeys: protectedProcedure.input(z.object({ organisationId: id })).query(({ ctx }) => {
    requireAdmin(ctx);
    return listApiKeys(requireScope(ctx, "organisation").organisationId);
  }),
  createApiKey: protectedProcedure.input(z.object({ organisationId: id, name })).mutation(({ ctx, input }) => {
    requireAdmin(ctx);
    return createApiKey(ctx.actor, requireScope(ctx, "organisation").organisationId, input.name);
  }),
  revokeApiKey: protectedProcedure.input(z.object({ organisationId: id, apiKeyId: serialId })).mutation(({ ctx, input }) => {
    requireAdmin(ctx);
    return revokeApiKey(ctx.actor, requireScope(ctx, "organisation").organisationId, input.apiKeyId);
  }),
});
