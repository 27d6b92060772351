import { describe, expect, it } from "vitest";
import {
  coerceTraitValue,
  dedupeTraits,
  markTransient,
  parseBoolean,
  parseIdentifier,
  parseIdentifyBody,
  planTraits,
  traitsForEvaluation,
  transientIdentifier,
  type IncomingTrait,
} from "@/server/sdk/traits";

const trait = (key: string, value: IncomingTrait["value"], transient = false): IncomingTrait => ({ key, value, transient });

describe("parseIdentifyBody", () => {
  it("parseIdentifyBody__sdkShapedBody__identifierTraitsAndTransientFlags", () => {
    // Given the body flagsmith-nodejs sends, with a transient trait and a transient identity
    const body = {
      identifier: "user-1",
      traits: [
        { trait_key: "age", trait_value: 30 },
        { trait_key: "plan", trait_value: "pro", transient: true },
        { trait_key: "beta", trait_value: false },
        { trait_key: "score", trait_value: 1.5 },
        { trait_key: "gone", trait_value: null },
      ],
      transient: true,
    };

    // When parsed
    const parsed = parseIdentifyBody(body);

    // Then every trait keeps its JSON type and flags
    expect(parsed).toEqual({
      ok: true,
      value: {
        identifier: "user-1",
        transient: true,
        traits: [trait("age", 30), trait("plan", "pro", true), trait("beta", false), trait("score", 1.5), trait("gone", null)],
      },
    });
  });

  it("parseIdentifyBody__missingOrEmptyIdentifier__nullIdentifier", () => {
    // Given bodies without an identifier
    // When parsed
    const absent = parseIdentifyBody({ traits: [{ trait_key: "a", trait_value: 1 }] });
    const empty = parseIdentifyBody({ identifier: "" });

    // Then the identifier is null (a fully transient identity)
    expect(absent.ok && absent.value.identifier).toBeNull();
    expect(empty.ok && empty.value.identifier).toBeNull();
  });

  it("parseIdentifyBody__numberIdentifierAndKey__stringified", () => {
    // Given numbers where DRF's CharField accepts them
    // When parsed
    const parsed = parseIdentifyBody({ identifier: 42, traits: [{ trait_key: 7, trait_value: "x" }] });

    // Then they become strings
    expect(parsed).toEqual({ ok: true, value: { identifier: "42", transient: false, traits: [trait("7", "x")] } });
  });

  it("parseIdentifyBody__absentTraitValue__treatedAsNull", () => {
    // Given a trait whose value is undefined in JavaScript (so absent from the JSON)
    // When parsed
    const parsed = parseIdentifyBody({ identifier: "u", traits: [{ trait_key: "a" }] });

    // Then it is a null value (deletes the trait)
    expect(parsed.ok && parsed.value.traits).toEqual([trait("a", null)]);
  });

  it.each([
    ["not an object", [1, 2], "Expected a JSON object"],
    ["identifier of the wrong type", { identifier: { a: 1 } }, "identifier: Not a valid string."],
    ["identifier too long", { identifier: "x".repeat(2001) }, "identifier: Ensure this field has no more than 2000 characters"],
    ["traits not a list", { identifier: "u", traits: { a: 1 } }, "traits: Expected a list of items."],
    ["trait not an object", { identifier: "u", traits: ["a"] }, "traits[0]: Expected an object"],
    ["trait without key", { identifier: "u", traits: [{ trait_value: 1 }] }, "traits[0].trait_key: This field is required."],
    ["blank trait key", { identifier: "u", traits: [{ trait_key: " ", trait_value: 1 }] }, "traits[0].trait_key: This field may not be blank."],
    ["trait key too long", { identifier: "u", traits: [{ trait_key: "k".repeat(201), trait_value: 1 }] }, "traits[0].trait_key: Ensure this field has no more than 200 characters."],
    ["trait string too long", { identifier: "u", traits: [{ trait_key: "k", trait_value: "v".repeat(2001) }] }, "traits[0].trait_value: Ensure this value has no more than 2000 characters."],
    ["bad transient", { identifier: "u", transient: "maybe" }, "transient: Must be a valid boolean."],
    ["identifier over 2000 UTF-8 bytes", { identifier: "\u20ac".repeat(1000) }, "identifier: Ensure this field has no more than 2000"],
    ["NUL in identifier", { identifier: "a\u0000b" }, "identifier: Null characters are not allowed."],
    ["NUL in trait key", { identifier: "u", traits: [{ trait_key: "k\u0000", trait_value: 1 }] }, "traits[0].trait_key: Null characters are not allowed."],
    ["NUL in trait value", { identifier: "u", traits: [{ trait_key: "k", trait_value: "v\u0000" }] }, "traits[0].trait_value: Null characters are not allowed."],
    ["bad trait transient", { identifier: "u", traits: [{ trait_key: "k", trait_value: 1, transient: [] }] }, "traits[0].transient: Must be a valid boolean."],
  ])("parseIdentifyBody__%s__refusedWithDetail", (_name, body, message) => {
    // Given an invalid body
    // When parsed
    const parsed = parseIdentifyBody(body);

    // Then it is refused with a message naming the field
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.detail).toContain(message);
  });
});

describe("trait values", () => {
  it("coerceTraitValue__objectsAndLists__pythonStrLikeFlagsmith", () => {
    // Given values outside int/float/bool/str
    // When coerced
    const object = coerceTraitValue({ a: 1, b: [true, null] });
    const list = coerceTraitValue([1, "x"]);

    // Then they are stored as Python's str() of them
    expect(object).toEqual({ ok: true, value: "{'a': 1, 'b': [True, None]}" });
    expect(list).toEqual({ ok: true, value: "[1, 'x']" });
  });

  it("parseBoolean__drfSpellings__parsedOrUndefined", () => {
    // Given DRF BooleanField spellings
    // When parsed
    const values = ["true", "True", "1", "yes", "on", "false", "0", "off", "nope", 1, 0, true, 2].map(parseBoolean);

    // Then true/false spellings parse and anything else is undefined
    expect(values).toEqual([true, true, true, true, true, false, false, false, undefined, true, false, true, undefined]);
  });

  it("parseIdentifier__nullOrEmpty__null", () => {
    // Given query-string identifiers
    // When parsed
    // Then empty means absent
    expect(parseIdentifier(null)).toEqual({ ok: true, value: null });
    expect(parseIdentifier("")).toEqual({ ok: true, value: null });
    expect(parseIdentifier("u 1")).toEqual({ ok: true, value: "u 1" });
  });
});

describe("transientIdentifier", () => {
  it("transientIdentifier__traits__sha256OfSortedKeyValuePairsAsPython", () => {
    // Given traits in any order (expected value computed with Python's f-string formatting)
    const traits = [trait("name", "Bob"), trait("age", 30), trait("premium", true), trait("score", 1.5), trait("ignored", null)];

    // When an identifier is derived
    const identifier = transientIdentifier(traits);

    // Then it is Flagsmith's get_transient_identifier (null values left out)
    expect(identifier).toBe("65ff10c4ccc544481f5b85fd26ce712d5f72ff51d2728f1cbcc5816a06db0ffd");
  });

  it("transientIdentifier__noTraits__randomUuidHex", () => {
    // Given no traits
    // When identifiers are derived twice
    const first = transientIdentifier([]);
    const second = transientIdentifier([trait("a", null)]);

    // Then they are random 32-hex-digit uuids
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(second).toMatch(/^[0-9a-f]{32}$/);
    expect(first).not.toBe(second);
  });
});

describe("planTraits", () => {
  const stored = [
    { key: "age", value: 30 },
    { key: "plan", value: "free" },
    { key: "country", value: "fr" },
  ];

  it("planTraits__persisting__writesOnlyChangesAndDeletesNulls", () => {
    // Given stored traits and an update with an unchanged, a changed, a new, a null and a transient trait
    const incoming = [trait("age", 30), trait("plan", "pro"), trait("new", true), trait("country", null), trait("temp", 5, true)];

    // When planned for a persisted identity in an organisation persisting traits
    const plan = planTraits(stored, incoming, { persist: true });

    // Then only changes are written, the null deletes, and the transient trait is evaluated but not written
    expect(plan.upserts).toEqual([
      { key: "plan", value: "pro" },
      { key: "new", value: true },
    ]);
    expect(plan.deletes).toEqual(["country"]);
    expect(plan.effective).toEqual([
      { key: "age", value: 30, transient: false },
      { key: "plan", value: "pro", transient: false },
      { key: "new", value: true, transient: false },
      { key: "temp", value: 5, transient: true },
    ]);
  });

  it("planTraits__typeChangeOfSameValue__rewritten", () => {
    // Given a stored int and the same digits as a string
    // When planned
    const plan = planTraits([{ key: "age", value: 30 }], [trait("age", "30")], { persist: true });

    // Then the new type is written
    expect(plan.upserts).toEqual([{ key: "age", value: "30" }]);
  });

  it("planTraits__notPersisting__mergesInMemoryWithoutWrites", () => {
    // Given an organisation that does not persist trait data
    // When planned
    const plan = planTraits(stored, [trait("plan", "pro"), trait("country", null)], { persist: false });

    // Then nothing is written and the evaluation sees stored traits overlaid with incoming ones
    expect(plan.upserts).toEqual([]);
    expect(plan.deletes).toEqual([]);
    expect(traitsForEvaluation(plan.effective)).toEqual({ age: 30, plan: "pro" });
  });

  it("planTraits__nullForUnknownKey__noDelete", () => {
    // Given a null value for a trait that is not stored
    // When planned
    const plan = planTraits(stored, [trait("unknown", null)], { persist: true });

    // Then there is nothing to delete
    expect(plan.deletes).toEqual([]);
  });

  it("dedupeTraits__repeatedKey__lastWins", () => {
    // Given the same key twice
    // When deduplicated
    const traits = dedupeTraits([trait("a", 1), trait("b", 2), trait("a", 3)]);

    // Then the last value wins, in its position
    expect(traits).toEqual([trait("b", 2), trait("a", 3)]);
  });

  it("markTransient__traits__allTransient", () => {
    // Given mixed traits
    // When marked (a transient identity)
    const traits = markTransient([trait("a", 1), trait("b", 2, true)]);

    // Then every trait is transient
    expect(traits.every((t) => t.transient)).toBe(true);
  });

  it("traitsForEvaluation__protoKey__plainTrait", () => {
    // Given a trait named like an object internal
    // When mapped for the engine
    const traits = traitsForEvaluation([{ key: "__proto__", value: "x", transient: false }]);

    // Then it is an own property like any other trait
    expect(Object.hasOwn(traits, "__proto__")).toBe(true);
    expect(traits["__proto__"]).toBe("x");
  });
});
