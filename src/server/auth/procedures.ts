/**
 * Who is calling, and what they may see, for every tRPC procedure:
 *   1. the principal (session cookie or `Authorization: Api-Key`), resolved once per request (a
 *      batch shares it) from the request's headers;
 *   2. `protectedProcedure` binds `user.id` (users) / `organisation.id` (API keys),
 *   3. resolves the scope named by the input (organisation / project / environment, see scope.ts),
 *      checks access, and binds `organisation.id`, `project.id`, `environment.id` —
 * all before the procedure body runs, so everything the body calls logs those ids.
 */
import { TRPCError } from "@trpc/server";
import { bindContext } from "@/server/observability/context";
import { requestContext, type TrpcContext } from "@/server/trpc/context";
import { publicProcedure } from "@/server/trpc/init";
import { actorOf, resolvePrincipal, type Actor, type Principal } from "./principal";
import { firstOrganisationOf, resolveScope, type Role, type Scope } from "./scope";

interface ResolvedPrincipal {
  principal: Principal | null;
  /** An `Authorization: Api-Key …` header that resolved to no key (never a fallback to the cookie). */
  invalidApiKey: boolean;
}

// Per request (its Headers object): a batch of procedures resolves the principal once.
const principals = new WeakMap<Headers, Promise<ResolvedPrincipal>>();

function principalOf(ctx: TrpcContext): Promise<ResolvedPrincipal> {
  let resolved = principals.get(ctx.headers);
  if (!resolved) {
    resolved = resolvePrincipal(ctx.headers);
    principals.set(ctx.headers, resolved);
    // A failed lookup (database down) is not remembered: the next procedure tries again.
    resolved.catch(() => principals.delete(ctx.headers));
  }
  return resolved;
}

/** A context for calling procedures in-process (tests, scripts) as `principal`. */
export function createCallerContext(principal: Principal | null, headers: Record<string, string> = {}): TrpcContext {
  const context = requestContext(new Headers(headers));
  principals.set(context.headers, Promise.resolve({ principal, invalidApiKey: false }));
  return context;
}

/** Procedures open to everyone that want to know who is calling (`ctx.principal`, null when signed out). */
export const sessionProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const { principal } = await principalOf(ctx);
  return next({ ctx: { principal } });
});

export interface AuthedContext extends TrpcContext {
  principal: Principal;
  actor: Actor;
  /** What the input names, access-checked; null when it names nothing. */
  scope: Scope | null;
  role: Role | null;
}

export const protectedProcedure = publicProcedure.use(async ({ ctx, next, getRawInput }) => {
  const { principal, invalidApiKey } = await principalOf(ctx);
  if (invalidApiKey) throw new TRPCError({ code: "UNAUTHORIZED", message: "Invalid API key" });
  if (!principal) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first" });
  if (principal.kind === "user") bindContext({ "user.id": principal.userId });
  else bindContext({ "organisation.id": principal.organisationId });

  const resolved = await resolveScope(principal, await getRawInput());
  if (resolved) {
    bindContext({
      "organisation.id": resolved.scope.organisationId,
      "project.id": resolved.scope.projectId,
      "environment.id": resolved.scope.environmentId,
    });
  } else if (principal.kind === "user") {
    const fallback = await firstOrganisationOf(principal);
    if (fallback !== undefined) bindContext({ "organisation.id": fallback });
  }
  return next({
    ctx: {
      principal,
      actor: actorOf(principal),
      scope: resolved?.scope ?? null,
      role: resolved?.role ?? null,
    },
  });
});

/** The scope of an authed call, requiring the given level to be present. */
export function requireScope<K extends "organisation" | "project" | "environment">(
  ctx: Pick<AuthedContext, "scope">,
  level: K,
): Scope & (K extends "project" ? { projectId: number } : K extends "environment" ? { projectId: number; environmentId: number } : object) {
  const scope = ctx.scope;
  if (!scope) throw new TRPCError({ code: "BAD_REQUEST", message: `This call needs an ${level} id` });
  if (level === "project" && scope.projectId === undefined) throw new TRPCError({ code: "BAD_REQUEST", message: "This call needs a project id" });
  if (level === "environment" && scope.environmentId === undefined) throw new TRPCError({ code: "BAD_REQUEST", message: "This call needs an environment id" });
  return scope as never;
}

export function requireAdmin(ctx: Pick<AuthedContext, "role">): void {
  if (ctx.role !== "ADMIN") throw new TRPCError({ code: "FORBIDDEN", message: "Only organisation admins can do this" });
}
