import { z } from "zod";
import { settings } from "@/server/config";
import { text } from "@/server/input";
import { publicProcedure, router } from "@/server/trpc/init";
import { protectedProcedure, sessionProcedure } from "./procedures";
import { TRPCError } from "@trpc/server";
import { changePassword, clearedSessionCookie, sessionCookie, signIn, signOut, signUp } from "./service";

const email = text().trim().toLowerCase().email("Enter a valid email address").max(320);
const password = text().min(8, "Password must be at least 8 characters").max(200);

export function secureCookies(headers: Headers): boolean {
  return (headers.get("x-forwarded-proto") ?? "").startsWith("https") || settings().secureCookies;
}

export const authRouter = router({
  me: sessionProcedure.query(({ ctx }) => {
    const principal = ctx.principal;
    if (!principal) return null;
    return principal.kind === "user"
      ? { kind: "user" as const, id: principal.userId, email: principal.email, name: principal.name }
      : { kind: "apiKey" as const, id: principal.apiKeyId, name: principal.name, organisationId: principal.organisationId };
  }),
  signUp: publicProcedure
    .input(
      z.object({
        email,
        name: text().trim().min(1, "Name is required").max(200),
        password,
        organisationName: text().trim().max(200).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const session = await signUp(input, { clientAddress: ctx.clientAddress });
      ctx.resHeaders.append("set-cookie", sessionCookie(session.token, session.expiresAt, secureCookies(ctx.headers)));
      return { userId: session.userId, organisationId: session.organisationId };
    }),
  signIn: publicProcedure.input(z.object({ email, password: text().min(1, "Password is required").max(200) })).mutation(async ({ ctx, input }) => {
    const session = await signIn(input, { clientAddress: ctx.clientAddress });
    ctx.resHeaders.append("set-cookie", sessionCookie(session.token, session.expiresAt, secureCookies(ctx.headers)));
    return { userId: session.userId };
  }),
  /** Signed-in users only (not API keys); other sessions of the user end. */
  changePassword: protectedProcedure
    .input(z.object({ currentPassword: text().min(1, "Current password is required").max(200), newPassword: password }))
    .mutation(async ({ ctx, input }) => {
      const principal = ctx.principal;
      if (principal.kind !== "user") throw new TRPCError({ code: "FORBIDDEN", message: "API keys have no password" });
      return changePassword(principal, input, { clientAddress: ctx.clientAddress });
    }),
  signOut: protectedProcedure.mutation(async ({ ctx }) => {
    if (ctx.principal.kind === "user") await signOut(ctx.principal.sessionId);
    ctx.resHeaders.append("set-cookie", clearedSessionCookie());
    return { ok: true };
  }),
});
