/**
 * Environment keys → environment, project, organisation and key kind, cached per process;
 * concurrent misses for the same key share one query. The key kind follows Flagsmith:
 * `ser.`-prefixed keys are server keys (must be active, not revoked, not expired), anything else a
 * client key.
 *
 * Two bounded caches, so that no number of bogus keys can push out a key this process serves (once
 * pushed out, a database outage would turn that environment's SDKs into 503s):
 *   - known keys (KEY_CACHE_MAX_ENTRIES): the least recently used goes first, and a key whose
 *     environment has a cached document only when no other key is left;
 *   - unknown keys (KEY_CACHE_MAX_UNKNOWN_ENTRIES; revoked and expired ones too): a small one of its
 *     own, oldest first. A key moves between the two as the database's answer changes.
 *
 * Freshness: every change to a server key and every deleted environment NOTIFYs `environment_keys`
 * (drizzle/0006), and the change listener delivers it here: the keys of those environments (and
 * every cached unknown key) are dropped at once, so a revoked key is refused on the next request
 * after the commit is notified, in every web process. While the listener is connected an entry is
 * trusted (re-checked every KEY_TRUSTED_MAX_AGE_MS as a safety net); while it is not, every
 * `environmentKeyCacheSeconds`. Such a check runs in the background: requests keep the cached answer
 * meanwhile (and while the database is away). An expiring key is refused from its expiry on, cached
 * or not.
 *
 * Notifications sent while the listener was reconnecting are lost: on every (re)connect each known
 * key becomes unconfirmed, and its next use waits for a check before it is trusted again (bounded
 * by the pool's timeouts; when the database cannot answer, the cached answer is served: last-good);
 * cached unknown keys are dropped.
 */
import { and, eq, gt, isNull, or, sql } from "drizzle-orm";
import { settings } from "@/server/config";
import { textProblem } from "@/server/input";
import { sha256, SERVER_KEY_PREFIX } from "@/server/auth/crypto";
import { getDb } from "@/server/db/client";
import { environmentApiKeys, environments, projects } from "@/server/db/schema";
import { DatabaseUnavailableError, isDatabaseDown, reportDatabaseError, unlessDatabaseGoesDown } from "@/server/db/availability";
import { boundCounter } from "@/server/observability/metrics";
import { processSlot } from "@/server/singleton";
import { hasCachedDocument } from "./document-cache";
import { ensureListener, listeningGeneration, subscribe } from "./listener";
import { oldestWhere, touch, touchIfDue } from "./lru";
import { keyCacheLookups, keyNotifications } from "./metrics";
import { forgetSnapshotKeys, forgetWrittenSnapshotKeys, snapshotKey, snapshotKeyOf } from "./snapshot";

export type KeyKind = "client" | "server";

export interface ResolvedEnvironmentKey {
  environmentId: number;
  projectId: number;
  organisationId: number;
  kind: KeyKind;
}

/** Keys longer than this are rejected without a query (and without filling the cache). */
export const MAX_ENVIRONMENT_KEY_LENGTH = 200;
/** Most known keys one process remembers; the least recently used go first (see the module comment). */
export const KEY_CACHE_MAX_ENTRIES = 10_000;
/** Most unknown (or revoked, expired) keys one process remembers; the oldest go first. */
export const KEY_CACHE_MAX_UNKNOWN_ENTRIES = 1_000;

interface KeyCacheEntry {
  value: ResolvedEnvironmentKey | null;
  /** Expiry of a server key (ms epoch): refused from then on, whatever the cache or the database says. */
  validUntil: number | null;
  /** When the database last confirmed it (0: never, e.g. read from the snapshot). */
  checkedAt: number;
  /** Listener generation it was confirmed under (-1: none). */
  generation: number;
  refreshing: boolean;
  /** Learnt before the listener's last (re)connect (a notification may have been missed): checked before it is trusted again. */
  unconfirmed: boolean;
  /** When it last moved to the young end of its cache (ms). */
  touchedAt: number;
}

interface KeyCacheState {
  /** Keys that resolved to an environment, least recently used first. */
  known: Map<string, KeyCacheEntry>;
  /** Keys that resolved to nothing, oldest first. */
  unknown: Map<string, KeyCacheEntry>;
  lookups: Map<string, Promise<ResolvedEnvironmentKey | null>>;
}

/** While the change listener is up, a key is trusted this long between checks (notifications drop revoked keys at once). */
export const KEY_TRUSTED_MAX_AGE_MS = 5 * 60_000;
/** The change-listener channel of key changes (drizzle/0006). */
export const KEY_CHANNEL = "environment_keys";

const slot = processSlot<KeyCacheState>("environmentKeyCache");

function state(): KeyCacheState {
  return slot.getOrCreate(createState);
}

function createState(): KeyCacheState {
  const created: KeyCacheState = { known: new Map(), unknown: new Map(), lookups: new Map() };
  subscribe(KEY_CHANNEL, "key-cache", {
    notify: (payload) => forgetKeys(created, parseIds(payload)),
    connected: () => unconfirmAll(created),
    stopped: () => {
      created.known.clear();
      created.unknown.clear();
      created.lookups.clear();
    },
  });
  return created;
}

/** The environment ids of a key notification (`<id>,<id>,…`); null: every environment (`*`). */
export function parseIds(payload: string | undefined): Set<number> | null {
  if (!payload || payload === "*") return null;
  const ids = new Set<number>();
  for (const part of payload.split(",")) {
    const id = Number(part);
    if (Number.isSafeInteger(id) && id > 0) ids.add(id);
  }
  return ids;
}

/** A key change was committed: drops the keys of those environments (null: all) and every cached unknown key. */
function forgetKeys(current: KeyCacheState, environmentIds: Set<number> | null): void {
  keyNotifications.inc();
  current.unknown.clear();
  if (environmentIds === null) current.known.clear();
  else for (const [key, entry] of current.known) if (entry.value === null || environmentIds.has(entry.value.environmentId)) current.known.delete(key);
  // A lookup in flight may have read the key before the change: its answer is neither cached nor snapshotted.
  current.lookups.clear();
  forgetSnapshotKeys(environmentIds);
}

/**
 * The listener (re)connected: notifications sent meanwhile are lost. Every known key is checked at
 * its next use before it is trusted again, unknown keys are asked again, and the snapshot rewrites
 * each key at its next confirmation. (A lookup in flight is cached unconfirmed: see `lookup`.)
 */
function unconfirmAll(current: KeyCacheState): void {
  for (const entry of current.known.values()) entry.unconfirmed = true;
  current.unknown.clear();
  forgetWrittenSnapshotKeys();
}

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

/** A known key may be evicted before others when its environment has no cached document (this process does not serve it now). */
const notServed = (entry: KeyCacheEntry): boolean => entry.value === null || !hasCachedDocument(entry.value.environmentId);

function remember(current: KeyCacheState, key: string, entry: KeyCacheEntry): void {
  if (entry.value === null) {
    current.known.delete(key);
    const unknown = current.unknown;
    touch(unknown, key, entry);
    if (unknown.size > KEY_CACHE_MAX_UNKNOWN_ENTRIES) {
      const oldest = unknown.keys().next().value;
      if (oldest !== undefined) unknown.delete(oldest);
    }
    return;
  }
  current.unknown.delete(key);
  const known = current.known;
  touch(known, key, entry);
  if (known.size > KEY_CACHE_MAX_ENTRIES) {
    const victim = oldestWhere(known, notServed) ?? known.keys().next().value;
    if (victim !== undefined) known.delete(victim);
  }
}

function isFresh(entry: KeyCacheEntry, now: number): boolean {
  const age = now - entry.checkedAt;
  if (entry.generation >= 0 && entry.generation === listeningGeneration()) return age < KEY_TRUSTED_MAX_AGE_MS;
  return age < settings().environmentKeyCacheSeconds * 1000;
}

/** Reads a key from the database and caches the answer (shared by concurrent callers of the same key). */
function lookup(current: KeyCacheState, key: string): Promise<ResolvedEnvironmentKey | null> {
  const inFlight = current.lookups.get(key);
  if (inFlight) return inFlight;
  const generation = listeningGeneration();
  // A snapshot record is as recent as the start of the read that confirmed it (snapshot.ts).
  const started = Date.now();
  const promise = queryKey(key).then(
    ({ value, validUntil }) => {
      // Neither cached nor snapshotted when a key notification came meanwhile: this answer may
      // predate the change (a revoked key would come back).
      if (current.lookups.get(key) !== promise) return value;
      current.lookups.delete(key);
      // The listener (re)connected meanwhile: a notification may have been lost before it did, so
      // the answer is not snapshotted, and cached unconfirmed (checked again at its next use) — an
      // unknown key not at all.
      const spannedReconnect = listeningGeneration() !== generation;
      const now = Date.now();
      if (settings().environmentKeyCacheSeconds > 0 && !(spannedReconnect && value === null)) {
        remember(current, key, { value, validUntil, checkedAt: now, generation, refreshing: false, unconfirmed: spannedReconnect, touchedAt: now });
      }
      if (!spannedReconnect) snapshotKey(key, value && { ...value, validUntil }, started);
      return value;
    },
    (error: unknown) => {
      if (current.lookups.get(key) === promise) current.lookups.delete(key);
      throw error;
    },
  );
  current.lookups.set(key, promise);
  return promise;
}

/** Revalidates a cached key in the background; the cached answer keeps being served meanwhile and if it fails. */
function revalidate(current: KeyCacheState, key: string, entry: KeyCacheEntry): void {
  entry.refreshing = true;
  lookup(current, key).then(
    () => {
      entry.refreshing = false;
    },
    (error: unknown) => {
      entry.refreshing = false;
      reportDatabaseError(error);
    },
  );
}

const answerOf = (entry: KeyCacheEntry, now: number): ResolvedEnvironmentKey | null =>
  entry.validUntil !== null && entry.validUntil <= now ? null : entry.value;

/**
 * A key learnt before the listener's last reconnect: the database's answer now, or the cached one
 * when the database cannot answer (last-good; checked again at its next use).
 */
function confirm(current: KeyCacheState, key: string, entry: KeyCacheEntry): Promise<ResolvedEnvironmentKey | null> {
  keyCacheLookups.inc({ result: "recheck" });
  // Answered as soon as the database is found down (by this check or any other query), not after this check's own timeout.
  return unlessDatabaseGoesDown(lookup(current, key)).catch((error: unknown) => {
    if (!reportDatabaseError(error)) throw error;
    return answerOf(entry, Date.now());
  });
}

/** A cold key while the database cannot answer: what the snapshot knows, else the database error. */
function fromSnapshot(current: KeyCacheState, key: string, error: unknown): ResolvedEnvironmentKey | null {
  const known = snapshotKeyOf(key);
  if (!known) throw error;
  keyCacheLookups.inc({ result: "snapshot" });
  const { validUntil, ...value } = known;
  const now = Date.now();
  const entry: KeyCacheEntry = { value, validUntil, checkedAt: 0, generation: -1, refreshing: false, unconfirmed: false, touchedAt: now };
  remember(current, key, entry);
  return answerOf(entry, now);
}

// The cache hits counted on every warm request, bound once (metrics.ts).
const keyCacheHits = boundCounter(keyCacheLookups, { result: "hit" });

/**
 * The environment a key belongs to, or null for an unknown, revoked or expired key.
 *
 * Last-good: a cached answer is returned at once, also when it is due for a check (the check runs
 * in the background) and while the database is away. A key never seen by this process is read from
 * the database (bounded by the pool's timeouts); while the database cannot answer, from the snapshot
 * (snapshot.ts) when there is one, else the database error propagates (the gate answers 503). A key
 * learnt before the listener's last reconnect is checked first (see the module comment).
 *
 * Not async: a cache hit (the hot path) returns synchronously, without allocating promises.
 */
export function resolveEnvironmentKey(key: string): ResolvedEnvironmentKey | null | Promise<ResolvedEnvironmentKey | null> {
  if (key.length === 0 || key.length > MAX_ENVIRONMENT_KEY_LENGTH) return null;
  const current = state();
  const entry = current.known.get(key) ?? current.unknown.get(key);
  if (entry !== undefined) {
    const now = Date.now();
    if (entry.unconfirmed && !isDatabaseDown()) return confirm(current, key, entry);
    if (entry.value !== null) touchIfDue(current.known, key, entry, now);
    if (!entry.refreshing && !isFresh(entry, now) && !isDatabaseDown()) revalidate(current, key, entry);
    keyCacheHits.inc();
    return answerOf(entry, now);
  }
  // No key holds NUL or a lone surrogate (PostgreSQL refuses them in a query): unknown, without asking.
  // Checked on a miss only; a cached key passed the check when it was stored.
  if (textProblem(key) !== null) return null;
  keyCacheLookups.inc({ result: "miss" });
  ensureListener();
  if (isDatabaseDown()) {
    try {
      return fromSnapshot(current, key, new DatabaseUnavailableError());
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return lookup(current, key).catch((error: unknown) => {
    reportDatabaseError(error);
    return fromSnapshot(current, key, error);
  });
}

/** How many keys this process caches: known (resolved to an environment) and unknown. */
export function keyCacheSize(): { known: number; unknown: number } {
  const current = slot.get();
  return { known: current?.known.size ?? 0, unknown: current?.unknown.size ?? 0 };
}

/** Tests and shutdown: forgets every cached key. */
export function clearKeyCache(): void {
  const current = slot.get();
  if (!current) return;
  current.known.clear();
  current.unknown.clear();
  current.lookups.clear();
}
