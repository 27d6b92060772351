/**
 * Fidelity (acceptance test): for generated environment documents that exercise every operator, segment overrides
 * with priorities, identity overrides and multivariate features, and for many generated contexts, flagd-core's
 * evaluation of the translated document must equal Flagpost's engine for every flag the diagnostics call `exact`.
 * Differences are allowed only for flags marked `approximate` or `lossy`. No flag may ever evaluate to an error.
 *
 * Mapping used for the comparison (translator.ts documents it for consumers):
 * - engine `enabled: false` (whatever the value)           ↔ flagd: no value (reason DISABLED, or DEFAULT without
 *                                                              a variant);
 * - engine `enabled: true, value: null`                     ↔ flagd: no value, except "switch" flags (all values
 *                                                              null), where it is `true`;
 * - engine `enabled: true, value: v`                        ↔ flagd: value v (`String(v)` for "stringified" flags).
 * Contexts: the engine gets `{identifier, traits}` via the engine's own mapper (`buildEnvironmentContext` +
 * `withIdentity`); flagd gets `{targetingKey: identifier, ...traits}`. Identity-less contexts: Flagpost serves the
 * environment flags (engine `environmentDefaults`, as `GET /api/v1/flags/`); flagd gets the same traits without a
 * targetingKey (Flagsmith has no traits without an identity).
 */
import { describe, expect, it, vi } from "vitest";
import { SEGMENT_OPERATORS, type DocRule } from "@/server/engine/document";
import { buildEnvironmentContext } from "@/server/engine";
import { generateSyntheticEnvironment, generateSyntheticIdentities } from "@/server/flagd/synthetic";
import { translateEnvironment } from "@/server/flagd/translator";
import { evaluateBoth, type ContextCase } from "./fixtures";
import { loadStrict } from "./helpers";

// Statistical/exhaustive checks evaluate tens of thousands of contexts: allow for loaded machines (no speed assertion).
vi.setConfig({ testTimeout: 120_000 });

function operatorsIn(rules: readonly DocRule[], into: Set<string>): Set<string> {
  for (const r of rules) {
    for (const c of r.conditions) into.add(c.operator);
    operatorsIn(r.rules, into);
  }
  return into;
}

describe("fidelity against Flagpost's engine", () => {
  it.each([
    [1, "compiled"],
    [2, "compiled"],
    [3, "compiled"],
    [4, "compiled"],
    [5, "interpreter"],
  ] as const)("fidelity__generatedEnvironmentSeed%i%sJsonLogic__exactFlagsEqualTheEngineForEveryContext", (seed, mode) => {
    // Given a generated environment covering every operator, priorities, identity overrides and multivariate features
    // (flagd-core either compiles JsonLogic or, as in edge runtimes, interprets it)
    const doc = generateSyntheticEnvironment({ features: 120, segments: 40, identityOverrides: 60, seed });
    const operators = operatorsIn(doc.project.segments.flatMap((s) => s.rules), new Set());
    expect([...SEGMENT_OPERATORS].filter((op) => !operators.has(op))).toEqual([]);
    const { document, diagnostics } = translateEnvironment(doc, { flagSetId: "synthetic/production" });
    const core = loadStrict(document, { interpreter: mode === "interpreter" });
    const byName = new Map(diagnostics.features.map((f) => [f.name, f]));
    const environmentContext = buildEnvironmentContext(doc);
    const contexts: ContextCase[] = [
      ...generateSyntheticIdentities(300, { seed: seed * 7, overriddenIdentities: 60 }),
      ...generateSyntheticIdentities(20, { seed: seed * 11 }).map((c) => ({ identifier: null, traits: c.traits })),
    ];

    // When every flag is evaluated for every context by flagd-core and by the engine
    const mismatches: string[] = [];
    const errors: string[] = [];
    const exactReasons = new Map<string, number>();
    let exactComparisons = 0;
    for (const context of contexts) {
      for (const [name, { expected, actual, reason }] of evaluateBoth(doc, document, core, byName, context, environmentContext)) {
        if (actual.startsWith("error")) errors.push(`${name}: ${actual}`);
        if (byName.get(name)?.fidelity !== "exact") continue;
        exactComparisons++;
        const kind = reason.split(";")[0];
        exactReasons.set(kind, (exactReasons.get(kind) ?? 0) + 1);
        if (expected !== actual) mismatches.push(`${name} for ${JSON.stringify(context)}: engine ${expected} (${reason}), flagd ${actual}`);
      }
    }

    // Then exact flags agree everywhere, nothing errors, and the comparison covered targeting and splits
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(errors.slice(0, 10)).toEqual([]);
    expect(diagnostics.summary.exact).toBeGreaterThan(diagnostics.summary.features / 2);
    expect(exactReasons.get("TARGETING_MATCH") ?? 0).toBeGreaterThan(500);
    expect(exactReasons.get("DEFAULT") ?? 0).toBeGreaterThan(500);
    expect(exactComparisons).toBeGreaterThan(20_000);
  });

  it("fidelity__approximateAndLossyFlags__differencesOnlyWhereDeclared", () => {
    // Given a generated environment and contexts
    const doc = generateSyntheticEnvironment({ features: 120, segments: 40, identityOverrides: 60, seed: 9 });
    const { document, diagnostics } = translateEnvironment(doc, { flagSetId: "synthetic/production" });
    const core = loadStrict(document);
    const byName = new Map(diagnostics.features.map((f) => [f.name, f]));
    const environmentContext = buildEnvironmentContext(doc);

    // When flags are compared per verdict
    const differing = new Map<string, number>();
    for (const context of generateSyntheticIdentities(200, { seed: 5, overriddenIdentities: 60 })) {
      for (const [name, { expected, actual }] of evaluateBoth(doc, document, core, byName, context, environmentContext)) {
        if (expected !== actual) differing.set(name, (differing.get(name) ?? 0) + 1);
      }
    }

    // Then every differing flag carries a non-exact verdict with its reasons
    for (const name of differing.keys()) {
      const diag = byName.get(name);
      expect(diag?.fidelity, name).not.toBe("exact");
      expect(diag?.reasons.length, name).toBeGreaterThan(0);
    }
    expect(differing.size).toBeGreaterThan(0);
  });
});
