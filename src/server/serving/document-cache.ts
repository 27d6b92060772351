/**
 * The revision-checked document cache: what every protocol (SDK API, flagd sync) reads. Nothing
 * here builds a document; everything comes from `environment_documents` (written by the worker, see
 * publishing/ and documents/store.ts).
 *
 * `currentDocument(environmentId)`: the stored document as a cached, immutable entry keyed by
 * revision. Freshness:
 *   - the change listener (listener.ts) delivers `environment_documents` notifications
 *     (store.ts NOTIFYs `<environment id>:<revision>` after every stored write). While it is
 *     connected, a cached entry is trusted without touching the database, and a notification
 *     reloads the entry at once, so a new document is visible as soon as it is written;
 *   - while it is not connected (startup, database restart; it reconnects with backoff), an entry
 *     is trusted for `documentRevisionCheckMs`, then a cheap revision query revalidates it;
 *   - as a safety net against a silently dead connection, even a LISTENed entry is revalidated
 *     every TRUSTED_MAX_AGE_MS.
 * Concurrent loads/checks of one environment share one query. An environment without a stored
 * document yields null (the protocols answer 503).
 *
 * `entry.derived(key, compute)`: memoises data derived from one revision (engine contexts,
 * pre-serialised responses, flagd artefacts). `compute` runs at most once per entry and key; the
 * result must be treated as immutable. Entries are replaced (never mutated) when the revision
 * changes, so derived data can never outlive its revision.
 *
 * One cache per process (a process slot: singleton.ts).
 */
import { settings } from "@/server/config";
import { getDb } from "@/server/db/client";
import { DOCUMENT_CHANNEL, readStoredDocument, storedRevision } from "@/server/documents/store";
import type { SdkExtras } from "@/server/documents/types";
import type { EnvironmentDocument } from "@/server/engine/document";
import { getLogger } from "@/server/observability/logger";
import { boundCounter } from "@/server/observability/metrics";
import { processSlot } from "@/server/singleton";
import { ensureListener, listeningGeneration, subscribe } from "./listener";
import { documentCacheLookups, documentNotifications } from "./metrics";

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

/** Most environments one process caches documents of; the least recently loaded go first. */
export const DOCUMENT_CACHE_MAX_ENTRIES = 2_000;
/** Even while LISTENing, revalidate a cached document at least this often (lost-notification safety net). */
export const TRUSTED_MAX_AGE_MS = 30_000;

interface DocumentSlot {
  /** null = no document stored (as of `checkedAt`). */
  entry: ServedDocument | null;
  /** When the slot was last confirmed against the database (ms). */
  checkedAt: number;
  /** Listener generation the slot was confirmed under (trusted only while that generation is connected). */
  generation: number;
  /** In-flight load or revalidation, shared by concurrent callers. */
  pending: Promise<ServedDocument | null> | null;
}

interface DocumentCacheState {
  documents: Map<number, DocumentSlot>;
  /** Highest revision announced per environment (guards against a load racing a notification). */
  notified: Map<number, number>;
}

const processState = processSlot<DocumentCacheState>("documentCache");

function state(): DocumentCacheState {
  return processState.getOrCreate(() => {
    const created: DocumentCacheState = { documents: new Map(), notified: new Map() };
    subscribe(DOCUMENT_CHANNEL, "document-cache", {
      notify: onNotification,
      connected: () => {
        // Notifications may have been missed: every cached document is revalidated once.
        for (const slot of created.documents.values()) slot.checkedAt = 0;
      },
      stopped: clearDocumentCache,
    });
    return created;
  });
}

// The cache hits counted on every warm request, bound once (metrics.ts).
const documentCacheHits = boundCounter(documentCacheLookups, { result: "hit" });

type StoredRow = NonNullable<Awaited<ReturnType<typeof readStoredDocument>>>;

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

function isFresh(slot: DocumentSlot, now: number, generation: number): boolean {
  const age = now - slot.checkedAt;
  if (generation >= 0 && slot.generation === generation) return age < TRUSTED_MAX_AGE_MS;
  return age < settings().documentRevisionCheckMs;
}

function storeSlot(current: DocumentCacheState, environmentId: number, slot: DocumentSlot): void {
  const documents = current.documents;
  // Re-inserted, so that the Map's order is load order and the least recently loaded go first.
  if (!documents.delete(environmentId)) {
    while (documents.size >= DOCUMENT_CACHE_MAX_ENTRIES) {
      const oldest = documents.keys().next().value;
      if (oldest === undefined) break;
      documents.delete(oldest);
      current.notified.delete(oldest);
    }
  }
  documents.set(environmentId, slot);
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
  return row ? toServedDocument(row) : null;
}

/** Loads (or revalidates) the slot of `environmentId`; concurrent callers share the returned promise. */
function refresh(environmentId: number, previous: ServedDocument | null): Promise<ServedDocument | null> {
  const current = state();
  // Trusted under the listener generation that was connected when the read started: any
  // notification sent after that point reaches us (and is checked below).
  const trustedGeneration = listeningGeneration();
  const promise: Promise<ServedDocument | null> = readSlot(environmentId, previous).then(
    (entry) => {
      // A notification for a newer revision may have arrived while we were reading: keep the result
      // for this request but do not trust it (checkedAt 0), so the next request reads again.
      const announced = current.notified.get(environmentId) ?? 0;
      const stale = entry ? entry.revision < announced : announced > 0;
      storeSlot(current, environmentId, { entry, checkedAt: stale ? 0 : Date.now(), generation: trustedGeneration, pending: null });
      return entry;
    },
    (error: unknown) => {
      const slot = current.documents.get(environmentId);
      if (slot && slot.pending === promise) slot.pending = null;
      throw error;
    },
  );
  const slot = current.documents.get(environmentId);
  if (slot) slot.pending = promise;
  else storeSlot(current, environmentId, { entry: null, checkedAt: 0, generation: -1, pending: promise });
  return promise;
}

/**
 * The stored document of the environment (null when none is stored yet). A warm call does no I/O
 * while this process LISTENs for document notifications, else at most one revision check every
 * `documentRevisionCheckMs`. Not async: a fresh cache entry (the hot path) is returned synchronously.
 */
export function currentDocument(environmentId: number): ServedDocument | null | Promise<ServedDocument | null> {
  const current = state();
  ensureListener();
  const slot = current.documents.get(environmentId);
  if (slot) {
    if (slot.pending) return slot.pending;
    if (isFresh(slot, Date.now(), listeningGeneration())) {
      if (slot.entry) documentCacheHits.inc();
      else documentCacheLookups.inc({ result: "missing" });
      return slot.entry;
    }
    return refresh(environmentId, slot.entry);
  }
  return refresh(environmentId, null);
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
  // Reload in the background so the next request finds the new revision already parsed.
  if (!slot.pending) {
    refresh(environmentId, slot.entry).catch((error: unknown) => {
      log.warn("document_cache.refresh_failed", { environment__id: environmentId, revision, error });
    });
  }
}

/** Forgets every cached document. */
export function clearDocumentCache(): void {
  const current = processState.get();
  if (!current) return;
  current.documents.clear();
  current.notified.clear();
}
