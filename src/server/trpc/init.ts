/**
 * tRPC plumbing: the one tRPC instance, `publicProcedure` (every procedure runs in its own request
 * context and span, with the request-duration histogram and the mapping of domain errors to tRPC
 * errors), and common zod pieces. Who is calling and what they may see is the auth domain's
 * middleware (auth/procedures.ts: `protectedProcedure`).
 */
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError, z } from "zod";
import { assertDatabaseUp, reportDatabaseError, unlessDatabaseGoesDown } from "@/server/db/availability";
import { DomainError } from "@/server/errors";
import { isCrossSite } from "@/server/http/headers";
import { runWithContext } from "@/server/observability/context";
import { httpRequestDuration } from "@/server/observability/http-metrics";
import { getLogger } from "@/server/observability/logger";
import { incomingContext, SpanKind, withSpan } from "@/server/observability/tracing";
import type { TrpcContext } from "./context";
import { MAX_SERIAL_ID } from "@/server/db/ids";
import { MAX_INDEXED_TEXT_BYTES, text } from "@/server/input";

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
export const mergeRouters = t.mergeRouters;

const TRPC_CODE: Record<DomainError["code"], TRPCError["code"]> = {
  BAD_REQUEST: "BAD_REQUEST",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  FORBIDDEN: "FORBIDDEN",
  UNAUTHORIZED: "UNAUTHORIZED",
  PRECONDITION_FAILED: "PRECONDITION_FAILED",
  TOO_MANY_REQUESTS: "TOO_MANY_REQUESTS",
};

/** What the UI shows (and retries on) while the database cannot be reached. */
export const DATABASE_UNAVAILABLE_MESSAGE = "Database unavailable, retrying";

function toTrpcError(error: unknown): TRPCError {
  if (reportDatabaseError(error instanceof TRPCError ? (error.cause ?? error) : error)) {
    return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: DATABASE_UNAVAILABLE_MESSAGE, cause: error });
  }
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
            // Known down: answered at once instead of each call waiting for its own timeout.
            assertDatabaseUp();
            // Answered as soon as the database is found down (by this call or any other), not after every timeout of this call.
            const result = await unlessDatabaseGoesDown(next());
            if (!result.ok) {
              const mapped = toTrpcError(result.error);
              status = httpStatusOf(mapped.code);
              const retryAfter = mapped.code === "SERVICE_UNAVAILABLE" ? 1 : mapped.cause instanceof DomainError ? mapped.cause.retryAfterSeconds : undefined;
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
            if (mapped.code === "SERVICE_UNAVAILABLE") ctx.resHeaders.set("retry-after", "1");
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
    case "SERVICE_UNAVAILABLE":
      return 503;
    default:
      return 500;
  }
}

export const publicProcedure = t.procedure.use(observed);

/** Common zod pieces. */
export const id = z.number().int().positive();
/** The id of a `serial` (int4) row: larger values name no row. */
export const serialId = id.max(MAX_SERIAL_ID, "No such id");
export const name = text({ maxBytes: MAX_INDEXED_TEXT_BYTES, lowercased: true })
  .trim()
  .min(1, "Name is required")
  .max(200, "Name must be 200 characters or fewer");
