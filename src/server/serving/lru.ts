/**
 * Least-recently-used order on a Map (whose iteration order is insertion order), for the read
 * side's bounded caches (key-cache.ts, document-cache.ts).
 *
 * A cache hit moves its entry to the young end at most once per TOUCH_INTERVAL_MS (`touch`: a
 * delete and a set, nothing allocated), so the hot path stays cheap and the order is right to within
 * that interval. Eviction takes the oldest entry a cache's rule accepts (`oldestWhere`).
 */

/** An entry used again within this long keeps its place (ms). */
export const TOUCH_INTERVAL_MS = 1_000;

/** Moves `key` (holding `value`) to the most-recently-used end of `map`. */
export function touch<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
}

/**
 * A cache hit: moves the entry to the most-recently-used end unless it moved there within the last
 * TOUCH_INTERVAL_MS (the entry remembers when, in `touchedAt`).
 */
export function touchIfDue<K, V extends { touchedAt: number }>(map: Map<K, V>, key: K, entry: V, now: number): void {
  if (now - entry.touchedAt < TOUCH_INTERVAL_MS) return;
  entry.touchedAt = now;
  touch(map, key, entry);
}

/**
 * The least recently used key whose entry `evictable` accepts (scanning from the oldest), or
 * undefined when it accepts none. O(entries skipped): callers evict on a miss (a database read
 * anyway), never on a hit.
 */
export function oldestWhere<K, V>(map: ReadonlyMap<K, V>, evictable: (value: V, key: K) => boolean): K | undefined {
  for (const [key, value] of map) if (evictable(value, key)) return key;
  return undefined;
}
