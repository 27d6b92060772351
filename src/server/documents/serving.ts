/**
 * The web side of the document store: what the SDK endpoints (`/api/v1/...`) and the flagd
 * endpoints read. Nothing here builds a document; everything is served from `environment_documents`
 * (written by the worker, see pipeline.ts / store.ts).
 *
 * - `resolveEnvironmentKey(key)`: SDK key → environment, project, organisation and key kind. Cached
 *   per process for `environmentKeyCacheSeconds` (unknown keys too), bounded in size; concurrent
 *   misses for the same key share one query. Server keys must be active, not revoked, not expired
 *   (an expiring key is cached no longer than until its expiry). A revoked key keeps working in a
 *   process for at most the cache TTL.
 *
 * - `currentDocument(environmentId)`: the stored document as a cached, immutable entry keyed by
 *   revision. Freshness:
 *     * each web process keeps one dedicated connection LISTENing on `environment_documents`
 *       (store.ts NOTIFYs `<environment id>:<revision>` after every stored write). While it is
 *       connected, a cached entry is trusted without touching the database, and a notification
 *       reloads the entry at once, so a new document is visible as soon as it is written;
 *     * while it is not connected (startup, database restart; it reconnects with backoff), an entry
 *       is trusted for `documentRevisionCheckMs`, then a cheap revision query revalidates it;
 *     * as a safety net against a silently dead connection, even a LISTENed entry is revalidated
 *       every TRUSTED_MAX_AGE_MS.
 *   Concurrent loads/checks of one environment share one query. An environment without a stored
 *   document yields null (the SDK endpoints answer 503).
 *
 * - `entry.derived(key, compute)`: memoises data derived from one revision (engine contexts,
 *   pre-serialised responses, flagd artefacts). `compute` runs at most once per entry and key; the
 *   result must be treated as immutable. Entries are replaced (never mutated) when the revision
 *   changes, so derived data can never outlive its revision.
 *
 * - The same LISTEN connection receives `identity_changes` (drizzle/0005), which keeps the SDK API's
 *   identity cache fresh (sdk/identity-cache.ts); `listeningGeneration()` tells that cache whether,
 *   and under which connection, it may trust what it holds.
 *
 * State lives on globalThis: Next.js bundles route handlers separately, and every bundle must share
 * one cache and one LISTEN connection per process.
 */
import pg from "pg";
import { context, ROOT_CONTEXT } from "@opentelemetry/api";
import { and, eq, gt, isNull, or, sql } from "drizzle-orm";
import { settings } from "../config";
import { sha256, SERVER_KEY_PREFIX } from "../auth/crypto";
import { configuredDatabaseUrl, getDb } from "../db/client";
import { environmentApiKeys, environments, projects } from "../db/schema";
import { runWithContext } from "../observability/context";
import { getLogger } from "../observability/logger";
import { boundCounter } from "../observability/metrics";
import { identityCache, IDENTITY_CHANNEL } from "../sdk/identity-cache";
import { documentCacheLookups, documentListenerConnected, documentNotifications, identityNotifications, keyCacheLookups } from "../sdk/metrics";
import { DOCUMENT_CHANNEL, readStoredDocument, storedRevision } from "./store";
import type { EnvironmentDocument, SdkExtras } from "./types";

const log = getLogger("sdk");

// ---------------------------------------------------------------------------------------------
// Environment keys
// ---------------------------------------------------------------------------------------------

export type KeyKind = "client" | "server";

export interface ResolvedEnvironmentKey {
  environmentId: number;
  projectId: number;
  organisationId: number;
  kind: KeyKind;
}

/** Keys longer than this are rejected without a query (and without filling the cache). */
export const MAX_ENVIRONMENT_KEY_LENGTH = 200;
/** Most keys (known and unknown) one process remembers; the oldest entries go first. */
export const KEY_CACHE_MAX_ENTRIES = 10_000;

interface KeyCacheEntry {
  value: ResolvedEnvironmentKey | null;
  expiresAt: number;
}

// ---------------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------------

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
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 30_000;

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

interface ListenerState {
  client: pg.Client | null;
  connected: boolean;
  /** Bumped at every (re)connect; slots confirmed under an older generation are revalidated. */
  generation: number;
  started: boolean;
  stopped: boolean;
  reconnectDelayMs: number;
  reconnectTimer: NodeJS.Timeout | null;
}

interface ServingState {
  keys: Map<string, KeyCacheEntry>;
  keyLookups: Map<string, Promise<ResolvedEnvironmentKey | null>>;
  documents: Map<number, DocumentSlot>;
  /** Highest revision announced per environment (guards against a load racing a notification). */
  notified: Map<number, number>;
  listener: ListenerState;
}

const STATE_KEY = Symbol.for("flagpost.documentServing");
const globalState = globalThis as unknown as Record<symbol, ServingState | undefined>;

function state(): ServingState {
  let current = globalState[STATE_KEY];
  if (!current) {
    current = {
      keys: new Map(),
      keyLookups: new Map(),
      documents: new Map(),
      notified: new Map(),
      listener: {
        client: null,
        connected: false,
        generation: 0,
        started: false,
        stopped: false,
        reconnectDelayMs: RECONNECT_MIN_MS,
        reconnectTimer: null,
      },
    };
    globalState[STATE_KEY] = current;
  }
  return current;
}

// ---------------------------------------------------------------------------------------------
// Key resolution
// ---------------------------------------------------------------------------------------------

async function queryKey(key: string): Promise<{ value: ResolvedEnvironmentKey | null; validUntil: number | null }> {
  const db = getDb();
  if (key.startsWith(SERVER_KEY_PREFIX)) {
    const [row] = await db
      .select({
        environmentId: environments.id,
        projectId: environments.projectId,
        organisationId: projects.organisationId,
        expiresAt: environmentApiKeys.expiresAt,
      })
      .from(environmentApiKeys)
      .innerJoin(environments, eq(environments.id, environmentApiKeys.environmentId))
      .innerJoin(projects, eq(projects.id, environments.projectId))
      .where(
        and(
          eq(environmentApiKeys.keyHash, sha256(key)),
          eq(environmentApiKeys.active, true),
          isNull(environmentApiKeys.revokedAt),
          or(isNull(environmentApiKeys.expiresAt), gt(environmentApiKeys.expiresAt, sql`now()`)),
        ),
      )
      .limit(1);
    if (!row) return { value: null, validUntil: null };
    return {
      value: { environmentId: row.environmentId, projectId: row.projectId, organisationId: row.organisationId, kind: "server" },
      validUntil: row.expiresAt ? row.expiresAt.getTime() : null,
    };
  }
  const [row] = await db
    .select({ environmentId: environments.id, projectId: environments.projectId, organisationId: projects.organisationId })
    .from(environments)
    .innerJoin(projects, eq(projects.id, environments.projectId))
    .where(eq(environments.apiKey, key))
    .limit(1);
  return { value: row ? { ...row, kind: "client" } : null, validUntil: null };
}

function rememberKey(keys: Map<string, KeyCacheEntry>, key: string, entry: KeyCacheEntry): void {
  keys.delete(key);
  keys.set(key, entry);
  while (keys.size > KEY_CACHE_MAX_ENTRIES) {
    const oldest = keys.keys().next().value;
    if (oldest === undefined) break;
    keys.delete(oldest);
  }
}

// The cache hits counted on every warm request, bound once (metrics.ts).
const keyCacheHits = boundCounter(keyCacheLookups, { result: "hit" });
const documentCacheHits = boundCounter(documentCacheLookups, { result: "hit" });

/**
 * The environment an SDK key belongs to, or null for an unknown, revoked or expired key. The key
 * kind follows Flagsmith: `ser.`-prefixed keys are server keys, anything else a client key.
 */
export function resolveEnvironmentKey(key: string): ResolvedEnvironmentKey | null | Promise<ResolvedEnvironmentKey | null> {
  // Not async: a cache hit (the hot path) returns synchronously, without allocating promises.
  if (key.length === 0 || key.length > MAX_ENVIRONMENT_KEY_LENGTH) return null;
  const current = state();
  const now = Date.now();
  const cached = current.keys.get(key);
  if (cached && cached.expiresAt > now) {
    keyCacheHits.inc();
    return cached.value;
  }
  keyCacheLookups.inc({ result: "miss" });
  const inFlight = current.keyLookups.get(key);
  if (inFlight) return inFlight;
  const lookup = (async () => {
    try {
      const { value, validUntil } = await queryKey(key);
      const ttlMs = Math.max(0, settings().environmentKeyCacheSeconds) * 1000;
      const expiresAt = Math.min(Date.now() + ttlMs, validUntil ?? Number.POSITIVE_INFINITY);
      if (ttlMs > 0) rememberKey(current.keys, key, { value, expiresAt });
      return value;
    } finally {
      current.keyLookups.delete(key);
    }
  })();
  current.keyLookups.set(key, lookup);
  return lookup;
}

// ---------------------------------------------------------------------------------------------
// Document cache
// ---------------------------------------------------------------------------------------------

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

function isFresh(slot: DocumentSlot, now: number, listener: ListenerState): boolean {
  const age = now - slot.checkedAt;
  if (listener.connected && slot.generation === listener.generation) return age < TRUSTED_MAX_AGE_MS;
  return age < settings().documentRevisionCheckMs;
}

function storeSlot(documents: Map<number, DocumentSlot>, environmentId: number, slot: DocumentSlot): void {
  // Re-inserted, so that the Map's order is load order and the least recently loaded go first.
  if (!documents.delete(environmentId)) {
    while (documents.size >= DOCUMENT_CACHE_MAX_ENTRIES) {
      const oldest = documents.keys().next().value;
      if (oldest === undefined) break;
      documents.delete(oldest);
      state().notified.delete(oldest);
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
  const listener = current.listener;
  // Trusted under the listener generation that was connected when the read started: any
  // notification sent after that point reaches us (and is checked below).
  const trustedGeneration = listener.connected ? listener.generation : -1;
  const promise: Promise<ServedDocument | null> = readSlot(environmentId, previous).then(
    (entry) => {
      // A notification for a newer revision may have arrived while we were reading: keep the result
      // for this request but do not trust it (checkedAt 0), so the next request reads again.
      const announced = current.notified.get(environmentId) ?? 0;
      const stale = entry ? entry.revision < announced : announced > 0;
      storeSlot(current.documents, environmentId, { entry, checkedAt: stale ? 0 : Date.now(), generation: trustedGeneration, pending: null });
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
  else storeSlot(current.documents, environmentId, { entry: null, checkedAt: 0, generation: -1, pending: promise });
  return promise;
}

/**
 * The stored document of the environment (null when none is stored yet). A warm call does no I/O
 * while this process LISTENs for document notifications, else at most one revision check every
 * `documentRevisionCheckMs`.
 */
export function currentDocument(environmentId: number): ServedDocument | null | Promise<ServedDocument | null> {
  // Not async: a fresh cache entry (the hot path) is returned synchronously.
  const current = state();
  ensureListener();
  const slot = current.documents.get(environmentId);
  if (slot) {
    if (slot.pending) return slot.pending;
    if (isFresh(slot, Date.now(), current.listener)) {
      if (slot.entry) documentCacheHits.inc();
      else documentCacheLookups.inc({ result: "missing" });
      return slot.entry;
    }
    return refresh(environmentId, slot.entry);
  }
  return refresh(environmentId, null);
}

// ---------------------------------------------------------------------------------------------
// LISTEN connection
// ---------------------------------------------------------------------------------------------

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

function scheduleReconnect(listener: ListenerState): void {
  if (listener.stopped || listener.reconnectTimer) return;
  const delay = listener.reconnectDelayMs;
  listener.reconnectDelayMs = Math.min(RECONNECT_MAX_MS, listener.reconnectDelayMs * 2);
  listener.reconnectTimer = setTimeout(() => {
    listener.reconnectTimer = null;
    void connectListener(listener);
  }, delay);
  listener.reconnectTimer.unref();
}

function markDisconnected(listener: ListenerState, client: pg.Client, error: unknown): void {
  if (listener.client !== client) return;
  listener.client = null;
  const wasConnected = listener.connected;
  listener.connected = false;
  documentListenerConnected.set(0);
  client.removeAllListeners("notification");
  client.end().catch(() => undefined);
  if (!listener.stopped) {
    log.warn("document_listener.failed", { error, was__connected: wasConnected, retry__ms: listener.reconnectDelayMs });
    scheduleReconnect(listener);
  }
}

async function connectListener(listener: ListenerState): Promise<void> {
  if (listener.stopped || listener.client) return;
  const url = configuredDatabaseUrl();
  if (!url) return;
  const client = new pg.Client({
    connectionString: url,
    keepAlive: true,
    application_name: `${settings().processName}-document-listener`,
  });
  listener.client = client;
  client.on("error", (error) => markDisconnected(listener, client, error));
  client.on("end", () => markDisconnected(listener, client, new Error("connection ended")));
  client.on("notification", (message) => {
    if (message.channel === DOCUMENT_CHANNEL) onNotification(message.payload);
    else if (message.channel === IDENTITY_CHANNEL) {
      identityNotifications.inc();
      identityCache().invalidate(message.payload);
    }
  });
  try {
    await client.connect();
    await client.query(`LISTEN ${DOCUMENT_CHANNEL}; LISTEN ${IDENTITY_CHANNEL}`);
    if (listener.client !== client || listener.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    // Notifications sent before LISTEN took effect are lost: documents cached so far are
    // revalidated once (they carry an older generation) before being trusted again.
    listener.generation += 1;
    listener.connected = true;
    for (const slot of state().documents.values()) slot.checkedAt = 0;
    identityCache().clear();
    listener.reconnectDelayMs = RECONNECT_MIN_MS;
    documentListenerConnected.set(1);
    log.info("document_listener.connected", { listener__generation: listener.generation });
  } catch (error) {
    markDisconnected(listener, client, error);
  }
}

/** Starts the LISTEN connection once per process (no-op afterwards). */
export function ensureListener(): void {
  const listener = state().listener;
  if (listener.started) return;
  listener.started = true;
  listener.stopped = false;
  // Outside the current request's context (bindings, span): the connection, its callbacks and the
  // reloads they start belong to the process, not to the request that happened to come first.
  runWithContext(() => context.with(ROOT_CONTEXT, () => void connectListener(listener)));
}

/** The generation of the live LISTEN connection, or -1 while not listening (nothing may be trusted). */
export function listeningGeneration(): number {
  const listener = state().listener;
  return listener.connected ? listener.generation : -1;
}

/** Whether this process currently LISTENs for document notifications. */
export function isListening(): boolean {
  return state().listener.connected;
}

/** Tests and shutdown: closes the LISTEN connection and forgets every cached key and document. */
export async function stopServing(): Promise<void> {
  const current = state();
  const listener = current.listener;
  listener.stopped = true;
  listener.started = false;
  if (listener.reconnectTimer) clearTimeout(listener.reconnectTimer);
  listener.reconnectTimer = null;
  const client = listener.client;
  listener.client = null;
  listener.connected = false;
  documentListenerConnected.set(0);
  if (client) {
    client.removeAllListeners();
    client.on("error", () => undefined);
    await client.end().catch(() => undefined);
  }
  current.keys.clear();
  current.keyLookups.clear();
  current.documents.clear();
  current.notified.clear();
  identityCache().clear();
}
