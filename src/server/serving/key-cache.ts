/**
 * Environment keys → environment, project, organisation and key kind, cached per process (unknown
 * keys too), bounded in size; concurrent misses for the same key share one query. The key kind
 * follows Flagsmith: `ser.`-prefixed keys are server keys (must be active, not revoked, not
 * expired), anything else a client key.
 *
 * Freshness: every change to a server key and every deleted environment NOTIFYs `environment_keys`
 * (drizzle/0006), and the change listener delivers it here: the keys of those environments are
 * dropped at once, so a revoked key is refused on the next request after the commit is notified, in
 * every web process. While the listener is connected an entry is trusted (re-checked every
 * KEY_TRUSTED_MAX_AGE_MS as a safety net); while it is not, every `environmentKeyCacheSeconds`. A
 * check runs in the background: requests keep the cached answer meanwhile (and while the database
 * is away). An expiring key is refused from its expiry on, cached or not.
 */
import { and, eq, gt, isNull, or, sql } from "drizzle-orm";
import { settings } from "@/server/config";
import { textProblem } from "@/server/input";
import { sha256, SERVER_KEY_PREFIX } from "@/server/auth/crypto";
import { getDb } from "@/server/db/client";
import { environmentApiKeys, environments, projects } from "@/server/db/schema";
import { DatabaseUnavailableError, isDatabaseDown, reportDatabaseError } from "@/server/db/availability";
import { boundCounter } from "@/server/observability/metrics";
import { processSlot } from "@/server/singleton";
import { ensureListener, listeningGeneration, subscribe } from "./listener";
import { keyCacheLookups, keyNotifications } from "./metrics";
import { forgetSnapshotKeys, snapshotKey, snapshotKeyOf } from "./snapshot";

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
  /** Expiry of a server key (ms epoch): refused from then on, whatever the cache or the database says. */
  validUntil: number | null;
  /** When the database last confirmed it (0: never, e.g. read from the snapshot). */
  checkedAt: number;
  /** Listener generation it was confirmed under (-1: none). */
  generation: number;
  refreshing: boolean;
}

interface KeyCacheState {
  keys: Map<string, KeyCacheEntry>;
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
  const created: KeyCacheState = { keys: new Map(), lookups: new Map() };
  subscribe(KEY_CHANNEL, "key-cache", {
    notify: (payload) => forgetKeys(created, parseIds(payload)),
    stopped: () => {
      created.keys.clear();
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
  for (const [key, entry] of current.keys) {
    if (entry.value === null || environmentIds === null || environmentIds.has(entry.value.environmentId)) current.keys.delete(key);
  }
  // A lookup in flight may have read the key before the change: its answer is not cached.
  current.lookups.clear();
  forgetSnapshotKeys(environmentIds);
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

function remember(current: KeyCacheState, key: string, entry: KeyCacheEntry): void {
  const keys = current.keys;
  keys.delete(key);
  keys.set(key, entry);
  while (keys.size > KEY_CACHE_MAX_ENTRIES) {
    const oldest = keys.keys().next().value;
    if (oldest === undefined) break;
    keys.delete(oldest);
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
  const promise = queryKey(key).then(
    ({ value, validUntil }) => {
      // Not cached when a key notification arrived meanwhile (this answer may predate the change).
      if (current.lookups.get(key) === promise && settings().environmentKeyCacheSeconds > 0) {
        remember(current, key, { value, validUntil, checkedAt: Date.now(), generation, refreshing: false });
      }
      if (current.lookups.get(key) === promise) current.lookups.delete(key);
      snapshotKey(key, value && { ...value, validUntil });
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

/** A cold key while the database cannot answer: what the snapshot knows, else the database error. */
function fromSnapshot(current: KeyCacheState, key: string, error: unknown): ResolvedEnvironmentKey | null {
  const known = snapshotKeyOf(key);
  if (!known) throw error;
  keyCacheLookups.inc({ result: "snapshot" });
  const { validUntil, ...value } = known;
  remember(current, key, { value, validUntil, checkedAt: 0, generation: -1, refreshing: false });
  return validUntil !== null && validUntil <= Date.now() ? null : value;
}

// The cache hits counted on every warm request, bound once (metrics.ts).
const keyCacheHits = boundCounter(keyCacheLookups, { result: "hit" });

/**
 * The environment a key belongs to, or null for an unknown, revoked or expired key.
 *
 * Last-good: a cached answer is returned at once, also when it is due for a check (the check runs
 * in the background) and while the database is away. A key never seen by this process is read from
 * the database (bounded by the pool's timeouts); while the database cannot answer, from the snapshot
 * (snapshot.ts) when there is one, else the database error propagates (the gate answers 503).
 *
 * Not async: a cache hit (the hot path) returns synchronously, without allocating promises.
 */
export function resolveEnvironmentKey(key: string): ResolvedEnvironmentKey | null | Promise<ResolvedEnvironmentKey | null> {
  if (key.length === 0 || key.length > MAX_ENVIRONMENT_KEY_LENGTH) return null;
  const current = state();
  // No key holds NUL or a lone surrogate (PostgreSQL refuses them in a query): unknown, without asking.
  // Checked on a miss only; a cached key passed the check when it was stored.
  if (!current.keys.has(key) && textProblem(key) !== null) return null;
  const entry = current.keys.get(key);
  if (entry) {
    const now = Date.now();
    if (!entry.refreshing && !isFresh(entry, now) && !isDatabaseDown()) revalidate(current, key, entry);
    keyCacheHits.inc();
    return entry.validUntil !== null && entry.validUntil <= now ? null : entry.value;
  }
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

/** Tests and shutdown: forgets every cached key. */
export function clearKeyCache(): void {
  const current = slot.get();
  if (!current) return;
  current.keys.clear();
  current.lookups.clear();
}
