/**
 * PERCENTAGE_SPLIT: seeded per segment (independent between segments, identical across features that use the same
 * segment, as in Flagsmith), keyed by the condition's property when set, with integer weights.
 */
import { describe, expect, it, vi } from "vitest";
import { translateEnvironment } from "@/server/flagd/translator";
import { cond, environment, featureState, rule, segment } from "./fixtures";
import { loadStrict } from "./helpers";

// Statistical/exhaustive checks evaluate tens of thousands of contexts: allow for loaded machines (no speed assertion).
vi.setConfig({ testTimeout: 120_000 });

const N = 20_000;

function splitDocument() {
  return environment({
    features: ["f", "g", "h"].map((name) => featureState(name, { value: "out" })),
    segments: [
      segment(101, "half A", rule("ALL", [cond("", "PERCENTAGE_SPLIT", "50")]), [
        featureState("f", { value: "in", priority: 0 }),
        featureState("h", { value: "in", priority: 0 }),
      ]),
      segment(202, "half B", rule("ALL", [cond(null, "PERCENTAGE_SPLIT", "50")]), [featureState("g", { value: "in", priority: 0 })]),
    ],
  });
}

describe("percentage split seeding", () => {
  it("percentageSplit__twoSegmentsOfFiftyPercent__bucketIndependently", () => {
    // Given two 50 % split segments, each overriding a different feature
    const { document, diagnostics } = translateEnvironment(splitDocument(), { flagSetId: "p/e" });
    const core = loadStrict(document);
    // When 20,000 identities are resolved
    let inA = 0;
    let inB = 0;
    let inBoth = 0;
    for (let i = 0; i < N; i++) {
      const context = { targetingKey: `user-${i}` };
      const a = core.resolveStringEvaluation("f", "x", context).value === "in";
      const b = core.resolveStringEvaluation("g", "x", context).value === "in";
      inA += a ? 1 : 0;
      inB += b ? 1 : 0;
      inBoth += a && b ? 1 : 0;
    }
    // Then each holds about half, and membership is independent (≈ 25 % in both; unseeded keys would give 50 %)
    expect(Math.abs(inA / N - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(inB / N - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(inBoth / N - 0.25)).toBeLessThan(0.02);
    expect(diagnostics.features.find((f) => f.name === "f")?.fidelity).toBe("approximate");
  });

  it("percentageSplit__sameSegmentInTwoFeatures__sameMembersInBoth", () => {
    // Given one split segment overriding two features
    const { document } = translateEnvironment(splitDocument(), { flagSetId: "p/e" });
    const core = loadStrict(document);
    // When identities are resolved for both features
    const differing = Array.from({ length: 2000 }, (_, i) => ({ targetingKey: `user-${i}` })).filter(
      (context) => core.resolveStringEvaluation("f", "x", context).value !== core.resolveStringEvaluation("h", "x", context).value,
    );
    // Then the segment has the same members everywhere (as Flagsmith hashes [segment id, identity])
    expect(differing).toEqual([]);
    expect(JSON.stringify(document.$evaluators)).toContain('{"cat":["101",",",{"var":"targetingKey"}]}');
  });

  it("percentageSplit__onATraitProperty__keyedByTheTraitAndMissingNeverMatches", () => {
    // Given a 50 % split on the "company" trait
    const doc = environment({
      features: [featureState("f", { value: "out" })],
      segments: [segment(5, "companies", rule("ALL", [cond("company", "PERCENTAGE_SPLIT", "50")]), [featureState("f", { value: "in", priority: 0 })])],
    });
    const { document } = translateEnvironment(doc, { flagSetId: "p/e" });
    const core = loadStrict(document);
    // When users of the same companies (and users without one) are resolved
    const byCompany = new Map<string, Set<string>>();
    for (let i = 0; i < 400; i++) {
      const company = `company-${i % 40}`;
      const value = core.resolveStringEvaluation("f", "x", { targetingKey: `user-${i}`, company }).value;
      byCompany.set(company, (byCompany.get(company) ?? new Set()).add(value));
    }
    const withoutTrait = core.resolveStringEvaluation("f", "x", { targetingKey: "user-1" }).value;
    // Then all users of a company land on the same side, both sides occur, and no trait means no match
    expect([...byCompany.values()].every((values) => values.size === 1)).toBe(true);
    expect(new Set([...byCompany.values()].map((values) => [...values][0])).size).toBe(2);
    expect(withoutTrait).toBe("out");
  });

  it("percentageSplit__decimalThreshold__integerWeightsAndProportion", () => {
    // Given a 0.1 % split and a 33.3 % split
    const doc = environment({
      features: [featureState("tiny", { value: "out" }), featureState("third", { value: "out" })],
      segments: [
        segment(1, "tiny", rule("ALL", [cond("", "PERCENTAGE_SPLIT", "0.1")]), [featureState("tiny", { value: "in", priority: 0 })]),
        segment(2, "third", rule("ALL", [cond("", "PERCENTAGE_SPLIT", "33.3")]), [featureState("third", { value: "in", priority: 0 })]),
      ],
    });
    const { document } = translateEnvironment(doc, { flagSetId: "p/e" });
    const core = loadStrict(document);
    // When 20,000 identities are resolved
    let tiny = 0;
    let third = 0;
    for (let i = 0; i < N; i++) {
      tiny += core.resolveStringEvaluation("tiny", "x", { targetingKey: `u${i}` }).value === "in" ? 1 : 0;
      third += core.resolveStringEvaluation("third", "x", { targetingKey: `u${i}` }).value === "in" ? 1 : 0;
    }
    // Then weights are 1/999 and 333/667, and the shares follow
    expect(JSON.stringify(document.flags.tiny.targeting)).toContain('["in",1],["out",999]');
    expect(JSON.stringify(document.flags.third.targeting)).toContain('["in",333],["out",667]');
    expect(tiny / N).toBeLessThan(0.004);
    expect(Math.abs(third / N - 0.333)).toBeLessThan(0.02);
  });

  it("percentageSplit__constantThresholds__foldedExactly", () => {
    // Given thresholds that make the condition constant: 100 (always), -1 and "abc" (never)
    const doc = environment({
      features: ["always", "never", "invalid"].map((name) => featureState(name, { value: "out" })),
      segments: [
        segment(1, "all", rule("ALL", [cond("", "PERCENTAGE_SPLIT", "100")]), [featureState("always", { value: "in", priority: 0 })]),
        segment(2, "none", rule("ALL", [cond("", "PERCENTAGE_SPLIT", "-1")]), [featureState("never", { value: "in", priority: 0 })]),
        segment(3, "bad", rule("ALL", [cond("", "PERCENTAGE_SPLIT", "abc")]), [featureState("invalid", { value: "in", priority: 0 })]),
      ],
    });
    // When translated
    const { document, diagnostics, core } = (() => {
      const result = translateEnvironment(doc, { flagSetId: "p/e" });
      return { ...result, core: loadStrict(result.document) };
    })();
    // Then no fractional is emitted, every identity gets the same answer, and the verdicts are exact
    expect(JSON.stringify(document)).not.toContain("fractional");
    expect(core.resolveStringEvaluation("always", "x", { targetingKey: "u" }).value).toBe("in");
    expect(core.resolveStringEvaluation("always", "x", {}).value).toBe("out");
    expect(core.resolveStringEvaluation("never", "x", { targetingKey: "u" }).value).toBe("out");
    expect(diagnostics.features.map((f) => f.fidelity)).toEqual(["exact", "exact", "exact"]);
    expect(diagnostics.environmentWarnings.map((w) => w.reason)).toEqual(["malformed_value"]);
  });
});
