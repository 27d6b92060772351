/**
 * Evaluator behaviour beyond single conditions: override precedence, multivariate allocation, variants,
 * reasons, metadata, identity-key enrichment and result ordering (spec §4.2, §4.7–§4.9).
 */
import { describe, expect, it } from "vitest";
import {
  createEvaluator,
  getEvaluationResult,
  getHashedPercentageForObjectIds,
  type EvaluationContext,
  type FeatureContext,
  type SegmentContext,
} from "@/server/engine";
import { pyFloatRepr, pyFloatMod, parsePyFloat, parsePyInt } from "@/server/engine/python";

const ALWAYS: SegmentContext["rules"] = [{ type: "ALL", conditions: [{ property: "$.identity.identifier", operator: "IS_SET", value: "" }] }];

function feature(overrides: Partial<FeatureContext> = {}): FeatureContext {
  return { key: "10", name: "f", enabled: false, value: "default", ...overrides };
}

function segment(key: string, name: string, overrides: FeatureContext[], extra: Partial<SegmentContext> = {}): SegmentContext {
  return { key, name, rules: ALWAYS, overrides, ...extra };
}

function context(features: FeatureContext[], segments: SegmentContext[] = [], identityKey?: string): EvaluationContext {
  return {
    environment: { key: "env", name: "Env" },
    identity: { identifier: "user", ...(identityKey ? { key: identityKey } : {}) },
    features: Object.fromEntries(features.map((f) => [f.name, f])),
    segments: Object.fromEntries(segments.map((s) => [s.key, s])),
  };
}

describe("override precedence", () => {
  it("overrides__differentPriorities__lowestPriorityNumberWins", () => {
    // Given two matching segments overriding the same feature with priorities 2 and 1
    const ctx = context(
      [feature()],
      [segment("1", "weak", [feature({ value: "weak", priority: 2 })]), segment("2", "strong", [feature({ value: "strong", priority: 1 })])],
    );
    // When evaluated
    const flag = getEvaluationResult(ctx).flags.f;
    // Then the lower priority number wins and the reason names its segment
    expect(flag).toStrictEqual({ name: "f", enabled: false, value: "strong", reason: "TARGETING_MATCH; segment=strong", variant: null });
  });

  it.each([
    ["missing", undefined],
    ["equal", 3],
  ])("overrides__%sPriorities__firstSeenWins", (_name, priority) => {
    // Given two matching segments whose overrides have the same (or no, i.e. +infinity) priority
    const ctx = context(
      [feature()],
      [
        segment("1", "first", [feature({ value: "first", priority })]),
        segment("2", "second", [feature({ value: "second", priority })]),
      ],
    );
    // When evaluated
    const flag = getEvaluationResult(ctx).flags.f;
    // Then the override seen first (context order) is kept
    expect(flag.value).toBe("first");
  });

  it("overrides__identityOverrideWithMinusInfinity__beatsPriorityZero", () => {
    // Given a segment override with priority 0 and an identity override with priority -Infinity seen later
    const ctx = context(
      [feature()],
      [
        segment("1", "segment", [feature({ value: "segment", priority: 0 })]),
        segment("identity_override", "identity_overrides", [feature({ value: "identity", priority: -Infinity })]),
      ],
    );
    // When evaluated
    const flag = getEvaluationResult(ctx).flags.f;
    // Then the identity override wins
    expect(flag.value).toBe("identity");
    expect(flag.reason).toBe("TARGETING_MATCH; segment=identity_overrides");
  });

  it("overrides__enabledOverrideOnDisabledFeature__enabledReplacesDefault", () => {
    // Given a disabled feature and an enabled override
    const ctx = context([feature({ enabled: false })], [segment("1", "s", [feature({ enabled: true, value: "on" })])]);
    // When evaluated
    const flag = getEvaluationResult(ctx).flags.f;
    // Then the override's enabled state is returned
    expect(flag.enabled).toBe(true);
  });

  it("overrides__segmentNotMatched__defaultWithDefaultReason", () => {
    // Given a segment whose rule does not match
    const never: SegmentContext["rules"] = [{ type: "ALL", conditions: [{ property: "x", operator: "IS_SET", value: "" }] }];
    const ctx = context([feature()], [segment("1", "s", [feature({ value: "override" })], { rules: never })]);
    // When evaluated
    const result = getEvaluationResult(ctx);
    // Then the default applies and no segment is reported
    expect(result.flags.f).toStrictEqual({ name: "f", enabled: false, value: "default", reason: "DEFAULT", variant: null });
    expect(result.segments).toStrictEqual([]);
  });
});

describe("multivariate", () => {
  const identityKey = "mv-user";
  const percentage = getHashedPercentageForObjectIds(["10", identityKey]);

  it("multivariate__percentageInsideSecondVariantByPriority__returnsItsValueKeyAndWeight", () => {
    // Given two variants listed out of priority order, the one with the lower priority covering [0, p)
    const first = Math.floor(percentage); // [0, first) excludes p
    const ctx = context(
      [
        feature({
          variants: [
            { key: "second", value: "B", weight: 100 - first, priority: 2 },
            { key: "first", value: "A", weight: first, priority: 1 },
          ],
        }),
      ],
      [],
      identityKey,
    );
    // When evaluated
    const flag = getEvaluationResult(ctx).flags.f;
    // Then p falls in the second range [first, 100) of the priority-sorted variants
    expect(flag).toMatchObject({ value: "B", variant: "second", reason: `SPLIT; weight=${100 - first}` });
  });

  it("multivariate__percentageInRemainder__controlValueAndControlVariant", () => {
    // Given variants covering less than the identity's percentage
    const ctx = context([feature({ variants: [{ key: "a", value: "A", weight: Math.floor(percentage) - 1, priority: 1 }] })], [], identityKey);
    // When evaluated
    const flag = getEvaluationResult(ctx).flags.f;
    // Then the control value is returned with variant "control" and the DEFAULT reason
    expect(flag).toMatchObject({ value: "default", variant: "control", reason: "DEFAULT" });
  });

  it("multivariate__unkeyedVariantChosen__variantNull", () => {
    // Given a single unkeyed variant covering 100%
    const ctx = context([feature({ variants: [{ value: "A", weight: 100, priority: 1 }] })], [], identityKey);
    // When evaluated
    const flag = getEvaluationResult(ctx).flags.f;
    // Then the variant is null (no key) and the weight prints like Python's int
    expect(flag).toMatchObject({ value: "A", variant: null, reason: "SPLIT; weight=100" });
  });

  it("multivariate__fractionalWeight__reasonFormattedLikePythonFloat", () => {
    // Given a variant with weight 99.99 (contains every percentage below 99.99)
    const ctx = context([feature({ variants: [{ value: "A", weight: 99.99, priority: 1 }] })], [], identityKey);
    // When evaluated
    const flag = getEvaluationResult(ctx).flags.f;
    // Then the reason carries Python's float formatting
    expect(flag.reason).toBe("SPLIT; weight=99.99");
  });

  it("multivariate__withoutIdentity__controlValueAndNullVariant", () => {
    // Given a multivariate feature and no identity
    const ctx: EvaluationContext = {
      environment: { key: "env", name: "Env" },
      features: { f: feature({ variants: [{ key: "a", value: "A", weight: 100, priority: 1 }] }) },
    };
    // When evaluated
    const flag = getEvaluationResult(ctx).flags.f;
    // Then no split applies
    expect(flag).toStrictEqual({ name: "f", enabled: false, value: "default", reason: "DEFAULT", variant: null });
  });

  it("multivariate__identityKeyUnset__hashesEnvironmentKeyUnderscoreIdentifier", () => {
    // Given no explicit identity key, and a variant range that holds exactly the enriched key's percentage
    const enrichedPercentage = getHashedPercentageForObjectIds(["10", "env_user"]);
    const below = Math.floor(enrichedPercentage);
    const ctx = context([
      feature({
        variants: [
          { key: "below", value: "below", weight: below, priority: 1 },
          { key: "hit", value: "hit", weight: 1, priority: 2 },
        ],
      }),
    ]);
    // When evaluated
    const flag = getEvaluationResult(ctx).flags.f;
    // Then "<environment key>_<identifier>" was hashed
    expect(flag.variant).toBe("hit");
  });
});

describe("result shape", () => {
  it("metadata__nonEmptyEchoedEmptyOmitted__likePythonTruthiness", () => {
    // Given features and segments with non-empty and empty metadata
    const ctx = context(
      [feature({ name: "with", metadata: { id: 1 } }), feature({ name: "without", metadata: {} })],
      [segment("1", "meta", [], { metadata: { source: "api" } }), segment("2", "empty", [], { metadata: {} })],
    );
    // When evaluated
    const result = getEvaluationResult(ctx);
    // Then only non-empty metadata appears, and segments keep context order
    expect(result.flags.with.metadata).toStrictEqual({ id: 1 });
    expect("metadata" in result.flags.without).toBe(false);
    expect(result.segments).toStrictEqual([{ name: "meta", metadata: { source: "api" } }, { name: "empty" }]);
  });

  it("createEvaluator__manyIdentities__sameResultsAsGetEvaluationResult", () => {
    // Given an environment context and an evaluator bound to it
    const environmentContext: EvaluationContext = {
      environment: { key: "env", name: "Env" },
      features: { f: feature({ variants: [{ key: "a", value: "A", weight: 50, priority: 1 }] }) },
      segments: { "1": segment("1", "s", [feature({ value: "seg", priority: 1 })], { rules: [{ type: "ALL", conditions: [{ property: "", operator: "PERCENTAGE_SPLIT", value: "50" }] }] }) },
    };
    const evaluate = createEvaluator(environmentContext);
    // When evaluating many identities both ways
    const identities = Array.from({ length: 50 }, (_, i) => ({ identifier: `u${i}`, traits: { n: i } }));
    // Then the results are identical
    for (const identity of identities) {
      expect(evaluate(identity)).toStrictEqual(getEvaluationResult({ ...environmentContext, identity }));
    }
  });
});

describe("python helpers", () => {
  it.each([
    [0.1, "0.1"],
    [5, "5.0"],
    [1e16, "1e+16"],
    [1234567890123456, "1234567890123456.0"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [-2.5e-7, "-2.5e-07"],
    [1.5e300, "1.5e+300"],
    [-0, "-0.0"],
    [Infinity, "inf"],
    [NaN, "nan"],
  ])("pyFloatRepr__%s__formatsLikePythonRepr", (value, expected) => {
    // Given a float
    // When formatted
    const text = pyFloatRepr(value);
    // Then it equals Python's repr()
    expect(text).toBe(expected);
  });

  it("pythonParsers__edgeCases__matchIntAndFloat", () => {
    // Given strings Python's int() and float() accept or reject
    // When parsed
    // Then the results follow Python
    expect(parsePyInt(" +1_000 ")).toBe(1000);
    expect(parsePyInt("1.0")).toBeUndefined();
    expect(parsePyInt("99999999999999999999")).toBe(99999999999999999999n);
    expect(parsePyFloat("1e3")).toBe(1000);
    expect(parsePyFloat(".5")).toBe(0.5);
    expect(parsePyFloat("5.")).toBe(5);
    expect(parsePyFloat("-Infinity")).toBe(-Infinity);
    expect(parsePyFloat("1__0")).toBeUndefined();
    expect(parsePyFloat("")).toBeUndefined();
  });

  it("pyFloatMod__mixedSigns__takesSignOfDivisor", () => {
    // Given dividends and divisors of mixed signs
    // When taking the Python modulo
    // Then the result has the divisor's sign
    expect(pyFloatMod(-7, 3)).toBe(2);
    expect(pyFloatMod(7, -3)).toBe(-2);
    expect(pyFloatMod(-7, -3)).toBe(-1);
    expect(pyFloatMod(7.5, 2)).toBe(1.5);
    expect(Number.isNaN(pyFloatMod(1, 0))).toBe(true);
  });
});
