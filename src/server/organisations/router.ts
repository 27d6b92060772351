import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { text } from "@/server/input";
import { id, name, publicProcedure, router, serialId } from "@/server/trpc/init";
import { protectedProcedure, requireAdmin, requireScope } from "@/server/auth/procedures";
import { secureCookies } from "@/server/auth/router";
import { sessionCookie } from "@/server/auth/service";
import { acceptInvitation, createInvitation, listInvitations, lookupInvitation, revokeInvitation, signUpWithInvitation } from "./invitations";
import { createApiKey, createOrganisation, deleteOrganisation, listApiKeys, listMembers, listOrganisations, removeMember, revokeApiKey, updateMemberRole, updateOrganisation } from "./service";

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

/** Long enough for any token Flagpost issues; anything else is refused as input, not looked up. */
const token = text().trim().min(1, "The invitation link is incomplete").max(200, "The invitation link is not valid");
const email = text().trim().toLowerCase().max(320, "Enter a valid email address").email("Enter a valid email address");

/**
 * `invitations.*`: admins invite by email (the same answer whether or not the email has an account),
 * list and revoke pending invitations; the invited person looks the invitation up, and accepts it
 * signed in or by signing up (organisations/invitations.ts).
 */
export const invitationsRouter = router({
  create: protectedProcedure.input(z.object({ organisationId: id, email, role })).mutation(({ ctx, input }) => {
    requireAdmin(ctx);
    return createInvitation(ctx.actor, requireScope(ctx, "organisation").organisationId, input.email, input.role);
  }),
  list: protectedProcedure.input(z.object({ organisationId: id })).query(({ ctx }) => {
    requireAdmin(ctx);
    return listInvitations(requireScope(ctx, "organisation").organisationId);
  }),
  revoke: protectedProcedure.input(z.object({ organisationId: id, invitationId: serialId })).mutation(async ({ ctx, input }) => {
    requireAdmin(ctx);
    await revokeInvitation(ctx.actor, requireScope(ctx, "organisation").organisationId, input.invitationId);
    return { ok: true };
  }),
  /** Open to the token's holder (signed in or not); the UI sends it as POST, so the token stays out of URLs. */
  lookup: publicProcedure.input(z.object({ token })).query(({ input }) => lookupInvitation(input.token)),
  accept: protectedProcedure.input(z.object({ token })).mutation(({ ctx, input }) => {
    if (ctx.principal.kind !== "user") throw new TRPCError({ code: "FORBIDDEN", message: "API keys cannot accept invitations" });
    return acceptInvitation({ userId: ctx.principal.userId, email: ctx.principal.email }, input.token);
  }),
  /** A new account for the invited email, joining the organisation; signs in (session cookie). */
  signUp: publicProcedure
    .input(z.object({ token, name: text().trim().min(1, "Name is required").max(200), password: text().min(8, "Password must be at least 8 characters").max(200) }))
    .mutation(async ({ ctx, input }) => {
      const session = await signUpWithInvitation(input, { clientAddress: ctx.clientAddress });
      ctx.resHeaders.append("set-cookie", sessionCookie(session.token, session.expiresAt, secureCookies(ctx.headers)));
      return { userId: session.userId, organisationId: session.organisationId };
    }),
});
