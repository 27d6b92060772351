/**
 * Environment keys → environment, project, organisation and key kind, cached per process for
 * `environmentKeyCacheSeconds` (unknown keys too), bounded in size; concurrent misses for the same
 * key share one query. The key kind follows Flagsmith: `ser.`-prefixed keys are server keys (must be
 * active, not revoked, not expired; an expiring key is cached no longer than until its expiry),
 * anything else a client key. A revoked key keeps working in a process for at most the cache TTL.
 */
import { and, eq, gt, isNull, or, sql } from "drizzle-orm";
import { settings } from "@/server/config";
import { sha256, SERVER_KEY_PREFIX } from "@/server/auth/crypto";
import { getDb } from "@/server/db/client";
import { environmentApiKeys, environments, projects } from "@/server/db/schema";
import { boundCounter } from "@/server/observability/metrics";
import { processSlot } from "@/server/singleton";
import { keyCacheLookups } from "./metrics";

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

interface KeyCacheState {
  keys: Map<string, KeyCacheEntry>;
  lookups: Map<string, Promise<ResolvedEnvironmentKey | null>>;
}

const slot = processSlot<KeyCacheState>("environmentKeyCache");

function state(): KeyCacheState {
  return slot.getOrCreate(() => ({ keys: new Map(), lookups: new Map() }));
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

/**
 * The environment a key belongs to, or null for an unknown, revoked or expired key. Not async: a
 * cache hit (the hot path) returns synchronously, without allocating promises.
 */
export function resolveEnvironmentKey(key: string): ResolvedEnvironmentKey | null | Promise<ResolvedEnvironmentKey | null> {
  if (key.length === 0 || key.length > MAX_ENVIRONMENT_KEY_LENGTH) return null;
  const current = state();
  const now = Date.now();
  const cached = current.keys.get(key);
  if (cached && cached.expiresAt > now) {
    keyCacheHits.inc();
    return cached.value;
  }
  keyCacheLookups.inc({ result: "miss" });
  const inFlight = current.lookups.get(key);
  if (inFlight) return inFlight;
  const lookup = (async () => {
    try {
      const { value, validUntil } = await queryKey(key);
      const ttlMs = Math.max(0, settings().environmentKeyCacheSeconds) * 1000;
      const expiresAt = Math.min(Date.now() + ttlMs, validUntil ?? Number.POSITIVE_INFINITY);
      if (ttlMs > 0) rememberKey(current.keys, key, { value, expiresAt });
      return value;
    } finally {
      current.lookups.delete(key);
    }
  })();
  current.lookups.set(key, lookup);
  return lookup;
}

/** Tests and shutdown: forgets every cached key. */
export function clearKeyCache(): void {
  const current = state();
  current.keys.clear();
  current.lookups.clear();
}
