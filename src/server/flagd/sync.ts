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
import { currentDocument, resolveEnvironmentKey, type ServedDocument } from "../documents/serving";
import { bindContext } from "../observability/context";
import { getLogger } from "../observability/logger";
import { flagdSyncRequests } from "./metrics";
import { translateForFlagd, type PublishedFlagd } from "./publish";
import { TRANSLATOR_VERSION } from "./translator";

const log = getLogger("flagd");

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function keyOf(request: Request): string | null {
  const header = request.headers.get("x-environment-key");
  if (header) return header.trim();
  const authorization = request.headers.get("authorization");
  if (!authorization) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (match) return match[1];
  return /^\S+$/.test(authorization.trim()) ? authorization.trim() : null;
}

type Access = { ok: true; served: ServedDocument } | { ok: false; response: Response };

async function access(request: Request): Promise<Access> {
  const key = keyOf(request);
  const resolved = key ? await resolveEnvironmentKey(key) : null;
  if (!resolved) return { ok: false, response: json(401, { detail: "Invalid or missing Environment key" }) };
  bindContext({ "environment.id": resolved.environmentId, "project.id": resolved.projectId, "organisation.id": resolved.organisationId });
  if (resolved.kind !== "server") {
    return { ok: false, response: json(403, { detail: "flagd sync needs a server-side environment key (ser.…)" }) };
  }
  const served = await currentDocument(resolved.environmentId);
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

function httpDate(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toUTCString();
}

export async function handleFlagdSync(request: Request): Promise<Response> {
  const result = await access(request);
  if (!result.ok) {
    flagdSyncRequests.inc({ status: String(result.response.status) });
    if (result.response.status !== 404) log.debug("sync.refused", { http__status: result.response.status });
    return result.response;
  }
  const { served } = result;
  const flagd = flagdOf(served);
  const headers = {
    etag: flagd.etag,
    "last-modified": httpDate(served.updatedAt),
    "cache-control": "no-cache",
    "x-flagsmith-document-updated-at": String(served.updatedAtEpoch),
  };
  const ifNoneMatch = request.headers.get("if-none-match");
  const ifModifiedSince = request.headers.get("if-modified-since");
  const notModified =
    ifNoneMatch !== null
      ? etagMatches(ifNoneMatch, flagd.etag)
      : ifModifiedSince !== null && !Number.isNaN(Date.parse(ifModifiedSince)) && Math.floor(served.updatedAt.getTime() / 1000) * 1000 <= Date.parse(ifModifiedSince);
  if (notModified) {
    flagdSyncRequests.inc({ status: "304" });
    return new Response(null, { status: 304, headers });
  }
  flagdSyncRequests.inc({ status: "200" });
  return json(200, flagd.document, headers);
}

export async function handleFlagdDiagnostics(request: Request): Promise<Response> {
  const result = await access(request);
  if (!result.ok) return result.response;
  const { served } = result;
  const flagd = flagdOf(served);
  return json(200, { environmentId: served.environmentId, revision: served.revision, etag: flagd.etag, ...(flagd.diagnostics as object) }, { "cache-control": "no-cache" });
}
