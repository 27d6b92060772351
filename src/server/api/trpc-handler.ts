/**
 * The tRPC HTTP endpoint (`/api/trpc/<procedure>[,<procedure>…]`), with its limits applied before
 * anything is parsed:
 *
 * - at most MAX_TRPC_BATCH_SIZE procedures per request (400);
 * - a body of at most TRPC_MAX_BODY_BYTES, refused from its Content-Length before a byte is read,
 *   else as soon as the bytes read exceed it (413). `imports.flagsmith` alone, called by a signed-in
 *   principal, may send up to MAX_IMPORT_DOCUMENT_BYTES (and a little for the envelope);
 * - input JSON (the body, or a GET's `input` parameter) nested at most MAX_JSON_DEPTH deep (400).
 *
 * A refusal is handed to tRPC as the context's error, so it answers in its own error shape (one per
 * batched call) with the matching status. Every answer carries the security headers of non-page
 * answers (http/security.ts). The route file (src/app/api/trpc/[trpc]/route.ts) only delegates here.
 * docs/security.md.
 */
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { TRPCError } from "@trpc/server";
import { resolvePrincipal } from "@/server/auth/principal";
import { settings } from "@/server/config";
import { readLimitedBody } from "@/server/http/body";
import { NON_PAGE_CSP, SECURITY_HEADERS } from "@/server/http/security";
import { jsonTextDepthExceeds, MAX_JSON_DEPTH, MAX_TRPC_BATCH_SIZE } from "@/server/input";
import { MAX_IMPORT_DOCUMENT_BYTES } from "@/server/imports/router";
import { getLogger } from "@/server/observability/logger";
import { createTrpcContext } from "@/server/trpc/context";
import { appRouter } from "./trpc-router";

const log = getLogger("api");

export const TRPC_ENDPOINT = "/api/trpc";

/** Room for the request envelope around an import document (`{"projectId":…,"document":…}`). */
const IMPORT_ENVELOPE_BYTES = 64 * 1024;

const decoder = new TextDecoder();

function refuse(code: "BAD_REQUEST" | "PAYLOAD_TOO_LARGE", reason: string, message: string): TRPCError {
  log.debug("request.refused", { reason });
  return new TRPCError({ code, message });
}

/** The procedure names of a request path (`a.b,c.d` for a batch), undecoded. */
function proceduresOf(url: URL): string[] {
  const path = url.pathname.slice(TRPC_ENDPOINT.length).replace(/^\/+|\/+$/g, "");
  return url.searchParams.get("batch") === "1" ? path.split(",") : [path];
}

/** The body limit of this request: the import's larger one only for a signed-in caller of that procedure alone. */
async function bodyLimit(request: Request, procedures: string[]): Promise<number> {
  const limit = settings().trpcMaxBodyBytes;
  if (procedures.length !== 1 || procedures[0] !== "imports.flagsmith") return limit;
  // Unknown caller (or the database unreachable, which the procedure itself then answers with 503):
  // the ordinary limit.
  const principal = await resolvePrincipal(request.headers).then(
    (resolved) => resolved.principal,
    () => null,
  );
  return principal ? Math.max(limit, MAX_IMPORT_DOCUMENT_BYTES + IMPORT_ENVELOPE_BYTES) : limit;
}

/** The refusal of a request that breaks a limit, or the body text to hand on (null for GET/HEAD). */
async function admit(request: Request, url: URL): Promise<{ refusal: TRPCError } | { body: string | null }> {
  const procedures = proceduresOf(url);
  if (procedures.length > MAX_TRPC_BATCH_SIZE) {
    return { refusal: refuse("BAD_REQUEST", "batch_too_large", `A request may batch at most ${MAX_TRPC_BATCH_SIZE} calls`) };
  }
  let body: string | null = null;
  if (request.method !== "GET" && request.method !== "HEAD") {
    const limit = await bodyLimit(request, procedures);
    const read = await readLimitedBody(request, limit);
    if (!read.ok) return { refusal: refuse("PAYLOAD_TOO_LARGE", "body_too_large", `The request body is larger than ${limit} bytes`) };
    body = decoder.decode(read.bytes);
  }
  const input = body ?? url.searchParams.get("input");
  if (input && jsonTextDepthExceeds(input, MAX_JSON_DEPTH + 2)) {
    // (+2: a batch's outer object and the procedure's own input object)
    return { refusal: refuse("BAD_REQUEST", "input_too_deep", `The input is nested more than ${MAX_JSON_DEPTH} levels deep`) };
  }
  return { body };
}

export async function handleTrpcRequest(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const admitted = await admit(request, url);
  const refusal = "refusal" in admitted ? admitted.refusal : undefined;
  const body = "body" in admitted ? admitted.body : null;
  // The body was read here (within its limit); tRPC gets it from a fresh request.
  const forwarded = new Request(request.url, { method: request.method, headers: request.headers, body, signal: request.signal });
  const response = await fetchRequestHandler({
    endpoint: TRPC_ENDPOINT,
    req: forwarded,
    router: appRouter,
    maxBatchSize: MAX_TRPC_BATCH_SIZE,
    // Lets a query be sent as POST (the UI does so for `sdk.evaluateContext`, whose input can be
    // larger than an address holds). It stays a query: no mutation middleware, nothing written.
    allowMethodOverride: true,
    createContext: (options) => {
      if (refusal) throw refusal;
      return createTrpcContext(options);
    },
  });
  // The security headers of every non-page answer (the Next.js proxy does not match /api/*).
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
  headers.set("content-security-policy", NON_PAGE_CSP);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
