/**
 * Conditional requests (RFC 9110 §13): `If-None-Match` against a strong ETag, `If-Modified-Since`
 * against a Last-Modified time. Shared by every protocol that serves documents (SDK API, flagd sync).
 */
import type { ApiRequest } from "./api";

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
