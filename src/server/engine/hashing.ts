/**
 * Flagsmith's deterministic percentage hash (ENG `flag_engine/utils/hashing.py`,
 * ../shared/reference/flagsmith-compat.md §4.6).
 *
 * value = ((N mod 9999) / 9998) × 100, where N is the MD5 digest of the comma-joined ids read as an unsigned
 * 128-bit big-endian integer; when the value is exactly 100 the ids are hashed again repeated once more.
 *
 * Hot path (every multivariate flag and PERCENTAGE_SPLIT condition of every identity request), so instead of
 * building a BigInt from the hex digest we reduce the 16 digest bytes modulo 9999 as four 32-bit words:
 * Horner's scheme gives the same remainder as `BigInt('0x' + hex) % 9999n`, and every intermediate value stays
 * below 9999 × 2³² + 2³² < 2⁵³, so plain doubles are exact.
 */
import { hash } from "node:crypto";

const MODULUS = 9999;
const TWO_POW_32 = 4294967296;

/** N mod 9999 for a 16-byte big-endian digest. */
export function digestModulo9999(digest: Uint8Array): number {
  let remainder = 0;
  for (let offset = 0; offset < 16; offset += 4) {
    const word =
      ((digest[offset] << 24) >>> 0) + (digest[offset + 1] << 16) + (digest[offset + 2] << 8) + digest[offset + 3];
    remainder = (remainder * TWO_POW_32 + word) % MODULUS;
  }
  return remainder;
}

/** The percentage (0 ≤ p ≤ 100) for one already-joined string; 100 only when N mod 9999 = 9998. */
function percentageOfString(joined: string): number {
  return (digestModulo9999(hash("md5", joined, "buffer")) / 9998) * 100;
}

/** `ids` repeated `iterations` times as a whole, joined with commas (`[a, b]` × 2 → `a,b,a,b`). */
function repeatJoined(joined: string, idCount: number, iterations: number): string {
  if (iterations === 1 || idCount === 0) return joined;
  return (joined + ",").repeat(iterations - 1) + joined;
}

/**
 * Flagsmith's `get_hashed_percentage_for_object_ids`: a number in [0, 100).
 *
 * Ids are stringified with `String()`, which equals Python's `str()` for strings and integers; callers holding
 * other values (floats, booleans) must pass their Python string form (see `pyStr` in ./python.ts).
 */
export function getHashedPercentageForObjectIds(ids: readonly (string | number)[], iterations = 1): number {
  const joined = ids.join(",");
  for (let i = iterations; ; i++) {
    const value = percentageOfString(repeatJoined(joined, ids.length, i));
    if (value !== 100) return value;
  }
}

/** Same as `getHashedPercentageForObjectIds([first, second])` without allocating the array. */
export function getHashedPercentageForPair(first: string, second: string): number {
  const joined = first + "," + second;
  for (let i = 1; ; i++) {
    const value = percentageOfString(repeatJoined(joined, 2, i));
    if (value !== 100) return value;
  }
}
