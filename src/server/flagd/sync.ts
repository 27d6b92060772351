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
import { apiJson, apiResponse, type ApiRequest, type ApiResponse } from "../http/api";
import { currentDocument, resolveEnvironmentKey, type ResolvedEnvironmentKey, type ServedDocument } from "../documents/serving";
import { bindContext } from "../observability/context";
import { getLogger } from "../observability/logger";
import { DOCUMENT_NOT_AVAILABLE, INVALID_KEY, isNotModified, STOP_SERVING } from "../sdk/http";
import { boundCounter } from "../observability/metrics";
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

/** Hot path: cache hits return synchronously (no promise per step); misses go through the store. */
function access(request: ApiRequest): Access | Promise<Access> {
  const key = keyOf(request);
  if (!key) return { ok: false, response: apiJson(401, { detail: INVALID_KEY }) };
  const resolved = resolveEnvironmentKey(key);
  return resolved instanceof Promise ? resolved.then(afterKey) : afterKey(resolved);
}

function afterKey(resolved: ResolvedEnvironmentKey | null): Access | Promise<Access> {
  if (!resolved) return { ok: false, response: apiJson(401, { detail: INVALID_KEY }) };
  bindContext({ "environment.id": resolved.environmentId, "project.id": resolved.projectId, "organisation.id": resolved.organisationId });
  if (resolved.kind !== "server") {
    return { ok: false, response: apiJson(403, { detail: "flagd sync needs a server-side environment key (ser.…)" }) };
  }
  const served = currentDocument(resolved.environmentId);
  return served instanceof Promise ? served.then(afterDocument) : afterDocument(served);
}

function afterDocument(served: ServedDocument | null): Access {
  if (!served) return { ok: false, response: apiJson(503, { detail: DOCUMENT_NOT_AVAILABLE }, { "retry-after": "1" }) };
  if (served.document.project?.organisation?.stop_serving_flags) return { ok: false, response: apiJson(401, { detail: STOP_SERVING }) };
  if (!served.sdkExtras.flagdEnabled) {
    return { ok: false, response: apiJson(404, { detail: "The flagd integration is not enabled for this project" }) };
  }
  return { ok: true, served };
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
