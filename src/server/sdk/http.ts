/**
 * HTTP plumbing of the SDK API: Flagsmith's error shapes (`{"detail": "…"}`), the
 * `X-Environment-Key` check (through the environment-key gate), bounded body reading and JSON / form
 * decoding. Never throws for bad input: every refusal is a ready Response.
 */
import { settings } from "@/server/config";
import { apiResponse, type ApiRequest, type ApiResponse } from "@/server/http/api";
import { readChunksWithin } from "@/server/http/body";
import { getLogger } from "@/server/observability/logger";
import type { ServedDocument } from "@/server/serving/document-cache";
import { DATABASE_UNAVAILABLE, DOCUMENT_NOT_AVAILABLE, INVALID_KEY, openEnvironment, RETRY_AFTER_SECONDS, STOP_SERVING, type GateOptions, type GateResult, type GateRefusal } from "@/server/serving/gate";
import type { ResolvedEnvironmentKey } from "@/server/serving/key-cache";

const log = getLogger("sdk");

export const ENVIRONMENT_KEY_HEADER = "x-environment-key";
export const UPDATED_AT_HEADER = "X-Flagsmith-Document-Updated-At";


const JSON_TYPE = "application/json";

/**
 * CORS: browser SDKs (flagsmith-js) call the SDK API cross-origin with `X-Environment-Key`; like
 * Flagsmith (django-cors-headers, all origins), every response allows any origin. No cookies are
 * involved, so `*` is safe.
 */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers": `${UPDATED_AT_HEADER}, ETag, Last-Modified, Retry-After`,
};

/** The answer to a CORS preflight (`OPTIONS`): the requested headers and the SDK methods are allowed. */
export function preflight(request: ApiRequest): ApiResponse {
  const requested = request.headers.get("access-control-request-headers");
  const allowHeaders = requested && requested.length <= 1000 && /^[\w\s,-]*$/.test(requested) ? requested : "x-environment-key, content-type";
  return apiResponse(204, {
      ...CORS_HEADERS,
      "access-control-allow-methods": "GET, POST, OPTIONS",
      "access-control-allow-headers": allowHeaders,
      "access-control-max-age": "86400",
      vary: "Access-Control-Request-Headers",
  });
}

export function jsonBody(body: string | Uint8Array, status = 200, headers: Record<string, string> = {}): ApiResponse {
  // A Uint8Array body is sent as is (pre-encoded per revision).
  return apiResponse(status, { "content-type": JSON_TYPE, ...CORS_HEADERS, ...headers }, body);
}

export function detail(status: number, message: string, headers: Record<string, string> = {}): ApiResponse {
  return jsonBody(JSON.stringify({ detail: message }), status, headers);
}

/** Headers every successful SDK response carries. */
export function documentHeaders(served: ServedDocument): Record<string, string> {
  return { [UPDATED_AT_HEADER]: String(served.updatedAtEpoch) };
}

/**
 * The complete headers of a 200 JSON response for this revision (content type, CORS, updated-at),
 * built once per revision and shared by every request: never mutate (frozen).
 */
export function okJsonHeaders(served: ServedDocument): Readonly<Record<string, string>> {
  return served.derived("sdk.ok_json_headers", (entry) => Object.freeze({ "content-type": JSON_TYPE, ...CORS_HEADERS, ...documentHeaders(entry) }));
}

const AUTH_REFUSALS: Readonly<Record<GateRefusal, ApiResponse>> = {
  missing_key: detail(401, INVALID_KEY),
  unknown_key: detail(401, INVALID_KEY),
  server_key_required: detail(401, INVALID_KEY),
  stop_serving_flags: detail(401, STOP_SERVING),
  document_unavailable: detail(503, DOCUMENT_NOT_AVAILABLE, { "retry-after": RETRY_AFTER_SECONDS }),
  database_unavailable: detail(503, DATABASE_UNAVAILABLE, { "retry-after": RETRY_AFTER_SECONDS }),
};

export type Authenticated = { ok: true; key: ResolvedEnvironmentKey; served: ServedDocument } | { ok: false; response: ApiResponse };

function answer(result: GateResult): Authenticated {
  return result.ok ? result : { ok: false, response: AUTH_REFUSALS[result.reason] };
}

const SERVER_KEY_ONLY: GateOptions = Object.freeze({ serverKeyOnly: true });

/**
 * `X-Environment-Key` through the environment-key gate (serving/gate.ts), with Flagsmith's answers:
 * 401 for a missing, unknown, revoked or expired key, for a client key where a server key is
 * required, and when the organisation stopped serving flags; 503 with `Retry-After: 1` while no
 * document is stored. Not async: synchronous on the hot path.
 */
export function authenticate(request: ApiRequest, options: { serverKeyOnly?: boolean } = {}): Authenticated | Promise<Authenticated> {
  const result = openEnvironment(request.headers.get(ENVIRONMENT_KEY_HEADER), options.serverKeyOnly ? SERVER_KEY_ONLY : undefined);
  return result instanceof Promise ? result.then(answer) : answer(result);
}

/** `text` and `mediaType`: the body as received (`value` is a function of both). */
export type BodyResult = { ok: true; value: unknown; text: string; mediaType: string } | { ok: false; response: ApiResponse };

/** A 400 with `message`; the log line gets `reason`, which never quotes the request (a parser's message may). */
function invalid(message: string, reason: string = message): BodyResult {
  log.debug("request.invalid", { reason: reason.slice(0, 200) });
  return { ok: false, response: detail(400, message) };
}

// Not streaming: one decoder serves every request.
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads at most `maxBytes` of the body (413 beyond), decoded as UTF-8 (400 when not valid UTF-8). */
export async function readBodyText(request: ApiRequest, maxBytes = settings().sdkMaxBodyBytes): Promise<{ ok: true; text: string } | { ok: false; response: ApiResponse }> {
  const tooLarge = (): { ok: false; response: ApiResponse } => {
    log.debug("request.invalid", { reason: "body_too_large" });
    return { ok: false, response: detail(413, `Request body exceeds ${maxBytes} bytes.`) };
  };
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) return tooLarge();
  if (!request.body) return { ok: true, text: "" };
  if (request.body.readAll) {
    const whole = await request.body.readAll(maxBytes);
    if (whole === null) return tooLarge();
    return decodeUtf8(whole);
  }
  const bytes = await readChunksWithin(request.body.getReader(), maxBytes);
  return bytes === null ? tooLarge() : decodeUtf8(bytes);
}

function decodeUtf8(bytes: Uint8Array): { ok: true; text: string } | { ok: false; response: ApiResponse } {
  try {
    return { ok: true, text: utf8.decode(bytes) };
  } catch {
    return { ok: false, response: detail(400, "Request body is not valid UTF-8.") };
  }
}

function mediaType(request: ApiRequest): string {
  return (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

/**
 * The request body as a value: JSON (no content type, `application/json` or `+json`; an empty body
 * is `{}`), or the fields of a form (`application/x-www-form-urlencoded`, `multipart/form-data`;
 * `jsonFields` are decoded as JSON, e.g. `traits`). 400 for malformed JSON, 413 beyond
 * `sdkMaxBodyBytes`, 415 for other media types.
 */
export async function readBody(request: ApiRequest, options: { jsonFields?: readonly string[] } = {}): Promise<BodyResult> {
  const type = mediaType(request);
  const isJson = type === "" || type === "application/json" || type.endsWith("+json") || type === "text/plain";
  const isForm = type === "application/x-www-form-urlencoded" || type === "multipart/form-data";
  if (!isJson && !isForm) {
    return { ok: false, response: detail(415, `Unsupported media type "${type.slice(0, 100)}" in request.`) };
  }
  const body = await readBodyText(request);
  if (!body.ok) return body;
  if (isJson) {
    if (body.text.trim() === "") return { ok: true, value: {}, text: body.text, mediaType: type };
    try {
      return { ok: true, value: JSON.parse(body.text) as unknown, text: body.text, mediaType: type };
    } catch (error) {
      return invalid(`JSON parse error - ${(error as Error).message}`, "JSON parse error");
    }
  }
  let form: FormData;
  try {
    form = await new Response(body.text, { headers: { "content-type": request.headers.get("content-type") ?? type } }).formData();
  } catch {
    return invalid("Malformed form data.");
  }
  const value: Record<string, unknown> = {};
  for (const [name, field] of form.entries()) {
    if (typeof field !== "string") continue;
    if (options.jsonFields?.includes(name)) {
      try {
        value[name] = JSON.parse(field) as unknown;
      } catch (error) {
        return invalid(`${name}: JSON parse error - ${(error as Error).message}`, `${name}: JSON parse error`);
      }
    } else {
      value[name] = field;
    }
  }
  return { ok: true, value, text: body.text, mediaType: type };
}
