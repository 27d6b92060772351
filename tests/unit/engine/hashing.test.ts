import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { digestModulo9999 } from "@/server/engine/hashing";
import { getHashedPercentageForObjectIds, getHashedPercentageForPair } from "@/server/engine";

/** The reference algorithm, written the slow obvious way (BigInt over the hex digest). */
function referencePercentage(ids: (string | number)[], iterations = 1): number {
  const joined = Array.from({ length: iterations }, () => ids).flat().join(",");
  const n = BigInt("0x" + createHash("md5").update(joined).digest("hex"));
  const value = (Number(n % 9999n) / 9998) * 100;
  return value === 100 ? referencePercentage(ids, iterations + 1) : value;
}

/** ["exact", "10869"] hashes to N with N mod 9999 = 9998 (value exactly 100) on the first iteration. */
const EXACTLY_100_IDS = ["exact", "10869"];

describe("getHashedPercentageForObjectIds", () => {
  it.each([
    [["12345", "test_env_foobar"], 51.99],
    [["12345", "foobar"], 92.55],
    [["78986", "32103813"], 49.28],
  ])("getHashedPercentageForObjectIds__specExample%#__matchesWorkedValue", (ids, expected) => {
    // Given the worked examples of spec §4.6
    // When hashing the ids
    const value = getHashedPercentageForObjectIds(ids);
    // Then the value matches to two decimals
    expect(value).toBeCloseTo(expected, 2);
  });

  it("getHashedPercentageForObjectIds__digestModuloIs9998__iteratesWithDoubledIds", () => {
    // Given ids whose first digest leaves remainder 9998 (which would give exactly 100)
    const firstDigest = createHash("md5").update(EXACTLY_100_IDS.join(",")).digest();
    expect(digestModulo9999(firstDigest)).toBe(9998);
    // When hashing them
    const value = getHashedPercentageForObjectIds(EXACTLY_100_IDS);
    // Then the result is the hash of the list repeated twice ("exact,10869,exact,10869"), below 100
    const doubled = createHash("md5").update("exact,10869,exact,10869").digest();
    expect(value).toBe((digestModulo9999(doubled) / 9998) * 100);
    expect(value).toBeLessThan(100);
    expect(value).toBe(referencePercentage(EXACTLY_100_IDS));
  });

  it("getHashedPercentageForPair__exactly100Input__iteratesLikeTheListVersion", () => {
    // Given the same exactly-100 ids as a pair
    const [first, second] = EXACTLY_100_IDS;
    // When hashing through the allocation-free pair variant
    const value = getHashedPercentageForPair(first, second);
    // Then it agrees with the list version
    expect(value).toBe(getHashedPercentageForObjectIds(EXACTLY_100_IDS));
  });

  it("getHashedPercentageForObjectIds__explicitIterations__repeatsTheWholeList", () => {
    // Given an explicit iteration count
    const ids = ["a", "b"];
    // When hashing with iterations = 3
    const value = getHashedPercentageForObjectIds(ids, 3);
    // Then the list is repeated as a whole ("a,b,a,b,a,b")
    const digest = createHash("md5").update("a,b,a,b,a,b").digest();
    expect(value).toBe((digestModulo9999(digest) / 9998) * 100);
  });

  it("getHashedPercentageForObjectIds__manyInputs__inRangeAndEqualToBigIntReference", () => {
    // Given a few thousand varied inputs (numbers, unicode, empty strings)
    const inputs: (string | number)[][] = [];
    for (let i = 0; i < 3000; i++) inputs.push([String(i), `identity-${i}-é✓`, i % 7 === 0 ? "" : i]);
    // When hashing each one
    const values = inputs.map((ids) => getHashedPercentageForObjectIds(ids));
    // Then every value is in [0, 100) and equals the BigInt reference implementation
    for (let i = 0; i < inputs.length; i++) {
      expect(values[i]).toBeGreaterThanOrEqual(0);
      expect(values[i]).toBeLessThan(100);
      expect(values[i]).toBe(referencePercentage(inputs[i]));
    }
  });

  it("digestModulo9999__allOnesDigest__equalsBigIntRemainder", () => {
    // Given the largest possible digest (2^128 - 1) and a digest with high bits set in every word
    const maxDigest = new Uint8Array(16).fill(0xff);
    const mixed = Uint8Array.from([0x80, 0, 0, 1, 0xff, 0x7f, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56, 0x78]);
    // When reducing them modulo 9999
    const maxRemainder = digestModulo9999(maxDigest);
    const mixedRemainder = digestModulo9999(mixed);
    // Then the results equal BigInt arithmetic
    expect(maxRemainder).toBe(Number((2n ** 128n - 1n) % 9999n));
    expect(mixedRemainder).toBe(Number(BigInt("0x" + Buffer.from(mixed).toString("hex")) % 9999n));
  });
});
