/**
 * Operator mapping: every Flagsmith operator, over many condition values, property forms and context values,
 * evaluated by flagd-core on the translated document and by Flagpost's engine on the environment document.
 * Exact translations must agree everywhere; inexact ones must fail closed (flagd matches ⇒ Flagsmith matches).
 */
import { describe, expect, it, vi } from "vitest";
import type { DocFeatureState, DocSegment } from "@/server/engine/document";
import type { TraitValue } from "@/server/engine";
import { parseLiteralRegex } from "@/server/flagd/operators";
import { SYNTHETIC_TRAIT_VALUES } from "@/server/flagd/synthetic";
import { translateEnvironment } from "@/server/flagd/translator";
import { cond, environment, evaluateBoth, featureState, rule, segment, type ContextCase } from "./fixtures";
import { loadStrict } from "./helpers";

// Statistical/exhaustive checks evaluate tens of thousands of contexts: allow for loaded machines (no speed assertion).
vi.setConfig({ testTimeout: 120_000 });

const PROPERTIES: Array<string | null> = [
  "t",
  "$.identity.traits.t",
  "$.identity.identifier",
  "$.identity.key",
  "$.environment.name",
  "a.b",
  "$.identity.traits['a.b']",
  "$.nowhere",
  "",
  null,
];

const VALUES: Record<string, Array<string | null>> = {
  EQUAL: ["pro", "18", "7", "2.5", "2.50", "true", "false", "False", "1", "0", "", "1.2.3:semver", "1_000", " 5 ", "Production", "user-1", "-3", "9007199254740993", "nan", null],
  NOT_EQUAL: ["pro", "18", "true", "1", "2.0.0:semver", "", "7.0", "abc", "inf"],
  GREATER_THAN: ["18", "2.5", "9", "free", "1.2.0:semver", "false", "abc", "-3", "1e2", "inf", "-inf", "Ｚ", "", " "],
  GREATER_THAN_INCLUSIVE: ["18", "21", "2.5", "1.2.3:semver", "m", "0", "-0.5", "7"],
  LESS_THAN: ["18", "100", "2.5", "2.0.0:semver", "m", "true", "nan", "1.10.0-beta.1:semver"],
  LESS_THAN_INCLUSIVE: ["18", "42", "1.10.0-beta.1:semver", "pro", "-0.5", "0"],
  CONTAINS: ["ro", "a", "", "@acme", "1", "1.2.3:semver", "\n", "."],
  NOT_CONTAINS: ["ro", "a", "", "@acme", "x", "1"],
  IN: ["free,pro", "DE,US, FR", '["DE", 1, 2.0, true, "pro"]', "1,2,3,42", "007,7", "[bad", "", "Production,Staging", "user-1,12345", "-0,0,-3", "a,b", "[18, 7.0]", "9007199254740993,5"],
  REGEX: ["^pro", "free", ".*@acme\\.com$", "(DE|US)$", "^[a-z]+$", "\\d+", ".*acme", "^1", "[", "^(free|pro)", "abc\\Z", "1", "", "^2\\.5", "^-", "True", "^(?:x|y)$", "7$", "(p)\\1", "pro(?=x)"],
  MODULO: ["2|0", "3|1", "2.5|0.5", "-3|1", "4|-1", "bad", "0|0", "", "7|0", "2|1", "1|inf", "3|-2"],
  IS_SET: [""],
  IS_NOT_SET: [""],
  PERCENTAGE_SPLIT: ["100", "99.995", "-1", "abc", "nan", "inf"],
  FOO_BAR: ["x"],
};

const TRAIT_VALUES: Array<TraitValue | undefined> = [
  ...SYNTHETIC_TRAIT_VALUES,
  undefined,
  "1.2.3 ",
  "V1.2.3",
  "\u00a01.2.3",
  "1.2.3-beta",
  2 ** 53,
  "12345678901234567890",
  1e-5,
  123456.75,
  "0.0",
  "-0.0",
  "5.0",
  "Production",
  "env_key_user-1",
  "+5",
  "٣",
  "7",
  "x\n",
];

function contexts(): ContextCase[] {
  return TRAIT_VALUES.map((value) => {
    const identifier = typeof value === "string" && value !== "" ? value : "user-1";
    const traits: Record<string, TraitValue> = {};
    if (value !== undefined) {
      traits.t = value;
      traits["a.b"] = value;
    }
    return { identifier, traits };
  });
}

function documentFor(operator: string) {
  const features: DocFeatureState[] = [];
  const segments: DocSegment[] = [];
  let n = 0;
  for (const property of PROPERTIES) {
    for (const value of VALUES[operator]) {
      n++;
      const name = `${operator.toLowerCase()}_${n}`;
      features.push(featureState(name, { value: "out" }));
      segments.push(segment(1000 + n, `seg ${n}`, rule("ALL", [cond(property, operator, value)]), [featureState(name, { value: "in", priority: 1 })]));
    }
  }
  return environment({ features, segments });
}

describe("operator translation against the engine", () => {
  it.each(Object.keys(VALUES))("operatorTranslation__%sOnEveryPropertyAndValue__exactAgreesAndInexactFailsClosed", (operator) => {
    // Given one feature per (property, condition value) whose segment override serves "in" (default "out")
    const doc = documentFor(operator);
    const { document, diagnostics } = translateEnvironment(doc, { flagSetId: "p/e" });
    const core = loadStrict(document);
    const byName = new Map(diagnostics.features.map((f) => [f.name, f]));

    // When every context (all value kinds, missing trait) is evaluated by flagd-core and by the engine
    const disagreements: string[] = [];
    let compared = 0;
    for (const context of contexts()) {
      for (const [name, { expected, actual }] of evaluateBoth(doc, document, core, byName, context)) {
        const diag = byName.get(name);
        if (diag === undefined) continue;
        if (actual.startsWith("error")) disagreements.push(`${name}: flagd error ${actual} for ${JSON.stringify(context)}`);
        if (diag.fidelity === "exact") {
          compared++;
          if (expected !== actual) disagreements.push(`${name} ${JSON.stringify(context)}: engine ${expected}, flagd ${actual}`);
        } else if (diag.fidelity === "lossy" && actual === '"in"' && expected !== '"in"') {
          disagreements.push(`${name} ${JSON.stringify(context)}: flagd matched a segment Flagsmith does not (not fail-closed)`);
        }
      }
    }

    // Then exact translations agree with the engine everywhere, no evaluation errors, and inexact ones fail closed
    expect(disagreements.slice(0, 10)).toEqual([]);
    expect(compared).toBeGreaterThan(0);
  });
});

function translatedRule(property: string | null, operator: string, value: string | null) {
  const doc = environment({
    features: [featureState("f", { value: "out" }), featureState("g", { value: "out" })],
    segments: [
      segment(7, "only", rule("ALL", [cond(property, operator, value)]), [featureState("f", { value: "in", priority: 0 })]),
    ],
  });
  const result = translateEnvironment(doc, { flagSetId: "p/e" });
  loadStrict(result.document);
  const targeting = result.document.flags.f.targeting as { if: unknown[] } | undefined;
  return { result, condition: targeting?.if[2], diagnostics: result.diagnostics.features.find((f) => f.name === "f") };
}

describe("operator mapping shapes", () => {
  it("equal__plainStringValue__singleTypedMembershipIncludingBooleanCast", () => {
    // Given EQUAL "pro" (Flagsmith casts "pro" to True for boolean traits)
    // When translated
    const { condition } = translatedRule("plan", "EQUAL", "pro");
    // Then one strict membership test covers the string and the boolean cast
    expect(condition).toEqual({ in: [{ var: "plan" }, ["pro", true]] });
  });

  it("in__commaSeparatedWithSpaces__membersAreNotTrimmed", () => {
    // Given IN "DE,US, FR" (Flagsmith does not trim)
    // When translated
    const { condition } = translatedRule("country", "IN", "DE,US, FR");
    // Then " FR" keeps its space
    expect(condition).toEqual({ in: [{ var: "country" }, ["DE", "US", " FR"]] });
  });

  it("in__jsonArrayString__elementsStringifiedLikePython", () => {
    // Given IN with a JSON array text (Python str(): true → "True", 2.0 → "2.0")
    // When translated
    const { condition } = translatedRule("country", "IN", '["DE", true, 2.0]');
    // Then the members are the Python strings (and "2.0"/"True" are not numbers, so only STR-kind matches)
    expect(condition).toEqual({ in: [{ var: "country" }, ["DE", "True"]] });
  });

  it("jsonPath__identityIdentifier__readsTargetingKeyUnlessATraitHasThatName", () => {
    // Given a condition on $.identity.identifier
    // When translated
    const { condition } = translatedRule("$.identity.identifier", "EQUAL", "alice");
    // Then it reads targetingKey (a trait literally named "$.identity.identifier" wins, as in Flagsmith)
    expect(JSON.stringify(condition)).toContain('{"var":"targetingKey"}');
    expect(JSON.stringify(condition)).toContain('{"var":"$\\\\.identity\\\\.identifier"}');
  });

  it("jsonPath__environmentName__foldedToAConstantAtExportTime", () => {
    // Given a segment on $.environment.name EQUAL the environment's own name
    // When translated
    const { condition } = translatedRule("$.environment.name", "EQUAL", "Production");
    // Then only the trait-override case remains dynamic; the path itself is decided at export time
    expect(JSON.stringify(condition)).not.toContain("environment.name\"");
    expect(JSON.stringify(condition)).toContain('"!=="');
  });

  it("semver__greaterThan__semVerOperatorGuardedAgainstLenientInputs", () => {
    // Given a :semver condition
    // When translated
    const { condition, diagnostics } = translatedRule("version", "GREATER_THAN", "1.2.0:semver");
    // Then flagd's sem_ver is used, guarded against v-prefixes and whitespace, and the flag is exact
    expect(JSON.stringify(condition)).toContain('{"sem_ver":[{"var":"version"},">","1.2.0"]}');
    expect(JSON.stringify(condition)).toContain('"v","V"');
    expect(diagnostics?.fidelity).toBe("exact");
  });

  it("regex__literalPrefix__startsWith", () => {
    // Given REGEX "^pro" (re.match anchors at the start)
    // When translated
    const { condition, diagnostics } = translatedRule("plan", "REGEX", "^pro");
    // Then starts_with on strings, exact
    expect(JSON.stringify(condition)).toContain('{"starts_with":[{"var":"plan"},"pro"]}');
    expect(diagnostics?.fidelity).toBe("exact");
  });

  it("regex__dotStarSuffixWithDollar__endsWithAndNoNewlineBeforeIt", () => {
    // Given REGEX ".*@acme\.com$"
    // When translated
    const { condition, diagnostics } = translatedRule("email", "REGEX", ".*@acme\\.com$");
    // Then ends_with (also before a final newline, as Python's $), exact
    expect(JSON.stringify(condition)).toContain('{"ends_with":[{"var":"email"},"@acme.com"]}');
    expect(diagnostics?.fidelity).toBe("exact");
  });

  it("regex__characterClassUnderAll__wholeBranchOmittedAndReported", () => {
    // Given an ALL rule combining an equality with an untranslatable regex
    const doc = environment({
      features: [featureState("f", { value: "out" })],
      segments: [
        segment(7, "letters", rule("ALL", [cond("plan", "EQUAL", "pro"), cond("plan", "REGEX", "^[a-z]+$")]), [
          featureState("f", { value: "in", priority: 0 }),
        ]),
      ],
    });
    // When translated
    const { document, diagnostics } = translateEnvironment(doc, { flagSetId: "p/e" });
    loadStrict(document);
    const f = diagnostics.features[0];
    // Then the branch is not broadened to "plan == pro": it is omitted, and the flag is lossy with warnings
    expect(document.flags.f.targeting).toBeUndefined();
    expect(f.fidelity).toBe("lossy");
    expect(f.warnings.map((w) => w.reason)).toContain("segment_not_exact");
    expect(diagnostics.environmentWarnings.map((w) => w.reason)).toContain("regex_unsupported");
  });

  it("regex__characterClassUnderAny__branchNarrowedToTheTranslatablePart", () => {
    // Given an ANY rule: an equality or an untranslatable regex
    const doc = environment({
      features: [featureState("f", { value: "out" })],
      segments: [
        segment(7, "either", rule("ANY", [cond("plan", "EQUAL", "pro"), cond("plan", "REGEX", "^[a-z]+$")]), [
          featureState("f", { value: "in", priority: 0 }),
        ]),
      ],
    });
    // When translated
    const { document, diagnostics } = translateEnvironment(doc, { flagSetId: "p/e" });
    const core = loadStrict(document);
    // Then members matching the equality still get the override; regex-only members fall back (fail closed)
    expect(core.resolveStringEvaluation("f", "x", { targetingKey: "u", plan: "pro" }).value).toBe("in");
    expect(core.resolveStringEvaluation("f", "x", { targetingKey: "u", plan: "abc" }).value).toBe("out");
    expect(diagnostics.features[0].fidelity).toBe("lossy");
  });

  it("regex__constructTheEngineRefuses__falseWithMalformedValueWarning", () => {
    // Given a REGEX with a backreference (refused by Flagpost, never evaluated by its engine)
    // When translated
    const { result, diagnostics } = translatedRule("plan", "REGEX", "(p)\\1");
    // Then the segment never matches (no targeting), exactly as the engine evaluates it, and the warning names
    // the construct
    expect(result.document.flags.f.targeting).toBeUndefined();
    expect(diagnostics?.fidelity).toBe("exact");
    expect(result.diagnostics.environmentWarnings).toEqual([
      { reason: "malformed_value", detail: expect.stringContaining("REGEX patterns cannot use backreferences (\\1)") },
    ]);
  });

  it("regexParser__supportedShapes__recognisedAndOthersRejected", () => {
    // Given assorted patterns
    // When parsed as literal regexes
    // Then plain literals, anchors, ".*" and literal alternations are recognised; classes and quantifiers are not
    expect(parseLiteralRegex("^a\\.b")).toEqual({ floating: false, end: null, literals: ["a.b"] });
    expect(parseLiteralRegex(".*x$")).toEqual({ floating: true, end: "dollar", literals: ["x"] });
    expect(parseLiteralRegex("(?:a|b)\\Z")).toEqual({ floating: false, end: "Z", literals: ["a", "b"] });
    expect(parseLiteralRegex("^[a-z]+$")).toBeNull();
    expect(parseLiteralRegex("\\d")).toBeNull();
    expect(parseLiteralRegex("a+")).toBeNull();
  });

  it("modulo__negativeValues__pythonSignOfDivisor", () => {
    // Given MODULO "3|1" (Python: -2 % 3 == 1; JavaScript: -2 % 3 == -2)
    const { result } = translatedRule("n", "MODULO", "3|1");
    const core = loadStrict(result.document);
    // When -2, 4 and -4 are evaluated
    const value = (n: string | number | boolean) => core.resolveStringEvaluation("f", "x", { targetingKey: "u", n }).value;
    // Then the results follow Python's modulo
    expect([value(-2), value(4), value(-4), value("7"), value(true)]).toEqual(["in", "in", "out", "in", "out"]);
  });

  it("unknownOperator__anyContext__neverMatchesExactlyWithWarning", () => {
    // Given an operator Flagsmith does not know
    // When translated
    const { result, diagnostics } = translatedRule("plan", "FOO_BAR", "x");
    // Then the segment never matches (as in Flagsmith): no branch, exact verdict, and a warning
    expect(result.document.flags.f.targeting).toBeUndefined();
    expect(diagnostics?.fidelity).toBe("exact");
    expect(result.diagnostics.environmentWarnings.map((w) => w.reason)).toEqual(["unknown_operator"]);
  });

  it("reservedTraitName__targetingKey__unsupportedPropertyFailsClosed", () => {
    // Given a condition on a trait named "targetingKey" (the flagd context key of the identifier)
    // When translated
    const { result, diagnostics } = translatedRule("targetingKey", "EQUAL", "x");
    // Then the condition is reported and the branch omitted
    expect(diagnostics?.fidelity).toBe("lossy");
    expect(result.diagnostics.environmentWarnings.map((w) => w.reason)).toEqual(["unsupported_property"]);
    expect(result.document.flags.f.targeting).toBeUndefined();
  });
});
