/**
 * Document anatomy and translation policy: metadata, variants and their naming, state/defaultVariant and the
 * (enabled, value) mapping, overrides' precedence, $evaluators placement, identity overrides and their cap,
 * anonymous contexts, value types, diagnostics.
 */
import { describe, expect, it } from "vitest";
import { NAME_PATTERN } from "@/server/flagd/names";
import { TRANSLATOR_VERSION, translateEnvironment } from "@/server/flagd/translator";
import type { FlagdDocument } from "@/server/flagd/types";
import { cond, environment, featureState, identity, rule, segment } from "./fixtures";
import { loadStrict, observe } from "./helpers";

function translate(doc: ReturnType<typeof environment>, identityOverrideLimit?: number) {
  const result = translateEnvironment(doc, { flagSetId: "acme/production", identityOverrideLimit });
  const core = loadStrict(result.document);
  const see = (flag: string, context: Record<string, string | number | boolean> = {}) => {
    const o = observe(core, result.document, flag, context);
    return o.kind === "value" ? o.value : o.kind;
  };
  return { ...result, core, see, diag: (name: string) => result.diagnostics.features.find((f) => f.name === name) };
}

const beta = (overrides: Parameters<typeof segment>[3] = [], id = 7, name = "beta users") =>
  segment(id, name, rule("ANY", [cond("plan", "EQUAL", "beta")]), overrides);

describe("document anatomy", () => {
  it("document__anyEnvironment__schemaAndScalarMetadata", () => {
    // Given an environment document
    const doc = environment({ features: [featureState("banner", { value: "blue" })] });
    // When translated
    const { document } = translate(doc);
    // Then the document names the flagd schema and carries scalar metadata about its origin
    expect(document.$schema).toBe("https://flagd.dev/schema/v0/flags.json");
    expect(document.metadata).toEqual({
      flagSetId: "acme/production",
      version: "2026-01-02T03:04:05.000000+00:00",
      "flagpost.environmentId": 12,
      "flagpost.translatorVersion": TRANSLATOR_VERSION,
    });
    expect(document.$evaluators).toBeUndefined();
  });

  it("staticFlag__enabledWithoutOverrides__controlVariantNoTargeting", () => {
    // Given an enabled feature with a value and no overrides
    const doc = environment({ features: [featureState("banner", { value: "blue" })] });
    // When translated and resolved
    const { document, core, diag } = translate(doc);
    // Then it is a static flag: one variant, reason STATIC, exact
    expect(document.flags.banner).toEqual({
      state: "ENABLED",
      variants: { control: "blue" },
      defaultVariant: "control",
      metadata: { "flagpost.featureId": expect.any(Number), "flagpost.fidelity": "exact" },
    });
    expect(core.resolveStringEvaluation("banner", "x", {}).reason).toBe("STATIC");
    expect(diag("banner")?.fidelity).toBe("exact");
  });

  it("disabledFlag__noEnabledOutcome__stateDisabledAndNoValue", () => {
    // Given a disabled feature whose only override is disabled too
    const doc = environment({
      features: [featureState("banner", { value: "blue", enabled: false })],
      segments: [beta([featureState("banner", { value: "red", enabled: false, priority: 0 })])],
    });
    // When translated and resolved
    const { document, core } = translate(doc);
    // Then flagd reports DISABLED without a value for everyone
    expect(document.flags.banner.state).toBe("DISABLED");
    expect(core.resolveStringEvaluation("banner", "fallback", { targetingKey: "u", plan: "beta" })).toMatchObject({ reason: "DISABLED", value: "fallback" });
  });

  it("switchFlag__allValuesNull__booleanTrueWhenEnabledNoValueWhenDisabled", () => {
    // Given an on/off feature (null value) enabled for beta users only
    const doc = environment({
      features: [featureState("new_ui", { enabled: false })],
      segments: [beta([featureState("new_ui", { enabled: true, priority: 0 })])],
    });
    // When translated and resolved
    const { document, see, diag } = translate(doc);
    // Then the flag is boolean: true when enabled, no value (the caller's default) when disabled
    expect(document.flags.new_ui.variants).toEqual({ control: true });
    expect(see("new_ui", { targetingKey: "u", plan: "beta" })).toBe(true);
    expect(see("new_ui", { targetingKey: "u", plan: "free" })).toBe("none");
    expect(see("new_ui", {})).toBe("none");
    expect(diag("new_ui")).toMatchObject({ fidelity: "exact", valueMapping: "switch" });
  });
});

describe("enabled state of overrides", () => {
  it("enabledOverride__onDisabledDefault__membersGetTheValueOthersNone", () => {
    // Given a disabled feature with an enabled segment override (lost by the draft plugin)
    const doc = environment({
      features: [featureState("banner", { value: "blue", enabled: false })],
      segments: [beta([featureState("banner", { value: "red", enabled: true, priority: 0 })])],
    });
    // When translated and resolved
    const { document, see } = translate(doc);
    // Then the flag is ENABLED with no default variant: members get "red", everyone else no value
    expect(document.flags.banner).toMatchObject({ state: "ENABLED", defaultVariant: null });
    expect(see("banner", { targetingKey: "u", plan: "beta" })).toBe("red");
    expect(see("banner", { targetingKey: "u", plan: "free" })).toBe("none");
  });

  it("disabledOverride__onEnabledDefault__membersGetNoValue", () => {
    // Given an enabled feature whose beta override is disabled
    const doc = environment({
      features: [featureState("banner", { value: "blue" })],
      segments: [beta([featureState("banner", { value: "blue", enabled: false, priority: 0 })])],
    });
    // When translated and resolved
    const { see, diag } = translate(doc);
    // Then members see no value (disabled), others the control value
    expect(see("banner", { targetingKey: "u", plan: "beta" })).toBe("none");
    expect(see("banner", { targetingKey: "u", plan: "free" })).toBe("blue");
    expect(see("banner", {})).toBe("blue");
    expect(diag("banner")?.fidelity).toBe("exact");
  });

  it("overrideEqualToControl__onMultivariateFeature__membersGetControlNotTheSplit", () => {
    // Given a multivariate feature and a segment override that pins the control value
    const doc = environment({
      features: [featureState("mv", { value: "control-value", mv: [{ value: "a", weight: 50 }, { value: "b", weight: 50 }] })],
      segments: [beta([featureState("mv", { value: "control-value", priority: 0 })])],
    });
    // When translated and resolved for many beta members
    const { see } = translate(doc);
    const values = new Set(Array.from({ length: 50 }, (_, i) => see("mv", { targetingKey: `user-${i}`, plan: "beta" })));
    // Then every member gets the pinned value (the draft sent them into the split)
    expect([...values]).toEqual(["control-value"]);
  });

  it("disabledOverride__onDisabledDefault__warnsNoOpButKeepsPrecedence", () => {
    // Given a disabled feature: a disabled override (priority 0) above an enabled one (priority 1)
    const doc = environment({
      features: [featureState("banner", { value: "blue", enabled: false })],
      segments: [
        beta([featureState("banner", { value: "x", enabled: false, priority: 0 })]),
        segment(8, "everyone", rule("ALL", [cond("plan", "IS_SET", null)]), [featureState("banner", { value: "red", priority: 1 })]),
      ],
    });
    // When translated and resolved
    const { see, diag } = translate(doc);
    // Then the disabled override still shadows the lower-priority one, and a warning explains it
    expect(see("banner", { targetingKey: "u", plan: "beta" })).toBe("none");
    expect(see("banner", { targetingKey: "u", plan: "free" })).toBe("red");
    expect(diag("banner")?.warnings.map((w) => w.reason)).toContain("disabled_override_no_op");
  });
});

describe("value types", () => {
  it("mixedTypes__stringAndNumber__servedAsStringsWithTypeMismatch", () => {
    // Given a feature whose control is a string and whose override is a number (schema-invalid if kept)
    const doc = environment({
      features: [featureState("limit", { value: "none" })],
      segments: [beta([featureState("limit", { value: 42, priority: 0 })])],
    });
    // When translated
    const { document, see, diag } = translate(doc);
    // Then every variant is a string, the document is valid, and the verdict says so
    expect(document.flags.limit.variants).toEqual({ control: "none", "override_beta-users": "42" });
    expect(see("limit", { targetingKey: "u", plan: "beta" })).toBe("42");
    expect(diag("limit")).toMatchObject({ fidelity: "lossy", valueMapping: "stringified" });
    expect(diag("limit")?.warnings.map((w) => w.reason)).toContain("type_mismatch");
  });

  it("nullValue__inTypedFlag__noValueWithNullValueWarning", () => {
    // Given a string feature whose default value is null but whose override has a value
    const doc = environment({
      features: [featureState("copy", { value: null })],
      segments: [beta([featureState("copy", { value: "Hello", priority: 0 })])],
    });
    // When translated
    const { see, diag } = translate(doc);
    // Then enabled-with-null is served as "no value"
    expect(see("copy", { targetingKey: "u", plan: "beta" })).toBe("Hello");
    expect(see("copy", { targetingKey: "u" })).toBe("none");
    expect(diag("copy")?.warnings.map((w) => w.reason)).toContain("null_value");
  });

  it("disabledOverrideValue__ofAnotherType__doesNotForceStrings", () => {
    // Given a numeric feature with a disabled override holding a string (never served)
    const doc = environment({
      features: [featureState("limit", { value: 10 })],
      segments: [beta([featureState("limit", { value: "oops", enabled: false, priority: 0 })])],
    });
    // When translated
    const { document, diag } = translate(doc);
    // Then only served values decide the type
    expect(document.flags.limit.variants).toEqual({ control: 10 });
    expect(diag("limit")?.valueMapping).toBe("native");
  });
});

describe("variant naming", () => {
  it("variants__controlOptionsAndOverrides__controlVariantNAndOverrideSlug", () => {
    // Given a multivariate feature (options out of id order) and two segment overrides
    const doc = environment({
      features: [featureState("mv", { value: "c", mv: [{ value: "y", weight: 20, id: 9 }, { value: "x", weight: 10, id: 3 }] })],
      segments: [
        beta([featureState("mv", { value: "seg", priority: 0 })]),
        segment(9, "Ünïcödé / Team #1", rule("ALL", [cond("plan", "EQUAL", "team")]), [featureState("mv", { value: "team", priority: 1 })]),
      ],
    });
    // When translated
    const { document } = translate(doc);
    // Then options are numbered in bucket (id) order, override keys are slugs, all within the name pattern
    expect(document.flags.mv.variants).toEqual({ control: "c", variant_1: "x", variant_2: "y", "override_beta-users": "seg", "override_n-c-d-Team-1": "team" });
    for (const key of Object.keys(document.flags.mv.variants)) expect(key).toMatch(NAME_PATTERN);
  });

  it("overrideSlugs__twoSegmentsWithTheSameName__suffixedWithDash2", () => {
    // Given two segments named alike, each overriding with its own value
    const doc = environment({
      features: [featureState("f", { value: "a" })],
      segments: [beta([featureState("f", { value: "b", priority: 0 })], 7, "vip"), beta([featureState("f", { value: "c", priority: 1 })], 8, "vip")],
    });
    // When translated
    const { document } = translate(doc);
    // Then the second variant gets a suffix
    expect(Object.keys(document.flags.f.variants)).toEqual(["control", "override_vip", "override_vip-2"]);
  });

  it("overrideValue__equalToAnExistingVariant__reusesItsKey", () => {
    // Given an override whose value equals a multivariate option
    const doc = environment({
      features: [featureState("f", { value: "a", mv: [{ value: "b", weight: 50 }] })],
      segments: [beta([featureState("f", { value: "b", priority: 0 })])],
    });
    // When translated
    const { document } = translate(doc);
    // Then no duplicate variant is created
    expect(document.flags.f.variants).toEqual({ control: "a", variant_1: "b" });
  });
});

describe("segment placement", () => {
  const shared = (overridden: string[]) =>
    environment({
      features: ["f", "g", "h"].map((name) => featureState(name, { value: "off" })),
      segments: [
        beta(overridden.map((name) => featureState(name, { value: "on", priority: 0 }))),
        segment(8, "unused", rule("ALL", [cond("plan", "EQUAL", "x")])),
      ],
    });

  it("evaluators__segmentUsedByTwoFeatures__definedOnceAndReferenced", () => {
    // Given one segment overriding two features
    // When translated
    const { document, see } = translate(shared(["f", "g"]));
    // Then the rule lives in $evaluators and both flags reference it
    expect(Object.keys(document.$evaluators ?? {})).toEqual(["beta-users"]);
    expect(JSON.stringify(document.flags.f.targeting)).toContain('{"$ref":"beta-users"}');
    expect(JSON.stringify(document.flags.g.targeting)).toContain('{"$ref":"beta-users"}');
    expect(see("g", { targetingKey: "u", plan: "beta" })).toBe("on");
  });

  it("evaluators__segmentUsedByOneFeature__inlinedAndUnusedOmitted", () => {
    // Given one segment overriding a single feature, and an unused segment
    // When translated
    const { document } = translate(shared(["f"]));
    // Then there are no $evaluators and the rule is inlined
    expect(document.$evaluators).toBeUndefined();
    expect(JSON.stringify(document.flags.f.targeting)).toContain('"beta"');
    expect(JSON.stringify(document)).not.toContain("unused");
  });

  it("evaluatorNames__collidingSlugs__suffixedAndValid", () => {
    // Given two shared segments whose names slugify alike
    const doc = environment({
      features: ["f", "g"].map((name) => featureState(name, { value: "off" })),
      segments: [
        segment(7, "a b", rule("ALL", [cond("p", "EQUAL", "1")]), ["f", "g"].map((n) => featureState(n, { value: "one", priority: 0 }))),
        segment(8, "a/b", rule("ALL", [cond("p", "EQUAL", "2")]), ["f", "g"].map((n) => featureState(n, { value: "two", priority: 1 }))),
      ],
    });
    // When translated
    const { document } = translate(doc);
    // Then both evaluators exist under distinct, valid names
    expect(Object.keys(document.$evaluators ?? {})).toEqual(["a-b", "a-b-2"]);
  });
});

describe("precedence", () => {
  it("segmentOverrides__differentPriorities__lowerNumberWins", () => {
    // Given two matching segments: priority 2 listed first, priority 1 second
    const doc = environment({
      features: [featureState("f", { value: "default" })],
      segments: [
        segment(7, "weak", rule("ALL", [cond("plan", "IS_SET", null)]), [featureState("f", { value: "weak", priority: 2 })]),
        segment(8, "strong", rule("ALL", [cond("plan", "EQUAL", "beta")]), [featureState("f", { value: "strong", priority: 1 })]),
      ],
    });
    // When a context matching both is resolved
    const { see } = translate(doc);
    // Then the lower priority number wins
    expect(see("f", { targetingKey: "u", plan: "beta" })).toBe("strong");
    expect(see("f", { targetingKey: "u", plan: "free" })).toBe("weak");
  });

  it("segmentOverrides__equalOrMissingPriorities__lowerSegmentIdThenNullLast", () => {
    // Given equal priorities (segment 9 listed before 8) and a segment without priority
    const doc = environment({
      features: [featureState("f", { value: "default" })],
      segments: [
        segment(5, "none", rule("ALL", [cond("plan", "IS_SET", null)]), [featureState("f", { value: "unprioritised", priority: null })]),
        segment(9, "nine", rule("ALL", [cond("plan", "IS_SET", null)]), [featureState("f", { value: "nine", priority: 1 })]),
        segment(8, "eight", rule("ALL", [cond("plan", "IS_SET", null)]), [featureState("f", { value: "eight", priority: 1 })]),
      ],
    });
    // When resolved
    const { see } = translate(doc);
    // Then the tie goes to the lower segment id (the engine's iteration order) and null priority is weakest
    expect(see("f", { targetingKey: "u", plan: "x" })).toBe("eight");
  });

  it("identityOverrides__identityInASegment__identityWinsOverSegment", () => {
    // Given a segment override and an identity override for the same feature
    const doc = environment({
      features: [featureState("f", { value: "default" })],
      segments: [beta([featureState("f", { value: "segment", priority: 0 })])],
      identities: [identity("alice", [featureState("f", { value: "alice" })])],
    });
    // When resolved
    const { document, see } = translate(doc);
    // Then the identity branch comes first and wins
    const targeting = document.flags.f.targeting as { if: unknown[] };
    expect(targeting.if[2]).toEqual({ "===": [{ var: "targetingKey" }, "alice"] });
    expect(see("f", { targetingKey: "alice", plan: "beta" })).toBe("alice");
    expect(see("f", { targetingKey: "bob", plan: "beta" })).toBe("segment");
  });

  it("identityOverrides__sameOutcome__groupedInOneMembershipTest", () => {
    // Given three identities, two of which override with the same value
    const doc = environment({
      features: [featureState("f", { value: "default" })],
      identities: ["a", "b", "c"].map((id) => identity(id, [featureState("f", { value: id === "c" ? "other" : "same" })])),
    });
    // When translated
    const { document } = translate(doc);
    // Then identifiers with the same outcome share a branch
    const targeting = document.flags.f.targeting as { if: unknown[] };
    expect(targeting.if.slice(2, 6)).toEqual([{ in: [{ var: "targetingKey" }, ["a", "b"]] }, "override_a", { "===": [{ var: "targetingKey" }, "c"] }, "override_c"]);
  });

  it("identityOverrides__numericIdentifier__matchesItsCanonicalFormLikeFlagsmith", () => {
    // Given an identity override for identifier "12" (Flagsmith compares numeric identifiers as integers)
    const doc = environment({
      features: [featureState("f", { value: "default" })],
      identities: [identity("12", [featureState("f", { value: "twelve" })])],
    });
    // When resolved for "12", "012" and "12.0"
    const { see } = translate(doc);
    // Then "012" also matches (int 12), "12.0" does not (a float)
    expect([see("f", { targetingKey: "12" }), see("f", { targetingKey: "012" }), see("f", { targetingKey: "12.0" })]).toEqual(["twelve", "twelve", "default"]);
  });

  it("identityOverrideCap__moreThanTheLimit__firstKeptRestDroppedWithWarning", () => {
    // Given five identities overriding a feature and a limit of 3
    const doc = environment({
      features: [featureState("f", { value: "default" })],
      identities: ["i1", "i2", "i3", "i4", "i5"].map((id) => identity(id, [featureState("f", { value: "overridden" })])),
    });
    // When translated
    const { see, diag } = translate(doc, 3);
    // Then the first three keep their override, the others are reported and the flag is lossy
    expect(["i1", "i3", "i4"].map((id) => see("f", { targetingKey: id }))).toEqual(["overridden", "overridden", "default"]);
    expect(diag("f")?.warnings).toContainEqual({ reason: "identity_override_limit_exceeded", detail: expect.stringContaining("dropped=2") });
    expect(diag("f")?.fidelity).toBe("lossy");
  });
});

describe("anonymous contexts", () => {
  it("noTargetingKey__multivariateFeature__controlValueWithoutSplit", () => {
    // Given a multivariate feature
    const doc = environment({ features: [featureState("mv", { value: "control", mv: [{ value: "a", weight: 100 }] })] });
    // When resolved without a targeting key (and with one)
    const { see } = translate(doc);
    // Then anonymous contexts get the control value (Flagsmith has no identity to hash); identities get the option
    expect(see("mv", {})).toBe("control");
    expect(see("mv", { targetingKey: "u" })).toBe("a");
  });

  it("noTargetingKey__segmentMatchingWithoutIdentity__environmentDefaultAsTheSdkFlags", () => {
    // Given a segment that matches an identity without traits (IS_NOT_SET) and one on a trait
    const doc = environment({
      features: [featureState("f", { value: "default" })],
      segments: [
        segment(7, "no plan", rule("ALL", [cond("plan", "IS_NOT_SET", null)]), [featureState("f", { value: "anonymous", priority: 1 })]),
        beta([featureState("f", { value: "beta", priority: 0 })], 8),
      ],
    });
    // When resolved without a targeting key (even with attributes), and with one
    const { see } = translate(doc);
    // Then identity-less contexts get the environment default, as GET /api/v1/flags/ serves it (no segments without
    // an identity); identities still get their segments
    expect(see("f", {})).toBe("default");
    expect(see("f", { plan: "beta" })).toBe("default");
    expect(see("f", { targetingKey: "u" })).toBe("anonymous");
    expect(see("f", { targetingKey: "u", plan: "beta" })).toBe("beta");
  });
});

describe("robustness", () => {
  it("invalidFlagKey__featureNameWithLineBreak__skippedAndReported", () => {
    // Given a feature whose name flagd cannot use as a key
    const doc = environment({ features: [featureState("bad\nname", { value: "x" }), featureState("ok", { value: "y" })] });
    // When translated
    const { document, diag } = translate(doc);
    // Then it is left out, and diagnostics list it as lossy with the reason
    expect(Object.keys(document.flags)).toEqual(["ok"]);
    expect(diag("bad\nname")).toMatchObject({ fidelity: "lossy", warnings: [{ reason: "skipped" }] });
  });

  it("diagnostics__everyFeature__listedWithVerdictAndSummary", () => {
    // Given exact, approximate and lossy features
    const doc = environment({
      features: [
        featureState("exact", { value: "a" }),
        featureState("approx", { value: "a", mv: [{ value: "b", weight: 30 }] }),
        featureState("lossy", { value: "a" }),
      ],
      segments: [segment(7, "re", rule("ALL", [cond("p", "REGEX", "[0-9]+x")]), [featureState("lossy", { value: "b", priority: 0 })])],
    });
    // When translated
    const { diagnostics } = translate(doc);
    // Then every feature appears with its verdict and reasons, and the summary counts them
    expect(diagnostics.features.map((f) => [f.name, f.fidelity])).toEqual([
      ["exact", "exact"],
      ["approx", "approximate"],
      ["lossy", "lossy"],
    ]);
    expect(diagnostics.features[1].reasons[0]).toMatch(/MurmurHash3/);
    expect(diagnostics.summary).toMatchObject({ features: 3, exact: 1, approximate: 1, lossy: 1, featuresWithWarnings: 1 });
    expect(diagnostics).toMatchObject({ flagSetId: "acme/production", translatorVersion: TRANSLATOR_VERSION });
  });

  it("multivariate__bucketingKey__stringSeededByFeatureStateNeverNull", () => {
    // Given a 50/50 multivariate feature
    const doc = environment({ features: [featureState("mv", { value: "c", djangoId: 4242, mv: [{ value: "a", weight: 50 }] })] });
    // When translated
    const { document } = translate(doc);
    // Then the fractional is keyed by "<feature state key>,<targetingKey>" (cat: always a string)
    const targeting = document.flags.mv.targeting as { if: unknown[] };
    expect(targeting.if).toEqual([
      { "!": [{ var: "targetingKey" }] },
      "control",
      { fractional: [{ cat: ["4242", ",", { var: "targetingKey" }] }, ["variant_1", 50], ["control", 50]] },
    ]);
  });

  it("segmentOverride__withItsOwnMultivariateWeights__ownSplitForMembers", () => {
    // Given a 0 % option by default, and 100 % for beta members
    const doc = environment({
      features: [featureState("mv", { value: "c", mv: [{ value: "a", weight: 0 }] })],
      segments: [beta([featureState("mv", { value: "c", priority: 0, mv: [{ value: "a", weight: 100 }] })])],
    });
    // When resolved
    const { see, document } = translate(doc);
    // Then members get the override's allocation
    expect(see("mv", { targetingKey: "u1", plan: "beta" })).toBe("a");
    expect(see("mv", { targetingKey: "u1", plan: "free" })).toBe("c");
    expect((document as FlagdDocument).flags.mv.variants).toEqual({ control: "c", variant_1: "a" });
  });
});
