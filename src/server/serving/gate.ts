/**
 * The environment-key gate: the one way any protocol (SDK API, flagd sync, and every later one)
 * gets from a request's environment key to the document it answers from.
 *
 *   key → environment (key-cache.ts) → bind `environment.id`, `project.id`, `organisation.id` into
 *   the request context → allowed key kinds → the environment's document (document-cache.ts) →
 *   the organisation's `stop_serving_flags`.
 *
 * A refusal carries its reason; each protocol turns it into its own answer (Flagsmith's
 * `{"detail": …}` 401/503, flagd's 401/403, …). Refusals are counted and logged (debug) here, once.
 *
 * Not async: with the key and the document cached (the hot path) `openEnvironment` answers
 * synchronously, without a promise per step (docs/performance.md).
 */
import { isDatabaseUnavailable } from "@/server/db/availability";
import { bindContext } from "@/server/observability/context";
import { getLogger } from "@/server/observability/logger";
import { boundCounter } from "@/server/observability/metrics";
import { clearDocumentCache, currentDocument, type ServedDocument } from "./document-cache";
import { clearKeyCache, resolveEnvironmentKey, type ResolvedEnvironmentKey } from "./key-cache";
import { stopListener } from "./listener";
import { flushSnapshot } from "./snapshot";
import { authFailures, databaseUnavailableRefusals, documentsUnavailable } from "./metrics";

const log = getLogger("serving");

export type GateRefusal = "missing_key" | "unknown_key" | "server_key_required" | "stop_serving_flags" | "document_unavailable" | "database_unavailable";

export type GateResult =
  | { ok: true; key: ResolvedEnvironmentKey; served: ServedDocument }
  | { ok: false; reason: GateRefusal };

export interface GateOptions {
  /** Only server keys (`ser.…`) may open the environment. */
  serverKeyOnly?: boolean;
}

/** Flagsmith's messages for the refusals (the SDK API sends them as `{"detail": …}`). */
export const INVALID_KEY = "Invalid or missing Environment key";
export const STOP_SERVING = "Organisation is disabled from serving flags.";
export const DOCUMENT_NOT_AVAILABLE = "Environment document not yet available";
export const DATABASE_UNAVAILABLE = "Service temporarily unavailable, try again shortly";
/** Seconds a client is asked to wait (`Retry-After`) after a 503. */
export const RETRY_AFTER_SECONDS = "1";

// Refusals are shared, immutable results: nothing is allocated to refuse a request.
const REFUSED: Readonly<Record<GateRefusal, GateResult>> = Object.freeze({
  missing_key: Object.freeze({ ok: false, reason: "missing_key" }),
  unknown_key: Object.freeze({ ok: false, reason: "unknown_key" }),
  server_key_required: Object.freeze({ ok: false, reason: "server_key_required" }),
  stop_serving_flags: Object.freeze({ ok: false, reason: "stop_serving_flags" }),
  document_unavailable: Object.freeze({ ok: false, reason: "document_unavailable" }),
  database_unavailable: Object.freeze({ ok: false, reason: "database_unavailable" }),
});

const NO_OPTIONS: GateOptions = Object.freeze({});
const authFailureCounters = {
  missing_key: boundCounter(authFailures, { reason: "missing_key" }),
  unknown_key: boundCounter(authFailures, { reason: "unknown_key" }),
  server_key_required: boundCounter(authFailures, { reason: "server_key_required" }),
  stop_serving_flags: boundCounter(authFailures, { reason: "stop_serving_flags" }),
};

function refuse(reason: Exclude<GateRefusal, "document_unavailable" | "database_unavailable">): GateResult {
  authFailureCounters[reason].inc();
  log.debug("environment_key.rejected", { reason });
  return REFUSED[reason];
}

/**
 * Opens the environment of `rawKey` (as sent: null/empty when the request carried none) for serving.
 * Refused: a missing, unknown, revoked or expired key; a client key when `serverKeyOnly`; an
 * environment with no stored document yet; an organisation that stopped serving flags.
 */
export function openEnvironment(rawKey: string | null | undefined, options: GateOptions = NO_OPTIONS): GateResult | Promise<GateResult> {
  if (!rawKey) return refuse("missing_key");
  const key = resolveEnvironmentKey(rawKey);
  return key instanceof Promise ? key.then((resolved) => afterKey(resolved, options), unavailable) : afterKey(key, options);
}

function afterKey(key: ResolvedEnvironmentKey | null, options: GateOptions): GateResult | Promise<GateResult> {
  if (!key) return refuse("unknown_key");
  bindContext({ "environment.id": key.environmentId, "project.id": key.projectId, "organisation.id": key.organisationId });
  if (options.serverKeyOnly && key.kind !== "server") return refuse("server_key_required");
  const served = currentDocument(key.environmentId);
  return served instanceof Promise ? served.then((document) => afterDocument(key, document), unavailable) : afterDocument(key, served);
}

/** A key or document this process has never read, while the database cannot answer (and no snapshot has it). */
function unavailable(error: unknown): GateResult {
  if (!isDatabaseUnavailable(error)) throw error;
  databaseUnavailableRefusals.inc();
  log.debug("environment.unreadable", { reason: "database_unavailable" });
  return REFUSED.database_unavailable;
}

function afterDocument(key: ResolvedEnvironmentKey, served: ServedDocument | null): GateResult {
  if (!served) {
    documentsUnavailable.inc();
    log.debug("environment_document.unavailable", { environment__id: key.environmentId });
    return REFUSED.document_unavailable;
  }
  if (served.document.project?.organisation?.stop_serving_flags) return refuse("stop_serving_flags");
  return { ok: true, key, served };
}

/** Tests and shutdown: closes the change listener and forgets every cached key and document. */
export async function stopServing(): Promise<void> {
  await stopListener();
  await flushSnapshot();
  clearKeyCache();
  clearDocumentCache();
}
