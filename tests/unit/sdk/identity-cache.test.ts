import { describe, expect, it } from "vitest";
import { IDENTITY_CACHE_MAX_AGE_MS, IdentityCache, isCachedIdentity } from "@/server/sdk/identity-cache";

const NOW = 1_000_000;
const GENERATION = 3;
const identity = (id: number, age = 30) => ({ id, djangoId: null, traits: [{ key: "age", value: age }] });

/** A cache holding identity `id` as "user-<id>" of environment 1, read at NOW under GENERATION. */
function cacheWith(...ids: number[]): IdentityCache {
  const cache = new IdentityCache(100);
  for (const id of ids) cache.store(cache.begin(), GENERATION, 1, `user-${id}`, identity(id), NOW);
  return cache;
}

describe("IdentityCache", () => {
  it("get__storedUnderTheLiveGeneration__theIdentityUntilItIsTooOld", () => {
    // Given an identity read under the live LISTEN generation
    const cache = cacheWith(7);

    // When it is looked up: now, under another environment, after a reconnect, while not listening, and too late
    const hit = cache.get(1, "user-7", GENERATION, NOW + 1);

    // Then only the first finds it
    expect(hit).toMatchObject({ id: 7, traits: [{ key: "age", value: 30 }] });
    expect(isCachedIdentity(hit ?? null)).toBe(true);
    expect(cache.get(2, "user-7", GENERATION, NOW + 1)).toBeUndefined();
    expect(cache.get(1, "user-7", -1, NOW + 1)).toBeUndefined();
    expect(cache.get(1, "user-7", GENERATION, NOW + IDENTITY_CACHE_MAX_AGE_MS)).toBeUndefined();
    expect(cache.get(1, "user-7", GENERATION + 1, NOW + 1)).toBeUndefined();
  });

  it("store__notListening__notCached", () => {
    // Given a read made while the process did not LISTEN
    const cache = new IdentityCache(100);

    // When it is stored
    const stored = cache.store(cache.begin(), -1, 1, "user-7", identity(7), NOW);

    // Then nothing is kept
    expect(stored).toBeNull();
    expect(cache.size).toBe(0);
  });

  it("invalidate__idsOrEverything__dropsThoseEntriesOnly", () => {
    // Given three cached identities
    const cache = cacheWith(1, 2, 3);

    // When notifications name two of them (and carry junk)
    cache.invalidate("1,3,x,-4,");

    // Then only the third remains, and `*` drops it too
    expect(cache.get(1, "user-1", GENERATION, NOW)).toBeUndefined();
    expect(cache.get(1, "user-2", GENERATION, NOW)).toBeDefined();
    expect(cache.get(1, "user-3", GENERATION, NOW)).toBeUndefined();
    cache.invalidate("*");
    expect(cache.size).toBe(0);
  });

  it("store__invalidatedWhileTheReadRan__usedButNotCached", () => {
    // Given a read that began before the identity changed elsewhere
    const cache = new IdentityCache(100);
    const started = cache.begin();
    cache.invalidate("7");

    // When its (possibly older) result arrives, and a read of another identity began at the same time
    const stale = cache.store(started, GENERATION, 1, "user-7", identity(7), NOW);
    const other = cache.store(started, GENERATION, 1, "user-8", identity(8), NOW);

    // Then the raced read is not kept; the other is
    expect(stale).toBeNull();
    expect(cache.get(1, "user-7", GENERATION, NOW)).toBeUndefined();
    expect(other).not.toBeNull();
    // And a read that began after the change is kept
    expect(cache.store(cache.begin(), GENERATION, 1, "user-7", identity(7, 12), NOW)?.traits).toEqual([{ key: "age", value: 12 }]);
  });

  it("store__clearedWhileTheReadRan__notCached", () => {
    // Given a read in flight when everything was dropped (e.g. the listener reconnected)
    const cache = new IdentityCache(100);
    const started = cache.begin();
    cache.clear();

    // When its result arrives
    // Then it is not kept
    expect(cache.store(started, GENERATION, 1, "user-7", identity(7), NOW)).toBeNull();
  });

  it("store__full__oldestEntryGoes", () => {
    // Given a cache of two entries, full
    const cache = new IdentityCache(2);
    cache.store(cache.begin(), GENERATION, 1, "a", identity(1), NOW);
    cache.store(cache.begin(), GENERATION, 1, "b", identity(2), NOW);

    // When a third is stored
    cache.store(cache.begin(), GENERATION, 1, "c", identity(3), NOW);

    // Then the first is gone, and invalidating its id touches nothing else
    expect(cache.size).toBe(2);
    expect(cache.get(1, "a", GENERATION, NOW)).toBeUndefined();
    cache.invalidate("1");
    expect(cache.get(1, "b", GENERATION, NOW)).toBeDefined();
    expect(cache.get(1, "c", GENERATION, NOW)).toBeDefined();
  });

  it("store__sizeZero__disabled", () => {
    // Given a cache configured with no entries
    const cache = new IdentityCache(0);

    // When an identity is stored
    // Then nothing is kept
    expect(cache.store(cache.begin(), GENERATION, 1, "a", identity(1), NOW)).toBeNull();
  });
});
