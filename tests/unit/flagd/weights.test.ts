/**
 * Integer weights for `fractional`: multivariate allocations and PERCENTAGE_SPLIT thresholds, scaled by a common
 * 10^k so decimal percentages stay exact and sums are exactly 100 × 10^k.
 */
import { describe, expect, it, vi } from "vitest";
import { translateEnvironment } from "@/server/flagd/translator";
import type { JsonLogicArg } from "@/server/flagd/types";
import { decimalsNeeded, scalePercentages, scaleThreshold } from "@/server/flagd/weights";
import { buildEnvironmentContext, getEvaluationResult, withIdentity } from "@/server/engine";
import { environment, featureState } from "./fixtures";
import { loadStrict } from "./helpers";

// Statistical/exhaustive checks evaluate tens of thousands of contexts: allow for loaded machines (no speed assertion).
vi.setConfig({ testTimeout: 120_000 });

/** Every `fractional` in a JSON value. */
function fractionals(value: unknown, out: unknown[][] = []): unknown[][] {
  if (Array.isArray(value)) for (const item of value) fractionals(item, out);
  else if (value && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      if (key === "fractional") out.push(inner as unknown[]);
      fractionals(inner, out);
    }
  }
  return out;
}

describe("weight scaling", () => {
  it("scalePercentages__thirtyThreePointThreeTwiceAndThirtyThreePointFour__integersSummingToTotal", () => {
    // Given Flagsmith allocations 33.3 / 33.3 / 33.4
    // When scaled
    const scaled = scalePercentages([33.3, 33.3, 33.4]);
    // Then one decimal is kept: 333 / 333 / 334 of 1000, no residual
    expect(scaled).toEqual({ shares: [333, 333, 334], residual: 0, total: 1000, decimals: 1, adjusted: false });
  });

  it("scalePercentages__pointOnePercent__residualInScaledUnits", () => {
    // Given a single 0.1 % option
    // When scaled
    const scaled = scalePercentages([0.1]);
    // Then 1 of 1000, and the control residual 999
    expect(scaled).toMatchObject({ shares: [1], residual: 999, total: 1000 });
  });

  it("scalePercentages__mixedDecimals__commonScaleOfTheMostPrecise", () => {
    // Given 12.345 and 0.005
    // When scaled
    const scaled = scalePercentages([12.345, 0.005]);
    // Then everything is in thousandths of a percent
    expect(scaled).toMatchObject({ shares: [12345, 5], residual: 87650, total: 100000, decimals: 3 });
  });

  it("scalePercentages__overOneHundredPercent__laterRangesTruncatedLikeFlagsmith", () => {
    // Given 60 + 60 (Flagsmith's second range [60, 120) only reaches 100)
    // When scaled
    const scaled = scalePercentages([60, 60]);
    // Then the second option keeps 40, no residual, flagged as adjusted
    expect(scaled).toMatchObject({ shares: [60, 40], residual: 0, total: 100, adjusted: true });
  });

  it("scalePercentages__negativeWeight__followsTheRangeWalk", () => {
    // Given -10 then 50 (ranges [0, -10) empty, then [-10, 40))
    // When scaled
    const scaled = scalePercentages([-10, 50]);
    // Then the second option covers [0, 40)
    expect(scaled).toMatchObject({ shares: [0, 40], residual: 60, adjusted: true });
  });

  it("decimalsNeeded__floatsWithRepresentationNoise__shortestDecimalText", () => {
    // Given floats such as 0.1 + 0.2
    // When the scale is chosen
    // Then it follows the shortest decimal text, capped at 7 decimals
    expect([decimalsNeeded(30), decimalsNeeded(33.3), decimalsNeeded(0.005), decimalsNeeded(0.1 + 0.2), decimalsNeeded(1 / 3)]).toEqual([0, 1, 3, 7, 7]);
  });

  it("scaleThreshold__decimalThreshold__inAndOutSumToTotal", () => {
    // Given PERCENTAGE_SPLIT thresholds 10, 0.1 and 12.3456
    // When scaled
    // Then in + out = 100 × 10^k with in = t × 10^k
    expect(scaleThreshold(10)).toEqual({ inWeight: 10, outWeight: 90, total: 100 });
    expect(scaleThreshold(0.1)).toEqual({ inWeight: 1, outWeight: 999, total: 1000 });
    expect(scaleThreshold(12.3456)).toEqual({ inWeight: 123456, outWeight: 876544, total: 1000000 });
  });
});

describe("weights in documents", () => {
  const doc = environment({
    features: [
      featureState("thirds", { value: "c", mv: [{ value: "a", weight: 33.3 }, { value: "b", weight: 33.3 }, { value: "d", weight: 33.4 }] }),
      featureState("tiny", { value: "c", mv: [{ value: "a", weight: 0.1 }] }),
      featureState("half", { value: "c", mv: [{ value: "a", weight: 50 }] }),
    ],
  });

  it("fractionalWeights__decimalAllocations__integersSummingExactlyToTheScaledTotal", () => {
    // Given multivariate features with decimal allocations
    // When translated
    const { document } = translateEnvironment(doc, { flagSetId: "p/e" });
    loadStrict(document);
    // Then every fractional weight is an integer and each fractional sums to 100 × 10^k
    const all = fractionals(document.flags);
    expect(all).toHaveLength(3);
    for (const fractional of all) {
      const weights = fractional.slice(1).map((bucket) => (bucket as [JsonLogicArg, number])[1]);
      for (const weight of weights) expect(Number.isInteger(weight)).toBe(true);
      const total = weights.reduce((a, b) => a + b, 0);
      expect([100, 1000, 10000]).toContain(total);
    }
    expect(fractionals(document.flags.thirds)[0].slice(1)).toEqual([["variant_1", 333], ["variant_2", 333], ["variant_3", 334]]);
    expect(fractionals(document.flags.tiny)[0].slice(1)).toEqual([["variant_1", 1], ["control", 999]]);
  });

  it("fractionalProportions__manyIdentities__matchTheAllocationsLikeTheEngine", () => {
    // Given the same features, translated and loaded
    const { document } = translateEnvironment(doc, { flagSetId: "p/e" });
    const core = loadStrict(document);
    const environmentContext = buildEnvironmentContext(doc);
    // When 20,000 identities are bucketed by flagd-core and by the engine
    const flagdCounts: Record<string, number> = {};
    const engineCounts: Record<string, number> = {};
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const identifier = `identity-${i}`;
      const value = core.resolveStringEvaluation("thirds", "none", { targetingKey: identifier }).value;
      flagdCounts[value] = (flagdCounts[value] ?? 0) + 1;
      const engineValue = String(getEvaluationResult(withIdentity(environmentContext, { identifier })).flags.thirds.value);
      engineCounts[engineValue] = (engineCounts[engineValue] ?? 0) + 1;
    }
    // Then both split close to 33.3 / 33.3 / 33.4 % (different identities, same proportions)
    for (const [value, expected] of [["a", 0.333], ["b", 0.333], ["d", 0.334]] as const) {
      expect(Math.abs((flagdCounts[value] ?? 0) / n - expected)).toBeLessThan(0.015);
      expect(Math.abs((engineCounts[value] ?? 0) / n - expected)).toBeLessThan(0.015);
    }
  });
});
