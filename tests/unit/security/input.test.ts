import { describe, expect, it } from "vitest";
import {
  findTextProblem,
  fitsIndex,
  isStorableDate,
  jsonDepthExceeds,
  jsonTextDepthExceeds,
  MAX_JSON_DEPTH,
  text,
  TEXT_MESSAGES,
  textProblem,
  utf8Length,
} from "@/server/input";

/** `{"a":{"a":…}}` nested `depth` deep, as JSON text (JSON.stringify itself would overflow). */
const nestedText = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);

describe("textProblem", () => {
  it("textProblem__nulOrUnpairedSurrogates__named", () => {
    // Given text PostgreSQL cannot store, and text it can (including a proper surrogate pair)
    // When checked
    // Then U+0000 and unpaired surrogates (high alone, low alone, reversed pair) are named, the rest passes
    expect(textProblem("a\u0000b")).toBe(TEXT_MESSAGES.nul);
    expect(textProblem("a\ud800b")).toBe(TEXT_MESSAGES.surrogate);
    expect(textProblem("a\udc00")).toBe(TEXT_MESSAGES.surrogate);
    expect(textProblem("\udc00\ud800")).toBe(TEXT_MESSAGES.surrogate);
    expect(textProblem("\ud800")).toBe(TEXT_MESSAGES.surrogate);
    expect(textProblem("emoji 😀, 中文, é, \u0001")).toBeNull();
    expect(textProblem("")).toBeNull();
  });
});

describe("byte lengths", () => {
  it("utf8Length__mixedText__bytesAsUtf8", () => {
    // Given ASCII, two-, three- and four-byte characters and an unpaired surrogate
    // When measured
    // Then the sizes are UTF-8's (a lone surrogate as U+FFFD's three bytes)
    for (const sample of ["abc", "é", "中文", "😀", "a😀b中", ""]) expect(utf8Length(sample)).toBe(Buffer.byteLength(sample, "utf8"));
    expect(utf8Length("\ud800")).toBe(3);
  });

  it("fitsIndex__cjkIdentifiers__limitedInBytesNotCharacters", () => {
    // Given 1,000 and 600 CJK characters (3,000 and 1,800 bytes)
    // When checked against the 2,000-byte index limit
    // Then the first is refused although it has fewer than 2,000 characters
    expect(fitsIndex("中".repeat(1000))).toBe(false);
    expect(fitsIndex("中".repeat(600))).toBe(true);
    // …and with a lower(…) index, growth when lower-cased counts (Ⱥ is 2 bytes, ⱥ 3)
    expect(fitsIndex("Ⱥ".repeat(700))).toBe(true);
    expect(fitsIndex("Ⱥ".repeat(700), { lowercased: true })).toBe(false);
  });
});

describe("text()", () => {
  it("text__hostileStrings__refusedWithTheirMessages", () => {
    // Given the shared zod string with the usual checks chained after it
    const schema = text().trim().min(1).max(20);

    // When hostile and ordinary strings are parsed
    const nul = schema.safeParse("a\u0000");
    const surrogate = schema.safeParse("x\udfff");

    // Then the hostile ones fail with the shared messages, and ordinary text is trimmed as before
    expect(nul.success).toBe(false);
    expect(nul.error?.issues[0].message).toBe(TEXT_MESSAGES.nul);
    expect(surrogate.error?.issues[0].message).toBe(TEXT_MESSAGES.surrogate);
    expect(schema.parse("  ok 😀 ")).toBe("ok 😀");
  });

  it("text__maxBytes__refusesLongUtf8ButNotLongCharacterCounts", () => {
    // Given an indexed text schema of 2,000 bytes
    const schema = text({ maxBytes: 2000 }).max(2000);

    // When 1,000 CJK characters (3,000 bytes) and 2,000 ASCII characters are parsed
    // Then only the CJK one is refused, for its bytes
    expect(schema.safeParse("中".repeat(1000)).error?.issues[0].message).toBe("Text is limited to 2000 bytes (UTF-8)");
    expect(schema.safeParse("a".repeat(2000)).success).toBe(true);
  });
});

describe("JSON depth", () => {
  it("jsonDepthExceeds__tenThousandLevels__answersWithoutOverflowingTheStack", () => {
    // Given values nested 10,000 deep (objects and arrays) and one exactly at the limit
    const deepObject = JSON.parse(nestedText(10_000)) as unknown;
    const deepArray = JSON.parse("[".repeat(10_000) + "]".repeat(10_000)) as unknown;
    const atLimit = JSON.parse(nestedText(MAX_JSON_DEPTH)) as unknown;

    // When checked
    // Then the deep ones exceed, the one at the limit and scalars do not
    expect(jsonDepthExceeds(deepObject)).toBe(true);
    expect(jsonDepthExceeds(deepArray)).toBe(true);
    expect(jsonDepthExceeds(atLimit)).toBe(false);
    expect(jsonDepthExceeds({ a: [1, { b: 2 }] }, 3)).toBe(false);
    expect(jsonDepthExceeds({ a: [1, { b: [] }] }, 3)).toBe(true);
    expect(jsonDepthExceeds("text")).toBe(false);
    expect(jsonDepthExceeds(null)).toBe(false);
  });

  it("jsonTextDepthExceeds__bracketsInStringsAndEscapes__notCounted", () => {
    // Given JSON text with brackets and escaped quotes inside strings
    const tricky = JSON.stringify({ a: '[[[[{{{{"\\', b: ["]]]}}}"] });

    // When its depth is read without parsing
    // Then only real nesting counts
    expect(jsonTextDepthExceeds(tricky, 2)).toBe(false);
    expect(jsonTextDepthExceeds(tricky, 1)).toBe(true);
    expect(jsonTextDepthExceeds(nestedText(5000))).toBe(true);
    expect(jsonTextDepthExceeds(nestedText(MAX_JSON_DEPTH))).toBe(false);
  });
});

describe("findTextProblem", () => {
  it("findTextProblem__nestedValuesAndKeys__firstProblemWithItsPath", () => {
    // Given documents with bad text in a nested value, and in an object key
    const inValue = { a: [{ ok: "fine" }, { name: "x\u0000" }] };
    const inKey = { list: [{ "k\ud800": 1 }] };

    // When scanned
    // Then the path of the first problem is given
    expect(findTextProblem(inValue)).toEqual({ path: ["a", 1, "name"], problem: TEXT_MESSAGES.nul });
    expect(findTextProblem(inKey)).toEqual({ path: ["list", 0, "k\ud800"], problem: `a key: ${TEXT_MESSAGES.surrogate}` });
    expect(findTextProblem({ a: ["fine", 1, null, { b: "😀" }] })).toBeNull();
  });
});

describe("isStorableDate", () => {
  it("isStorableDate__yearsOutsideOneTo9999__refused", () => {
    // Given JavaScript's extreme dates and ordinary ones
    // When checked
    // Then only four-digit years are storable (PostgreSQL and ISO 8601 text agree on them)
    expect(isStorableDate(new Date(8.64e15))).toBe(false); // +275760-09-13
    expect(isStorableDate(new Date(-8.64e15))).toBe(false);
    expect(isStorableDate(new Date("x"))).toBe(false);
    expect(isStorableDate(new Date("10000-01-01T00:00:00Z"))).toBe(false);
    expect(isStorableDate(new Date("9999-12-31T23:59:59.999Z"))).toBe(true);
    expect(isStorableDate(new Date("2026-06-01T12:00:00Z"))).toBe(true);
  });
});
