/** Hostile input on the SDK path's parsing (sdk/traits.ts): refused as 400 details, never thrown. */
import { describe, expect, it } from "vitest";
import { coerceTraitValue, parseIdentifier, parseIdentifyBody } from "@/server/sdk/traits";

const nested = (depth: number): unknown => JSON.parse("[".repeat(depth) + "]".repeat(depth));

describe("SDK input", () => {
  it("coerceTraitValue__nestedTenThousandDeep__refusedWithoutRecursing", () => {
    // Given a trait value nested 10,000 deep (Python's str() of it would be printed recursively)
    const value = nested(10_000);

    // When coerced
    const result = coerceTraitValue(value);

    // Then it is refused as too deep, without a stack overflow
    expect(result).toEqual({ ok: false, detail: "Nested more than 100 levels deep." });
    // …while shallow lists still become Python's str() of them
    expect(coerceTraitValue([1, "a", [true]])).toEqual({ ok: true, value: "[1, 'a', [True]]" });
  });

  it("coerceTraitValue__unpairedSurrogateOrNul__refused", () => {
    // Given trait values jsonb cannot hold: an unpaired surrogate (also inside a list) and U+0000
    // When coerced
    // Then each is refused with a reason
    expect(coerceTraitValue("a\ud800")).toEqual({ ok: false, detail: "Text must be valid Unicode (it contains an unpaired surrogate)." });
    expect(coerceTraitValue(["a\udc00"])).toMatchObject({ ok: false });
    expect(coerceTraitValue("a\u0000")).toEqual({ ok: false, detail: "Null characters are not allowed." });
  });

  it("parseIdentifyBody__hostileIdentifierOrTraitKey__400Details", () => {
    // Given bodies with an unpaired surrogate in the identifier, in a trait key, and 1,000 CJK characters (3,000 bytes)
    // When parsed
    const identifier = parseIdentifyBody({ identifier: "user\ud800" });
    const key = parseIdentifyBody({ identifier: "u", traits: [{ trait_key: "k\udfff", trait_value: 1 }] });
    const cjk = parseIdentifier("中".repeat(1000));

    // Then each is a detail naming the field, and nothing throws
    expect(identifier).toEqual({ ok: false, detail: "identifier: Text must be valid Unicode (it contains an unpaired surrogate)." });
    expect(key).toEqual({ ok: false, detail: "traits[0].trait_key: Text must be valid Unicode (it contains an unpaired surrogate)." });
    expect(cjk).toMatchObject({ ok: false });
    expect(parseIdentifier("x\u0000")).toEqual({ ok: false, detail: "identifier: Null characters are not allowed." });
  });
});
