/**
 * tRPC setup. Every procedure runs in its own request context and span; protected procedures then
 *   1. authenticate (session cookie or `Authorization: Api-Key`),
 *   2. bind `user.id` (users) / `organisation.id` (API keys),
 *   3. resolve the scope named by the input (organisation / project / environment, see scope.ts),
 *      check access, and bind `organisation.id`, `project.id`, `environment.id` —
 * all before the procedure body runs, so everything the body calls logs those ids.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError, z } from "zod";
import { actorOf, type Actor, type Principal } from "../auth/principal";
import { DomainError } from "../errors";
import { isCrossSite } from "../http/headers";
import { bindContext, runWithContext } from "../observability/context";
import { httpRequestDuration } from "../observability/http-metrics";
import { getLogger } from "../observability/logger";
import { incomingContext, SpanKind, withSpan } from "../observability/tracing";
import type { TrpcContext } from "./context";
import { firstOrganisationOf, MAX_SERIAL_ID, resolveScope, type Role, type Scope } from "./scope";

const log = getLogger("api");

const INTERNAL_MESSAGE = "Internal error";

const t = initTRPC.context<TrpcContext>().create({
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    let fieldErrors: Record<string, string> | undefined;
    if (cause instanceof ZodError) {
      fieldErrors = {};
      for (const issue of cause.issues) {
        const key = issue.path.join(".") || "_";
        fieldErrors[key] ??= issue.message;
      }
    } else if (cause instanceof DomainError && cause.field) {
      fieldErrors = { [cause.field]: cause.message };
    }
    // An unexpected error's message (SQL, parameters, file paths) never reaches the client.
    const message =
      cause instanceof ZodError
        ? (Object.values(fieldErrors ?? {})[0] ?? "Invalid input")
        : error.code === "INTERNAL_SERVER_ERROR"
          ? INTERNAL_MESSAGE
          : shape.message;
    return { ...shape, message, data: { ...shape.data, stack: undefined, fieldErrors } };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

const TRPC_CODE: Record<DomainError["code"], TRPCError["code"]> = {
  BAD_REQUEST: "BAD_REQUEST",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  FORBIDDEN: "FORBIDDEN",
  UNAUTHORIZED: "UNAUTHORIZED",
  PRECONDITION_FAILED: "PRECONDITION_FAILED",
  TOO_MANY_REQUESTS: "TOO_MANY_REQUESTS",
};

function toTrpcError(error: unknown): TRPCError {
  if (error instanceof TRPCError) {
    if (error.cause instanceof DomainError) return new TRPCError({ code: TRPC_CODE[error.cause.code], message: error.cause.message, cause: error.cause });
    // tRPC wraps anything a procedure throws as INTERNAL_SERVER_ERROR carrying the thrown message.
    if (error.code === "INTERNAL_SERVER_ERROR") return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: INTERNAL_MESSAGE, cause: error.cause ?? error });
    return error;
  }
  if (error instanceof DomainError) return new TRPCError({ code: TRPC_CODE[error.code], message: error.message, cause: error });
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: INTERNAL_MESSAGE, cause: error });
}

/** Fresh context, span, metrics and error mapping around every procedure call. */
const observed = t.middleware(async ({ ctx, path, type, next }) => {
  return runWithContext(
    () =>
      withSpan(
        `trpc ${path}`,
        async (span) => {
          const started = process.hrtime.bigint();
          let status = 200;
          try {
            if (type === "mutation" && isCrossSite(ctx.headers)) {
              throw new TRPCError({ code: "FORBIDDEN", message: "Cross-site request refused" });
            }
            const result = await next();
            if (!result.ok) {
              const mapped = toTrpcError(result.error);
              status = httpStatusOf(mapped.code);
              const retryAfter = mapped.cause instanceof DomainError ? mapped.cause.retryAfterSeconds : undefined;
              if (retryAfter !== undefined) ctx.resHeaders.set("retry-after", String(retryAfter));
              if (mapped.code === "INTERNAL_SERVER_ERROR") {
                log.error("procedure.failed", { procedure: path, error: result.error.cause ?? result.error });
              }
              span.setAttribute("rpc.status", mapped.code);
              return { ...result, error: mapped };
            }
            return result;
          } catch (error) {
            const mapped = toTrpcError(error);
            status = httpStatusOf(mapped.code);
            throw mapped;
          } finally {
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            httpRequestDuration.observe({ route: `/api/trpc/${path}`, method: type === "query" ? "GET" : "POST", status: String(status) }, seconds);
          }
        },
        { parent: incomingContext(ctx.headers), kind: SpanKind.SERVER, attributes: { "rpc.system": "trpc", "rpc.method": path } },
      ),
    { headers: ctx.propagated },
  );
});

function httpStatusOf(code: TRPCError["code"]): number {
  switch (code) {
    case "BAD_REQUEST":
    case "PARSE_ERROR":
      return 400;
    case "UNAUTHORIZED":
      return 401;
    case "FORBIDDEN":
      return 403;
    case "NOT_FOUND":
      return 404;
    case "CONFLICT":
      return 409;
    case "PRECONDITION_FAILED":
      return 412;
    case "PAYLOAD_TOO_LARGE":
      return 413;
    case "TOO_MANY_REQUESTS":
      return 429;
    default:
      return 500;
  }
}

export const publicProcedure = t.procedure.use(observed);

export interface AuthedContext extends TrpcContext {
  principal: Principal;
  actor: Actor;
  /** What the input names, access-checked; null when it names nothing. */
  scope: Scope | null;
  role: Role | null;
}

const authenticated = t.middleware(async ({ ctx, next, getRawInput }) => {
  if (ctx.invalidApiKey) throw new TRPCError({ code: "UNAUTHORIZED", message: "Invalid API key" });
  const principal = ctx.principal;
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

export const protectedProcedure = publicProcedure.use(authenticated);

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

/** Common zod pieces. */
export const id = z.number().int().positive();
/** The id of a `serial` (int4) row: larger values name no row. */
export const serialId = id.max(MAX_SERIAL_ID, "No such id");
export const name = z
  .string()
  .trim()
  .min(1, "Name is required")
  .max(200, "Name must be 200 characters or fewer");
