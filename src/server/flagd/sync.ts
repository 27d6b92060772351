/**
 * flagd's HTTP sync source: `GET /api/v1/flagd/flags.json` and `GET /api/v1/flagd/diagnostics.json`.
 *
 * - Auth: a server-side key in `X-Environment-Key` or `Authorization: Bearer <key>` (what flagd's
 *   `authHeader` sends; a bare token is accepted too). 401 missing/unknown, 403 client key, 401 when
 *   the organisation stopped serving flags (as the SDK API and Flagsmith's draft plugin).
 * - 404 when the project's flagd integration is off (after auth, so "off" is not a probe for keys).
 * - The body is the flagd document the worker stored with the environment document (same
 *   snapshot), served byte for byte; `ETag` is a hash of those bytes, so it changes exactly when the
 *   content does. `If-None-Match` (or, without it, `If-Modified-Since`) → 304 without building
 *   anything. `Last-Modified` is the environment's `updated_at`, which moves with every change and
 *   when a scheduled change goes live.
 * - Documents stored by an older translator version are translated again once per revision.
 */
import { apiJson, apiResponse, type ApiRequest, type ApiResponse } from "@/server/http/api";
import { isNotModified } from "@/server/http/conditional";
import { getLogger } from "@/server/observability/logger";
import { boundCounter } from "@/server/observability/metrics";
import type { ServedDocument } from "@/server/serving/document-cache";
import { DATABASE_UNAVAILABLE, DOCUMENT_NOT_AVAILABLE, INVALID_KEY, openEnvironment, RETRY_AFTER_SECONDS, STOP_SERVING, type GateOptions, type GateRefusal, type GateResult } from "@/server/serving/gate";
import { flagdSyncRequests } from "./metrics";
import { translateForFlagd, type PublishedFlagd } from "./publish";
import { TRANSLATOR_VERSION } from "./translator";

// Counted on every conditional poll that changes nothing (metrics.ts: bound once).
const notModifiedAnswers = boundCounter(flagdSyncRequests, { status: "304" });

const log = getLogger("flagd");

function keyOf(request: ApiRequest): string | null {
  const header = request.headers.get("x-environment-key");
  if (header) return header.trim();
  const authorization = request.headers.get("authorization");
  if (!authorization) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (match) return match[1];
  return /^\S+$/.test(authorization.trim()) ? authorization.trim() : null;
}

type Access = { ok: true; served: ServedDocument } | { ok: false; response: ApiResponse };

const REFUSALS: Readonly<Record<GateRefusal, Access>> = {
  missing_key: { ok: false, response: apiJson(401, { detail: INVALID_KEY }) },
  unknown_key: { ok: false, response: apiJson(401, { detail: INVALID_KEY }) },
  server_key_required: { ok: false, response: apiJson(403, { detail: "flagd sync needs a server-side environment key (ser.…)" }) },
  stop_serving_flags: { ok: false, response: apiJson(401, { detail: STOP_SERVING }) },
  document_unavailable: { ok: false, response: apiJson(503, { detail: DOCUMENT_NOT_AVAILABLE }, { "retry-after": RETRY_AFTER_SECONDS }) },
  database_unavailable: { ok: false, response: apiJson(503, { detail: DATABASE_UNAVAILABLE }, { "retry-after": RETRY_AFTER_SECONDS }) },
};
const INTEGRATION_OFF: Access = { ok: false, response: apiJson(404, { detail: "The flagd integration is not enabled for this project" }) };
const SERVER_KEY_ONLY: GateOptions = Object.freeze({ serverKeyOnly: true });

function afterGate(result: GateResult): Access {
  if (!result.ok) return REFUSALS[result.reason];
  // After the key check, so that "off" is not a probe for keys.
  if (!result.served.sdkExtras.flagdEnabled) return INTEGRATION_OFF;
  return result;
}

/** The environment-key gate (serving/gate.ts) with flagd's answers. Hot path: synchronous when cached. */
function access(request: ApiRequest): Access | Promise<Access> {
  const result = openEnvironment(keyOf(request), SERVER_KEY_ONLY);
  return result instanceof Promise ? result.then(afterGate) : afterGate(result);
}

/** The served flagd artefacts of a document: as stored, or re-translated once per revision after a translator upgrade. */
export function flagdOf(served: ServedDocument): PublishedFlagd {
  const stored = served.flagd;
  if (stored && stored.translatorVersion === TRANSLATOR_VERSION) return stored as PublishedFlagd;
  return served.derived("flagd", (entry) => translateForFlagd(entry.document, { log: false }));
}

interface SyncHttp {
  flagd: PublishedFlagd;
  /** Last-Modified, whole seconds. */
  lastModifiedMs: number;
  /** Headers of a 304 (validators); shared, never mutated. */
  headers: Readonly<Record<string, string>>;
  /** Headers of a 200 (the same plus the content type); shared, never mutated. */
  okHeaders: Readonly<Record<string, string>>;
}

/** Response headers and validators of a revision, computed once per revision. */
function syncHttpOf(served: ServedDocument): SyncHttp {
  return served.derived("flagd:http", (entry) => {
    const flagd = flagdOf(entry);
    const lastModifiedMs = Math.floor(entry.updatedAt.getTime() / 1000) * 1000;
    const headers = Object.freeze({
      etag: flagd.etag,
      "last-modified": new Date(lastModifiedMs).toUTCString(),
      "cache-control": "no-cache",
      "x-flagsmith-document-updated-at": String(entry.updatedAtEpoch),
    });
    return { flagd, lastModifiedMs, headers, okHeaders: Object.freeze({ "content-type": "application/json", ...headers }) };
  });
}

/** The document's bytes, encoded once per revision (on its first 200), not per response. */
function syncBodyOf(served: ServedDocument): Uint8Array {
  return served.derived("flagd:body", (entry) => Buffer.from(syncHttpOf(entry).flagd.document));
}

function respondSync(request: ApiRequest, result: Access): ApiResponse {
  if (!result.ok) {
    flagdSyncRequests.inc({ status: String(result.response.status) });
    if (result.response.status !== 404) log.debug("sync.refused", { http__status: result.response.status });
    return result.response;
  }
  const http = syncHttpOf(result.served);
  if (isNotModified(request, http.flagd.etag, http.lastModifiedMs)) {
    notModifiedAnswers.inc();
    return apiResponse(304, http.headers);
  }
  flagdSyncRequests.inc({ status: "200" });
  return apiResponse(200, http.okHeaders, syncBodyOf(result.served));
}

export function handleFlagdSync(request: ApiRequest): ApiResponse | Promise<ApiResponse> {
  const result = access(request);
  return result instanceof Promise ? result.then((r) => respondSync(request, r)) : respondSync(request, result);
}

export async function handleFlagdDiagnostics(request: ApiRequest): Promise<ApiResponse> {
  const result = await access(request);
  if (!result.ok) return result.response;
  const { served } = result;
  const flagd = flagdOf(served);
  return apiJson(200, { environmentId: served.environmentId, revision: served.revision, etag: flagd.etag, ...(flagd.diagnostics as object) }, { "cache-control": "no-cache" });
}
