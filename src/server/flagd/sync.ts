/**
 * flagd's HTTP sync source: `GET /api/v1/flagd/flags.json` and `GET /api/v1/flagd/diagnostics.json`.
 *
 * - Auth: a server-side key in `X-Environment-Key` or `Authorization: Bearer <key>` (what flagd's
 *   `authHeader` sends; a bare token is accepted too). 401 missing/unknown, 403 client key.
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
import { flagdSyncRequests } from "./metrics";
import { translateForFlagd, type PublishedFlagd } from "./publish";
import { TRANSLATOR_VERSION } from "./translator";

const log = getLogger("flagd");

const json = apiJson;

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
  if (!key) return { ok: false, response: json(401, { detail: "Invalid or missing Environment key" }) };
  const resolved = resolveEnvironmentKey(key);
  return resolved instanceof Promise ? resolved.then(afterKey) : afterKey(resolved);
}

function afterKey(resolved: ResolvedEnvironmentKey | null): Access | Promise<Access> {
  if (!resolved) return { ok: false, response: json(401, { detail: "Invalid or missing Environment key" }) };
  bindContext({ "environment.id": resolved.environmentId, "project.id": resolved.projectId, "organisation.id": resolved.organisationId });
  if (resolved.kind !== "server") {
    return { ok: false, response: json(403, { detail: "flagd sync needs a server-side environment key (ser.…)" }) };
  }
  const served = currentDocument(resolved.environmentId);
  return served instanceof Promise ? served.then(afterDocument) : afterDocument(served);
}

function afterDocument(served: ServedDocument | null): Access {
  if (!served) return { ok: false, response: json(503, { detail: "Environment document not yet available" }, { "retry-after": "1" }) };
  if (!served.sdkExtras.flagdEnabled) {
    return { ok: false, response: json(404, { detail: "The flagd integration is not enabled for this project" }) };
  }
  return { ok: true, served };
}

/** The served flagd artefacts of a document: as stored, or re-translated once per revision after a translator upgrade. */
export function flagdOf(served: ServedDocument): PublishedFlagd {
  const stored = served.flagd;
  if (stored && stored.translatorVersion === TRANSLATOR_VERSION) return stored as PublishedFlagd;
  return served.derived("flagd", (entry) => translateForFlagd(entry.document, { log: false }));
}

/** RFC 9110 If-None-Match: a list of (possibly weak) entity tags, or `*`. */
export function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === "*") return true;
  const bare = etag.replace(/^W\//, "");
  return header.split(",").some((candidate) => candidate.trim().replace(/^W\//, "") === bare);
}

interface SyncHttp {
  flagd: PublishedFlagd;
  /** Last-Modified, whole seconds. */
  lastModifiedMs: number;
  headers: Record<string, string>;
}

/** Response headers and validators of a revision, computed once per revision. */
function syncHttpOf(served: ServedDocument): SyncHttp {
  return served.derived("flagd:http", (entry) => {
    const flagd = flagdOf(entry);
    const lastModifiedMs = Math.floor(entry.updatedAt.getTime() / 1000) * 1000;
    return {
      flagd,
      lastModifiedMs,
      headers: {
        etag: flagd.etag,
        "last-modified": new Date(lastModifiedMs).toUTCString(),
        "cache-control": "no-cache",
        "x-flagsmith-document-updated-at": String(entry.updatedAtEpoch),
      },
    };
  });
}

function respondSync(request: ApiRequest, result: Access): ApiResponse {
  if (!result.ok) {
    flagdSyncRequests.inc({ status: String(result.response.status) });
    if (result.response.status !== 404) log.debug("sync.refused", { http__status: result.response.status });
    return result.response;
  }
  const http = syncHttpOf(result.served);
  const ifNoneMatch = request.headers.get("if-none-match");
  const ifModifiedSince = ifNoneMatch === null ? request.headers.get("if-modified-since") : null;
  const notModified =
    ifNoneMatch !== null
      ? etagMatches(ifNoneMatch, http.flagd.etag)
      : ifModifiedSince !== null && !Number.isNaN(Date.parse(ifModifiedSince)) && http.lastModifiedMs <= Date.parse(ifModifiedSince);
  if (notModified) {
    flagdSyncRequests.inc({ status: "304" });
    return apiResponse(304, http.headers);
  }
  flagdSyncRequests.inc({ status: "200" });
  return json(200, http.flagd.document, http.headers);
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
  return json(200, { environmentId: served.environmentId, revision: served.revision, etag: flagd.etag, ...(flagd.diagnostics as object) }, { "cache-control": "no-cache" });
}
