/**
 * The revision-checked document cache: what every protocol (SDK API, flagd sync) reads. Nothing
 * here builds a document; everything comes from `environment_documents` (written by the worker, see
 * publishing/ and documents/store.ts).
 *
 * `currentDocument(environmentId)`: the stored document as a cached, immutable entry keyed by
 * revision.
 *
 * Last-good serving: once this process holds a document for an environment it answers from it,
 * whatever the database does. A check that is due runs in the background (stale-while-revalidate):
 * no request of a cached environment waits on the database, and concurrent requests never queue
 * behind a check. While checks fail, the last good document keeps being served, and the process
 * says so: `document_cache.stale_started` / `stale_ended` (once each, not per request), the gauge
 * `flagsmith_sdk_document_staleness_seconds`, and readiness (health.ts) reports degraded.
 *
 * Freshness while the database is there:
 *   - the change listener (listener.ts) delivers `environment_documents` notifications
 *     (store.ts NOTIFYs `<environment id>:<revision>` after every stored write). While it is
 *     connected, a cached entry is trusted without touching the database, and a notification
 *     reloads the entry in the background, so a new document is served as soon as it is parsed;
 *   - while it is not connected (startup, database restart; it reconnects with backoff), an entry
 *     is checked every `documentRevisionCheckMs` (a cheap revision query), in the background;
 *   - on every (re)connect, every cached environment is checked once (notifications may have been
 *     missed), and as a safety net even a trusted entry is checked every TRUSTED_MAX_AGE_MS.
 * An environment this process has never read is read at once (bounded by the pool's timeouts;
 * concurrent requests share the read); when the database cannot answer, from the on-disk snapshot
 * (snapshot.ts) if there is one, else the error reaches the gate (503). An environment without a
 * stored document yields null (the protocols answer 503).
 *
 * Bounded (DOCUMENT_CACHE_MAX_ENTRIES environments): the least recently used goes first (a hit
 * refreshes its place at most once per TOUCH_INTERVAL_MS: lru.ts), and never one that is pinned
 * (`pinDocument`) by an open stream (event streams, gRPC sync): a stream follows its environment's
 * notifications, which an evicted environment no longer gets. When every cached environment is
 * pinned the cache grows past its bound (streams are bounded per process).
 *
 * `entry.derived(key, compute)`: memoises data derived from one revision (engine contexts,
 * pre-serialised responses, flagd artefacts). `compute` runs at most once per entry and key; the
 * result must be treated as immutable. Entries are replaced (never mutated) when the revision
 * changes, so derived data can never outlive its revision.
 *
 * One cache per process (a process slot: singleton.ts).
 */
import { settings } from "@/server/config";
import { DatabaseUnavailableError, databaseDownSince, isDatabaseDown, reportDatabaseError, watchDatabase } from "@/server/db/availability";
import { getDb } from "@/server/db/client";
import { DOCUMENT_CHANNEL, readStoredDocument, storedRevision } from "@/server/documents/store";
import type { SdkExtras } from "@/server/documents/types";
import type { EnvironmentDocument } from "@/server/engine/document";
import { getLogger } from "@/server/observability/logger";
import { boundCounter, gauge } from "@/server/observability/metrics";
import { processSlot } from "@/server/singleton";
import { documentChanged } from "./changes";
import { ensureListener, listeningGeneration, subscribe } from "./listener";
import { oldestWhere, touchIfDue } from "./lru";
import { documentCacheLookups, documentNotifications } from "./metrics";
import { readSnapshotDocument, snapshotDocument, type SnapshotDocument } from "./snapshot";

const log = getLogger("serving");

export interface FlagdArtefacts {
  /** The flagd flag-definition document, bytes as served. */
  document: string;
  /** Its strong ETag (quoted). */
  etag: string;
  diagnostics: unknown;
  translatorVersion: string;
}

export interface ServedDocument {
  environmentId: number;
  /** `environments.revision` the document was built from. */
  revision: number;
  /** The Flagsmith environment document, exactly as stored (served verbatim by /environment-document/). */
  text: string;
  /** `text`, parsed (shared: never mutate). */
  document: EnvironmentDocument;
  sdkExtras: SdkExtras;
  /** The environment's `updated_at` at this revision (Last-Modified). */
  updatedAt: Date;
  /** The same as Unix seconds with microseconds (`X-Flagsmith-Document-Updated-At`). */
  updatedAtEpoch: number;
  flagd: FlagdArtefacts | null;
  /** Memoised per-revision derived data; `compute` runs at most once per key for this entry. */
  derived<T>(key: string, compute: (entry: ServedDocument) => T): T;
}

/** Most environments one process caches documents of (unless pinned by streams); the least recently used go first. */
export const DOCUMENT_CACHE_MAX_ENTRIES = 2_000;
/** Even while LISTENing, revalidate a cached document at least this often (lost-notification safety net). */
export const TRUSTED_MAX_AGE_MS = 30_000;
/** After a failed check, the next one for that environment waits this long. */
export const RETRY_AFTER_FAILURE_MS = 1_000;
/** Checks run at once after a reconnect, at most this many at a time. */
const RECONNECT_CHECK_CONCURRENCY = 4;

interface DocumentSlot {
  /** null = no document stored (as of the last read). */
  entry: ServedDocument | null;
  /** Whether `entry` reflects a read (of the database or the snapshot); false while the first read runs. */
  loaded: boolean;
  /** When the database last confirmed the slot (ms; 0 = never, e.g. read from the snapshot). */
  checkedAt: number;
  /** Since when it could not be confirmed (ms): the start of its first failed check, or when the snapshot holding it was written. */
  unconfirmedSince: number;
  /** Listener generation the slot was confirmed under (trusted only while that generation is connected). */
  generation: number;
  /** In-flight load or check, shared by concurrent callers. */
  pending: Promise<ServedDocument | null> | null;
  /** No background check before this (ms), after a failed one. */
  retryAt: number;
  /** Its last check failed: it is served as last-good. */
  stale: boolean;
  /** When it last moved to the young end of the cache (ms). */
  touchedAt: number;
}

interface DocumentCacheState {
  documents: Map<number, DocumentSlot>;
  /** Highest revision announced per environment (guards against a load racing a notification). */
  notified: Map<number, number>;
  /** Environments served as last-good (their last check failed). */
  staleEnvironments: Set<number>;
  /** When serving stale started (ms), or null. */
  staleSince: number | null;
  /** Environments with open streams (pinDocument) → how many: never evicted. */
  pins: Map<number, number>;
}

const processState = processSlot<DocumentCacheState>("documentCache");

function state(): DocumentCacheState {
  return processState.getOrCreate(createState);
}

function createState(): DocumentCacheState {
  const created: DocumentCacheState = { documents: new Map(), notified: new Map(), staleEnvironments: new Set(), staleSince: null, pins: new Map() };
  subscribe(DOCUMENT_CHANNEL, "document-cache", {
    notify: onNotification,
    connected: () => checkAll(created),
    stopped: clearDocumentCache,
  });
  watchDatabase("document-cache", (down) => {
    if (down) {
      // Nothing can be confirmed any more: every cached document is served as last-good.
      const now = Date.now();
      for (const [environmentId, slot] of created.documents) {
        if (!slot.entry || slot.stale) continue;
        slot.stale = true;
        slot.unconfirmedSince = now;
        markStale(created, environmentId, "database_unavailable");
      }
    } else {
      checkAll(created);
    }
  });
  return created;
}

// The cache hits counted on every warm request, bound once (metrics.ts).
const documentCacheHits = boundCounter(documentCacheLookups, { result: "hit" });
const documentCacheMissing = boundCounter(documentCacheLookups, { result: "missing" });

/**
 * How long this process has served documents it cannot confirm (seconds): since the oldest failed
 * check of a document it still serves (or the snapshot it came from was written), and at least since
 * the database became unreachable; 0 while every document is confirmed.
 */
export function stalenessSeconds(now = Date.now()): number {
  const current = processState.get();
  if (!current) return 0;
  let oldest = Number.POSITIVE_INFINITY;
  for (const environmentId of current.staleEnvironments) {
    const slot = current.documents.get(environmentId);
    if (slot?.entry) oldest = Math.min(oldest, slot.unconfirmedSince);
  }
  const downSince = databaseDownSince();
  if (downSince !== null && cachedDocumentCount() > 0) oldest = Math.min(oldest, downSince);
  return Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : 0;
}

/** Whether this process serves any document it could not confirm at its last check. */
export function isServingStale(): boolean {
  return (processState.get()?.staleEnvironments.size ?? 0) > 0;
}

/** Whether this process holds a document for the environment (the key cache keeps the keys of those longest). */
export function hasCachedDocument(environmentId: number): boolean {
  return (processState.get()?.documents.get(environmentId)?.entry ?? null) !== null;
}

/** How many environments this process holds documents for. */
export function cachedDocumentCount(): number {
  let count = 0;
  for (const slot of processState.get()?.documents.values() ?? []) if (slot.entry) count++;
  return count;
}

gauge(
  "flagsmith_sdk_document_staleness_seconds",
  "Age of the oldest environment document this web process serves as last-good: seconds since the database last confirmed it, while its checks fail or the database is unreachable; 0 while every document is confirmed.",
  [],
  (metric) => metric.set(stalenessSeconds()),
);

type StoredRow = Omit<NonNullable<Awaited<ReturnType<typeof readStoredDocument>>>, "writtenAt" | "bytes" | "featureStatesCount">;

function toServedDocument(row: StoredRow): ServedDocument {
  const derivedValues = new Map<string, unknown>();
  const sdkExtras = row.sdkExtras as SdkExtras;
  const updatedAt = row.environmentUpdatedAt;
  const entry: ServedDocument = {
    environmentId: row.environmentId,
    revision: row.revision,
    text: row.document,
    document: JSON.parse(row.document) as EnvironmentDocument,
    sdkExtras,
    updatedAt,
    updatedAtEpoch: typeof sdkExtras?.updatedAtEpoch === "number" ? sdkExtras.updatedAtEpoch : updatedAt.getTime() / 1000,
    flagd:
      row.flagdDocument !== null && row.flagdEtag !== null
        ? { document: row.flagdDocument, etag: row.flagdEtag, diagnostics: row.flagdDiagnostics, translatorVersion: row.translatorVersion ?? "" }
        : null,
    derived<T>(key: string, compute: (self: ServedDocument) => T): T {
      if (derivedValues.has(key)) return derivedValues.get(key) as T;
      const value = compute(entry);
      derivedValues.set(key, value);
      return value;
    },
  };
  return entry;
}

function fromSnapshotRow(snapshot: SnapshotDocument): ServedDocument {
  return toServedDocument({
    environmentId: snapshot.environmentId,
    revision: snapshot.revision,
    document: snapshot.document,
    sdkExtras: snapshot.sdkExtras,
    environmentUpdatedAt: new Date(snapshot.environmentUpdatedAt),
    flagdDocument: snapshot.flagdDocument,
    flagdEtag: snapshot.flagdEtag,
    flagdDiagnostics: snapshot.flagdDiagnostics,
    translatorVersion: snapshot.translatorVersion,
  });
}

function isFresh(slot: DocumentSlot, now: number, generation: number): boolean {
  const age = now - slot.checkedAt;
  if (generation >= 0 && slot.generation === generation) return age < TRUSTED_MAX_AGE_MS;
  return age < settings().documentRevisionCheckMs;
}

function newSlot(): DocumentSlot {
  return { entry: null, loaded: false, checkedAt: 0, unconfirmedSince: 0, generation: -1, pending: null, retryAt: 0, stale: false, touchedAt: Date.now() };
}

function slotOf(current: DocumentCacheState, environmentId: number): DocumentSlot {
  const documents = current.documents;
  let slot = documents.get(environmentId);
  if (slot) return slot;
  while (documents.size >= DOCUMENT_CACHE_MAX_ENTRIES) {
    // The least recently used environment without open streams.
    const victim = oldestWhere(documents, (_slot, id) => !current.pins.has(id));
    if (victim === undefined) break;
    documents.delete(victim);
    current.notified.delete(victim);
    markFresh(current, victim);
  }
  documents.set(environmentId, (slot = newSlot()));
  return slot;
}

function markStale(current: DocumentCacheState, environmentId: number, reason: "check_failed" | "database_unavailable" | "snapshot", error?: unknown): void {
  if (current.staleEnvironments.has(environmentId)) return;
  current.staleEnvironments.add(environmentId);
  if (current.staleSince === null) {
    current.staleSince = Date.now();
    log.warn("document_cache.stale_started", { environment__id: environmentId, environments__count: cachedDocumentCount(), reason, error });
  }
}

function markFresh(current: DocumentCacheState, environmentId: number): void {
  if (!current.staleEnvironments.delete(environmentId) || current.staleEnvironments.size > 0 || current.staleSince === null) return;
  const seconds = (Date.now() - current.staleSince) / 1000;
  current.staleSince = null;
  log.info("document_cache.stale_ended", { stale__seconds: Math.round(seconds * 10) / 10 });
}

/** Reads the store for `environmentId`: a revision check when `previous` may still be current, else a load. */
async function readSlot(environmentId: number, previous: ServedDocument | null): Promise<ServedDocument | null> {
  const announced = state().notified.get(environmentId) ?? 0;
  if (previous && previous.revision >= announced) {
    const revision = await storedRevision(getDb(), environmentId);
    if (revision === previous.revision) {
      documentCacheLookups.inc({ result: "revalidated" });
      return previous;
    }
  }
  const row = await readStoredDocument(getDb(), environmentId);
  documentCacheLookups.inc({ result: row ? "loaded" : "missing" });
  if (!row) return null;
  snapshotDocument({
    environmentId: row.environmentId,
    revision: row.revision,
    document: row.document,
    sdkExtras: row.sdkExtras as SdkExtras,
    environmentUpdatedAt: row.environmentUpdatedAt.toISOString(),
    flagdDocument: row.flagdDocument,
    flagdEtag: row.flagdEtag,
    flagdDiagnostics: row.flagdDiagnostics,
    translatorVersion: row.translatorVersion,
  });
  return toServedDocument(row);
}

/**
 * Loads (or checks) the slot of `environmentId`; concurrent callers share the returned promise. On
 * failure the slot keeps what it had (last-good), is marked stale, and the error propagates to the
 * caller (a cold read, or the background check that swallows it).
 */
function refresh(current: DocumentCacheState, environmentId: number, slot: DocumentSlot): Promise<ServedDocument | null> {
  // Trusted under the listener generation that was connected when the read started: any
  // notification sent after that point reaches us (and is checked below).
  const trustedGeneration = listeningGeneration();
  const started = Date.now();
  const previous = slot.entry;
  const promise: Promise<ServedDocument | null> = readSlot(environmentId, previous).then(
    (entry) => {
      if (current.documents.get(environmentId) !== slot) return entry; // evicted or cleared meanwhile
      // A notification for a newer revision may have arrived while we were reading: keep the result
      // but do not trust it (checkedAt 0), so that the next request checks again.
      const announced = current.notified.get(environmentId) ?? 0;
      const behind = entry ? entry.revision < announced : announced > 0;
      const now = Date.now();
      slot.entry = entry;
      slot.loaded = true;
      slot.checkedAt = behind ? 0 : now;
      slot.generation = trustedGeneration;
      slot.pending = null;
      slot.retryAt = 0;
      slot.stale = false;
      markFresh(current, environmentId);
      if (entry && previous && entry.revision > previous.revision) documentChanged({ environmentId, previousRevision: previous.revision, served: entry });
      return entry;
    },
    (error: unknown) => {
      if (slot.pending === promise) slot.pending = null;
      slot.retryAt = Date.now() + RETRY_AFTER_FAILURE_MS;
      reportDatabaseError(error);
      if (slot.entry) {
        if (!slot.stale) slot.unconfirmedSince = started;
        slot.stale = true;
        markStale(current, environmentId, "check_failed", error);
      }
      throw error;
    },
  );
  slot.pending = promise;
  return promise;
}

function checkInBackground(current: DocumentCacheState, environmentId: number, slot: DocumentSlot): void {
  refresh(current, environmentId, slot).catch((error: unknown) => {
    log.debug("document_cache.check_failed", { environment__id: environmentId, error });
  });
}

/** A first read: the database, else (unreachable) the snapshot, else the database's error. */
function coldRead(current: DocumentCacheState, environmentId: number, slot: DocumentSlot): Promise<ServedDocument | null> {
  const fromSnapshot = async (error: unknown): Promise<ServedDocument | null> => {
    const snapshot = await readSnapshotDocument(environmentId);
    if (!snapshot || slot.loaded || current.documents.get(environmentId) !== slot) throw error;
    documentCacheLookups.inc({ result: "snapshot" });
    slot.entry = fromSnapshotRow(snapshot);
    slot.loaded = true;
    slot.checkedAt = 0;
    slot.unconfirmedSince = snapshot.writtenAt || Date.now();
    slot.generation = -1;
    slot.retryAt = Date.now() + RETRY_AFTER_FAILURE_MS;
    slot.stale = true;
    markStale(current, environmentId, "snapshot", error);
    return slot.entry;
  };
  if (isDatabaseDown()) {
    const promise = fromSnapshot(new DatabaseUnavailableError()).finally(() => {
      if (slot.pending === promise) slot.pending = null;
    });
    slot.pending = promise;
    return promise;
  }
  return refresh(current, environmentId, slot).catch(fromSnapshot);
}

/**
 * The stored document of the environment (null when none is stored yet). Once read, the answer is
 * synchronous (checks run in the background); see the module comment. Not async: the hot path
 * allocates no promise.
 */
export function currentDocument(environmentId: number): ServedDocument | null | Promise<ServedDocument | null> {
  const current = state();
  ensureListener();
  const slot = current.documents.get(environmentId);
  if (slot !== undefined && slot.loaded) {
    const entry = slot.entry;
    if (entry === null) {
      // Nothing stored at the last read: it may be being created, so a due check is awaited.
      if (slot.pending) return slot.pending;
      if (!isFresh(slot, Date.now(), listeningGeneration()) && !isDatabaseDown()) return refresh(current, environmentId, slot).catch(() => null);
      documentCacheMissing.inc();
      return null;
    }
    const now = Date.now();
    touchIfDue(current.documents, environmentId, slot, now);
    if (slot.pending === null && now >= slot.retryAt && !isFresh(slot, now, listeningGeneration()) && !isDatabaseDown()) checkInBackground(current, environmentId, slot);
    documentCacheHits.inc();
    return entry;
  }
  if (slot?.pending) return slot.pending;
  return coldRead(current, environmentId, slot ?? slotOf(current, environmentId));
}

/**
 * Keeps the environment in the cache while a stream pushes its changes (the hub's event streams,
 * gRPC sync streams): a pinned environment is never evicted, so its notifications keep being
 * followed. Returns the release (idempotent); pins are counted. An environment pinned while not
 * cached (evicted between the stream's gate check and its start) is read again.
 */
export function pinDocument(environmentId: number): () => void {
  const current = state();
  current.pins.set(environmentId, (current.pins.get(environmentId) ?? 0) + 1);
  if (!current.documents.has(environmentId)) {
    ensureListener();
    coldRead(current, environmentId, slotOf(current, environmentId)).catch(() => undefined);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (current.pins.get(environmentId) ?? 1) - 1;
    if (left > 0) current.pins.set(environmentId, left);
    else current.pins.delete(environmentId);
  };
}

/** A store check for a newer revision (documentAtLeast) runs at most this often per environment. */
export const AT_LEAST_CHECK_INTERVAL_MS = 50;

/**
 * The environment's document at `revision` or newer, for a client that learnt of that revision
 * elsewhere (a stream notification sent by another web process, which got the change's
 * notification first): the cached entry when it is that recent, else one check of the store
 * (shared with any read in flight, at most one per AT_LEAST_CHECK_INTERVAL_MS). What this process
 * serves when the store has nothing newer or cannot be reached (last-good).
 */
export async function documentAtLeast(environmentId: number, revision: number): Promise<ServedDocument | null> {
  const current = state();
  const slot = current.documents.get(environmentId);
  if (!slot || !slot.loaded) return currentDocument(environmentId);
  try {
    if (slot.entry && slot.entry.revision >= revision) return slot.entry;
    if (slot.pending) await slot.pending;
    if ((slot.entry && slot.entry.revision >= revision) || isDatabaseDown() || Date.now() - slot.checkedAt < AT_LEAST_CHECK_INTERVAL_MS) return slot.entry;
    return await (slot.pending ?? refresh(current, environmentId, slot));
  } catch {
    return slot.entry;
  }
}

/** After a (re)connect, or the database's return, every cached environment is checked once (notifications may have been missed), a few at a time. */
function checkAll(current: DocumentCacheState): void {
  const queue = [...current.documents.entries()].filter(([, slot]) => slot.loaded && slot.pending === null);
  for (const [, slot] of current.documents) slot.checkedAt = 0;
  const next = (): void => {
    const item = queue.shift();
    if (!item) return;
    const [environmentId, slot] = item;
    if (current.documents.get(environmentId) !== slot || slot.pending) return next();
    refresh(current, environmentId, slot).then(next, next);
  };
  for (let i = 0; i < RECONNECT_CHECK_CONCURRENCY; i++) next();
}

/** Parses a store.ts notification payload `<environment id>:<revision>`. */
export function parseDocumentNotification(payload: string | undefined): { environmentId: number; revision: number } | null {
  if (!payload) return null;
  const match = /^(\d+):(\d+)$/.exec(payload);
  if (!match) return null;
  const environmentId = Number(match[1]);
  const revision = Number(match[2]);
  if (!Number.isSafeInteger(environmentId) || !Number.isSafeInteger(revision)) return null;
  return { environmentId, revision };
}

function onNotification(payload: string | undefined): void {
  documentNotifications.inc();
  const parsed = parseDocumentNotification(payload);
  if (!parsed) return;
  const current = state();
  const { environmentId, revision } = parsed;
  // Environments this process has not read (no slot, not even an in-flight read) are not tracked.
  const slot = current.documents.get(environmentId);
  if (!slot) return;
  if (revision > (current.notified.get(environmentId) ?? 0)) current.notified.set(environmentId, revision);
  if (slot.entry && slot.entry.revision >= revision) return;
  slot.checkedAt = 0;
  slot.retryAt = 0;
  // Reload in the background so the next request finds the new revision already parsed.
  if (!slot.pending && slot.loaded) {
    refresh(current, environmentId, slot).catch((error: unknown) => {
      log.warn("document_cache.refresh_failed", { environment__id: environmentId, revision, error });
    });
  }
}

/** Forgets every cached document (pins stay: they belong to the streams holding them). */
export function clearDocumentCache(): void {
  const current = processState.get();
  if (!current) return;
  current.documents.clear();
  current.notified.clear();
  current.staleEnvironments.clear();
  current.staleSince = null;
}
