import { describe, expect, it } from "vitest";
import { MAX_ATTRIBUTE_DEPTH, parseEvaluationRequest } from "@/server/ofrep/context";

const parse = (body: unknown) => parseEvaluationRequest(typeof body === "string" ? body : JSON.stringify(body));

describe("parseEvaluationRequest", () => {
  it("parseEvaluationRequest__targetingKeyAndAttributes__identifierAndTransientTraits", () => {
    // Given a context with a targeting key and attributes of every JSON type
    const parsed = parse({ context: { targetingKey: "user-1", plan: "pro", age: 42, beta: true, gone: null, tags: ["a", 1], nested: { x: true } } });

    // Then the key is the identifier and every other attribute a transient trait (objects as Flagsmith's str())
    expect(parsed).toEqual({
      ok: true,
      value: {
        identifier: "user-1",
        traits: [
          { key: "plan", value: "pro", transient: true },
          { key: "age", value: 42, transient: true },
          { key: "beta", value: true, transient: true },
          { key: "gone", value: null, transient: true },
          { key: "tags", value: "['a', 1]", transient: true },
          { key: "nested", value: "{'x': True}", transient: true },
        ],
      },
    });
  });

  it("parseEvaluationRequest__noTargetingKey__noIdentityAndAttributesIgnored", () => {
    // Given contexts without an identity: none, an empty key, attributes only, no context at all
    // Then each is the identity-less evaluation, without traits
    for (const body of [{ context: {} }, { context: { targetingKey: "" } }, { context: { plan: "pro", bad: { a: { b: 1 } } } }, {}, { context: null }]) {
      expect(parse(body)).toEqual({ ok: true, value: { identifier: null, traits: [] } });
    }
  });

  it("parseEvaluationRequest__emptyBody__anEmptyContextAsTheDocsSay", () => {
    // Given a request without a body (or only whitespace)
    // Then it is the identity-less evaluation
    for (const body of ["", "  \n"]) expect(parseEvaluationRequest(body)).toEqual({ ok: true, value: { identifier: null, traits: [] } });
  });

  it("parseEvaluationRequest__notJson__parseError", () => {
    // Given bodies that are not a JSON object
    // Then they are PARSE_ERRORs
    for (const body of ["{bad", "[]", '"text"', "42", "null"]) {
      const parsed = parse(body);
      expect(parsed.ok, body).toBe(false);
      expect(parsed.ok ? null : parsed.errorCode, body).toBe("PARSE_ERROR");
    }
  });

  it("parseEvaluationRequest__contextsBeyondTheRules__invalidContext", () => {
    // Given contexts that are not objects, or break the SDK API's limits
    const deep = JSON.parse("[".repeat(MAX_ATTRIBUTE_DEPTH + 1) + "]".repeat(MAX_ATTRIBUTE_DEPTH + 1)) as unknown;
    const cases: unknown[] = [
      { context: "user-1" },
      { context: [] },
      { context: { targetingKey: 42 } },
      { context: { targetingKey: { id: 1 } } },
      { context: { targetingKey: "x".repeat(2001) } },
      { context: { targetingKey: "a\u0000b" } },
      { context: { targetingKey: "u", "": 1 } },
      { context: { targetingKey: "u", ["k".repeat(201)]: 1 } },
      { context: { targetingKey: "u", plan: "x".repeat(20_001) } },
      { context: { targetingKey: "u", deep } },
    ];

    // Then each is an INVALID_CONTEXT with details
    for (const body of cases) {
      const parsed = parse(body);
      expect(parsed.ok ? "ok" : parsed.errorCode, JSON.stringify(body).slice(0, 80)).toBe("INVALID_CONTEXT");
    }
  });

  it("parseEvaluationRequest__hostileAttributeNames__plainTraits", () => {
    // Given attribute names that are special in JavaScript objects
    const parsed = parseEvaluationRequest('{"context":{"targetingKey":"u","__proto__":"x","constructor":1}}');

    // Then they are just traits
    expect(parsed.ok && parsed.value.traits.map((t) => t.key)).toEqual(["__proto__", "constructor"]);
  });
});
