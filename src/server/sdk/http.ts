/**
 * HTTP plumbing of the SDK API: Flagsmith's error shapes (`{"detail": "…"}`), the
 * `X-Environment-Key` check, bounded body reading and JSON / form decoding. Never throws for bad
 * input: every refusal is a ready Response.
 */
import { apiResponse, type ApiRequest, type ApiResponse } from "../http/api";
import { settings } from "../config";
import { currentDocument, resolveEnvironmentKey, type ResolvedEnvironmentKey, type ServedDocument } from "../documents/serving";
import { bindContext } from "../observability/context";
import { getLogger } from "../observability/logger";
import { authFailures, documentsUnavailable } from "./metrics";

const log = getLogger("sdk");

export const ENVIRONMENT_KEY_HEADER = "x-environment-key";
export const UPDATED_AT_HEADER = "X-Flagsmith-Document-Updated-At";

export const INVALID_KEY = "Invalid or missing Environment key";
export const STOP_SERVING = "Organisation is disabled from serving flags.";
export const DOCUMENT_NOT_AVAILABLE = "Environment document not yet available";

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

/** Whether an `If-None-Match` list matches `etag` (weak comparison, as RFC 9110 prescribes for GET). */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === etag) return true; // what flagd and most clients send: no parsing needed
  const trimmed = ifNoneMatch.trim();
  if (trimmed === "*") return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  const wanted = opaque(etag);
  return trimmed.split(",").some((candidate) => opaque(candidate) === wanted);
}

/** Whether the document is unmodified since an `If-Modified-Since` date (false when unparsable). */
export function notModifiedSince(ifModifiedSince: string, lastModifiedMs: number): boolean {
  const since = Date.parse(ifModifiedSince);
  return Number.isFinite(since) && lastModifiedMs <= since;
}

/**
 * Conditional GET (RFC 9110 §13.2.2): `If-None-Match` against `etag` when present, otherwise
 * `If-Modified-Since` against `lastModifiedMs` (whole seconds). False without either header, so a 304
 * is never sent to a client that did not ask for one (flagsmith-nodejs treats any non-200 as an error).
 */
export function isNotModified(request: ApiRequest, etag: string, lastModifiedMs: number): boolean {
  const ifNoneMatch = request.headers.get("if-none-match");
  if (ifNoneMatch !== null) return etagMatches(ifNoneMatch, etag);
  const ifModifiedSince = request.headers.get("if-modified-since");
  return ifModifiedSince !== null && notModifiedSince(ifModifiedSince, lastModifiedMs);
}

export type Authenticated = { ok: true; key: ResolvedEnvironmentKey; served: ServedDocument } | { ok: false; response: ApiResponse };

function refuse(reason: "missing_key" | "unknown_key" | "server_key_required" | "stop_serving_flags", message: string): Authenticated {
  authFailures.inc({ reason });
  log.debug("environment_key.rejected", { reason });
  return { ok: false, response: detail(401, message) };
}

/**
 * Resolves `X-Environment-Key` (binding the environment, project and organisation ids into the
 * request context) and the environment's stored document. 401 for a missing, unknown, revoked or
 * expired key, for a client key where a server key is required, and when the organisation stopped
 * serving flags; 503 with `Retry-After: 1` while no document is stored.
 */
export function authenticate(request: ApiRequest, options: { serverKeyOnly?: boolean } = {}): Authenticated | Promise<Authenticated> {
  // Not async: with the key and document cached (the hot path) this returns synchronously.
  const raw = request.headers.get(ENVIRONMENT_KEY_HEADER);
  if (!raw) return refuse("missing_key", INVALID_KEY);
  const key = resolveEnvironmentKey(raw);
  return key instanceof Promise ? key.then((k) => afterKey(k, options)) : afterKey(key, options);
}

function afterKey(key: ResolvedEnvironmentKey | null, options: { serverKeyOnly?: boolean }): Authenticated | Promise<Authenticated> {
  if (!key) return refuse("unknown_key", INVALID_KEY);
  bindContext({ "environment.id": key.environmentId, "project.id": key.projectId, "organisation.id": key.organisationId });
  if (options.serverKeyOnly && key.kind !== "server") return refuse("server_key_required", INVALID_KEY);
  const served = currentDocument(key.environmentId);
  return served instanceof Promise ? served.then((s) => afterDocument(key, s)) : afterDocument(key, served);
}

function afterDocument(key: ResolvedEnvironmentKey, served: ServedDocument | null): Authenticated {
  if (!served) {
    documentsUnavailable.inc();
    log.debug("environment_document.unavailable", { environment__id: key.environmentId });
    return { ok: false, response: detail(503, DOCUMENT_NOT_AVAILABLE, { "retry-after": "1" }) };
  }
  if (served.document.project?.organisation?.stop_serving_flags) return refuse("stop_serving_flags", STOP_SERVING);
  return { ok: true, key, served };
}

/** `text` and `mediaType`: the body as received (`value` is a function of both). */
export type BodyResult = { ok: true; value: unknown; text: string; mediaType: string } | { ok: false; response: ApiResponse };

function invalid(message: string): BodyResult {
  log.debug("request.invalid", { reason: message.slice(0, 200) });
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
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return tooLarge();
    }
    chunks.push(value);
  }
  return decodeUtf8(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
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
      return invalid(`JSON parse error - ${(error as Error).message}`);
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
        return invalid(`${name}: JSON parse error - ${(error as Error).message}`);
      }
    } else {
      value[name] = field;
    }
  }
  return { ok: true, value, text: body.text, mediaType: type };
}
