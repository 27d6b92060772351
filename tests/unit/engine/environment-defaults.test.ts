/**
 * `environmentDefaults`: the one identity-less answer (Flagsmith's `GET /api/v1/flags/`): every feature's environment
 * state, whatever segments or identity the context carries.
 */
import { describe, expect, it } from "vitest";
import { environmentDefaults, getEvaluationResult, type EvaluationContext, type FeatureContext } from "@/server/engine";

const plain: FeatureContext = { key: "1", name: "banner", enabled: false, value: "blue", metadata: { id: 1 } };
const multivariate: FeatureContext = {
  key: "2",
  name: "checkout",
  enabled: true,
  value: "control",
  variants: [{ value: "a", weight: 100, priority: 1, key: "a" }],
};

/** A segment that matches without traits (NONE of a trait condition), overriding both features. */
const context: EvaluationContext = {
  environment: { key: "env", name: "Env" },
  features: { banner: plain, checkout: multivariate },
  segments: {
    "7": {
      key: "7",
      name: "not pro",
      rules: [{ type: "NONE", conditions: [{ property: "plan", operator: "CONTAINS", value: "pro" }] }],
      overrides: [
        { ...plain, key: "3", enabled: true, value: "red" },
        { ...multivariate, key: "4", value: "segment" },
      ],
    },
  },
};

describe("environmentDefaults", () => {
  it("environmentDefaults__segmentMatchingEmptyTraitsAndMultivariate__defaultStatesWithControlValue", () => {
    // Given a context whose segment matches without traits (segment evaluation would override both features)
    expect(getEvaluationResult(context).flags.banner).toMatchObject({ enabled: true, value: "red" });

    // When the environment defaults are taken
    const result = environmentDefaults(context);

    // Then each feature is its environment state: no segment, no split (control value, variant null), no segments reported
    expect(result.flags).toEqual({
      banner: { name: "banner", enabled: false, value: "blue", reason: "DEFAULT", variant: null, metadata: { id: 1 } },
      checkout: { name: "checkout", enabled: true, value: "control", reason: "DEFAULT", variant: null },
    });
    expect(result.segments).toEqual([]);
  });

  it("environmentDefaults__contextWithAnIdentity__identityIgnored", () => {
    // Given the same context with an identity, which segment evaluation and the 100 % split would put in variant "a"
    const identified: EvaluationContext = { ...context, identity: { identifier: "user-1", traits: { plan: "free" } } };
    expect(getEvaluationResult(identified).flags.checkout).toMatchObject({ value: "a", variant: "a" });

    // When the environment defaults are taken
    const result = environmentDefaults(identified);

    // Then the identity changes nothing
    expect(result).toEqual(environmentDefaults(context));
  });
});
