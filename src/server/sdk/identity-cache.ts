/**
 * Stored identities and their traits, cached per web process for `/api/v1/identities/`, together
 * with the last answer computed for each (the response body for one request, document revision and
 * key kind), so that an SDK identifying the same user with the same traits again — what server-side
 * SDKs do on every request of that user — costs neither a database round trip nor an evaluation.
 *
 * Freshness (the same scheme as the document cache in serving/document-cache.ts):
 *   - PostgreSQL NOTIFYs `identity_changes` after every statement that changes a stored identity or
 *     its traits, whoever runs it (drizzle/0005: statement triggers on `identities` and `traits`).
 *     The payload is the changed identity ids, or `*` for everything. The web process's LISTEN
 *     connection drops those entries.
 *   - Entries are used only while that connection is up, and only under the connection generation
 *     they were read in: notifications sent while it was down are lost, so after a reconnect every
 *     older entry is ignored (and the cache emptied).
 *   - A read that an invalidation of its identity overtook (the notification arrived while the
 *     query was running) is used for its request but not stored: its traits may be older than the
 *     change.
 *   - A process that writes traits drops its own entry at once, before its notification comes back.
 *   - Entries older than `IDENTITY_CACHE_MAX_AGE_MS` are read again (safety net).
 * Between a commit in another process and its notification reaching this one (milliseconds), this
 * process may still answer from the previous traits, and a request that sets a trait back to the
 * value this process still holds is not written (the other process's value stays). With several web
 * processes that must see each other's trait writes at once, set IDENTITY_CACHE_ENTRIES=0.
 *
 * Bounded by `IDENTITY_CACHE_ENTRIES` (0 disables it); the oldest entries go first.
 */
import { settings } from "@/server/config";
import type { StoredValue } from "@/server/db/schema";
import { subscribe } from "@/server/serving/listener";
import { processSlot } from "@/server/singleton";
import { identityNotifications } from "./metrics";

export const IDENTITY_CHANNEL = "identity_changes";
/** An entry is read from the database again after this long, notifications or not. */
export const IDENTITY_CACHE_MAX_AGE_MS = 30_000;
/** Beyond this many remembered invalidations, reads started earlier are simply not stored. */
const MAX_TRACKED_INVALIDATIONS = 10_000;

export interface IdentityWithTraits {
  id: number;
  djangoId: number | null;
  /** Sorted by key; never mutated once cached. */
  traits: readonly { key: string; value: StoredValue }[];
}

/** The last answer computed from one cached identity state. */
export interface RememberedAnswer {
  /** The served document (one object per revision) the answer was evaluated against. */
  document: object;
  /** Everything else the answer depends on: key kind, media type, body or query. */
  request: string;
  /** The response body, encoded once. */
  body: Uint8Array;
}

export interface CachedIdentity extends IdentityWithTraits {
  readonly cached: true;
  readonly environmentId: number;
  readonly identifier: string;
  readonly generation: number;
  readonly cachedAt: number;
  answer?: RememberedAnswer;
}

export function isCachedIdentity(identity: IdentityWithTraits | null): identity is CachedIdentity {
  return (identity as CachedIdentity | null)?.cached === true;
}

function keyOf(environmentId: number, identifier: string): string {
  return `${environmentId}:${identifier}`;
}

export class IdentityCache {
  private readonly entries = new Map<string, CachedIdentity>();
  private readonly keysById = new Map<number, string>();
  /** Bumped by every invalidation. */
  private sequence = 0;
  private readonly invalidatedAt = new Map<number, number>();
  /** Reads started before this sequence are not stored (an invalidation they raced was forgotten). */
  private floor = 0;

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The cached identity, if it was read under `generation` (the live LISTEN connection) and recently. */
  get(environmentId: number, identifier: string, generation: number, now: number): CachedIdentity | undefined {
    if (generation < 0) return undefined;
    const entry = this.entries.get(keyOf(environmentId, identifier));
    if (!entry) return undefined;
    if (entry.generation !== generation || now - entry.cachedAt >= IDENTITY_CACHE_MAX_AGE_MS) {
      this.remove(entry);
      return undefined;
    }
    return entry;
  }

  /**
   * What the cache holds for the identity, however old and under whichever connection it was read:
   * only for answering while the database is unreachable (sdk/service.ts), never to skip a read.
   */
  peek(environmentId: number, identifier: string): CachedIdentity | undefined {
    return this.entries.get(keyOf(environmentId, identifier));
  }

  /** To call before reading an identity from the database; pass the result to `store`. */
  begin(): number {
    return this.sequence;
  }

  /**
   * Caches an identity read from the database by a read that began at `started` under `generation`
   * (-1: not listening, nothing is stored). Returns the cached entry, or null when not stored.
   */
  store(
    started: number,
    generation: number,
    environmentId: number,
    identifier: string,
    identity: IdentityWithTraits,
    now: number,
  ): CachedIdentity | null {
    if (this.maxEntries <= 0 || generation < 0 || started < this.floor) return null;
    if ((this.invalidatedAt.get(identity.id) ?? -1) > started) return null;
    const key = keyOf(environmentId, identifier);
    const previous = this.entries.get(key);
    if (previous) this.remove(previous);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.values().next().value as CachedIdentity;
      this.remove(oldest);
    }
    const entry: CachedIdentity = {
      id: identity.id,
      djangoId: identity.djangoId,
      traits: Object.freeze([...identity.traits]),
      cached: true,
      environmentId,
      identifier,
      generation,
      cachedAt: now,
    };
    this.entries.set(key, entry);
    this.keysById.set(entry.id, key);
    return entry;
  }

  /** A notification payload: comma-separated identity ids, or `*`. */
  invalidate(payload: string | undefined): void {
    if (!payload) return;
    if (payload === "*") {
      this.clear();
      return;
    }
    for (const part of payload.split(",")) {
      const id = Number(part);
      if (Number.isSafeInteger(id) && id > 0) this.invalidateId(id);
    }
  }

  /** Drops one identity (also when this process changed it: before its notification comes back). */
  invalidateId(id: number): void {
    this.sequence += 1;
    if (this.invalidatedAt.size >= MAX_TRACKED_INVALIDATIONS) {
      this.invalidatedAt.clear();
      this.floor = this.sequence;
    }
    this.invalidatedAt.set(id, this.sequence);
    const key = this.keysById.get(id);
    const entry = key === undefined ? undefined : this.entries.get(key);
    if (entry) this.remove(entry);
  }

  /** Drops everything; reads in flight are not stored. */
  clear(): void {
    this.sequence += 1;
    this.floor = this.sequence;
    this.invalidatedAt.clear();
    this.entries.clear();
    this.keysById.clear();
  }

  private remove(entry: CachedIdentity): void {
    const key = keyOf(entry.environmentId, entry.identifier);
    if (this.entries.get(key) === entry) this.entries.delete(key);
    if (this.keysById.get(entry.id) === key) this.keysById.delete(entry.id);
  }
}

const slot = processSlot<IdentityCache>("identityCache");

/**
 * The process's identity cache (on globalThis: Next.js bundles and the direct path share it),
 * registered on the change listener: notifications drop entries, a reconnect or a stop empties it.
 */
export function identityCache(): IdentityCache {
  return slot.getOrCreate(() => {
    const created = new IdentityCache(settings().identityCacheEntries);
    subscribe(IDENTITY_CHANNEL, "identity-cache", {
      notify(payload) {
        identityNotifications.inc();
        created.invalidate(payload);
      },
      connected: () => created.clear(),
      stopped: () => created.clear(),
    });
    return created;
  });
}
