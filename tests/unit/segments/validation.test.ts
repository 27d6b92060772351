/**
 * Segment rule validation (src/server/segments/validation.ts): the pure checks shared by the service
 * and the UI's rule builder. One case per operator rule, plus structure, limits and normalisation.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_REGEX_PROGRAM_SIZE } from "@/server/engine/regex";
import {
  describeRules,
  firstError,
  MAX_CONDITION_VALUE_LENGTH,
  MAX_CONDITIONS,
  MAX_PROPERTY_LENGTH,
  MAX_RULE_DEPTH,
  MAX_RULES,
  MESSAGES,
  normaliseRules,
  SEGMENT_OPERATORS,
  validateRules,
  validateSegment,
  type ConditionInput,
  type RuleInput,
} from "@/server/segments/validation";

/** One ALL rule holding one ANY rule with the given condition (the Flagsmith UI's shape). */
function wrap(condition: ConditionInput | unknown): RuleInput[] {
  return [{ type: "ALL", conditions: [], rules: [{ type: "ANY", conditions: [condition as ConditionInput], rules: [] }] }];
}

const CONDITION = "rules.0.rules.0.conditions.0";

/** Errors for a single wrapped condition. */
function errorsFor(condition: ConditionInput | unknown): Record<string, string> {
  return validateRules(wrap(condition));
}

describe("validateRules — structure", () => {
  it("validateRules__typicalSegment__noErrors", () => {
    // Given a Flagsmith-style segment: ALL → ANY(age < 40, plan IN pro,team) and NONE(country = FR)
    const rules: RuleInput[] = [
      {
        type: "ALL",
        conditions: [],
        rules: [
          { type: "ANY", conditions: [{ operator: "LESS_THAN", property: "age", value: "40" }, { operator: "IN", property: "plan", value: "pro,team" }], rules: [] },
          { type: "NONE", conditions: [{ operator: "EQUAL", property: "country", value: "FR" }], rules: [] },
        ],
      },
    ];

    // When validated
    const errors = validateRules(rules);

    // Then there is nothing to report
    expect(errors).toEqual({});
  });

  it("validateRules__notAListOrEmpty__rulesPathError", () => {
    // Given a non-list and an empty list
    // When validated
    const notList = validateRules({ type: "ALL" });
    const empty = validateRules([]);

    // Then both are reported on the list itself
    expect(notList).toEqual({ rules: MESSAGES.rulesNotList });
    expect(empty).toEqual({ rules: MESSAGES.noRules });
  });

  it("validateRules__rulesWithoutAnyCondition__noConditionsError", () => {
    // Given rules that nest but hold no condition anywhere
    const rules: RuleInput[] = [{ type: "ALL", conditions: [], rules: [{ type: "ANY", conditions: [], rules: [] }] }];

    // When validated
    const errors = validateRules(rules);

    // Then the list is reported as needing a condition
    expect(errors).toEqual({ rules: MESSAGES.noConditions });
  });

  it("validateRules__unknownRuleTypeOrMalformedParts__pathOfEachPart", () => {
    // Given a rule with a bad type, a non-list of conditions, a non-list of sub-rules, and a non-object rule
    const rules = [{ type: "SOME", conditions: "x", rules: 3 }, "oops", { type: "ALL", conditions: [42], rules: [] }];

    // When validated
    const errors = validateRules(rules);

    // Then each problem is reported at its own path, in traversal order
    expect(errors).toEqual({
      "rules.0.type": MESSAGES.ruleType,
      "rules.0.conditions": MESSAGES.conditionsNotList,
      "rules.0.rules": MESSAGES.subRulesNotList,
      "rules.1": MESSAGES.ruleNotObject,
      "rules.2.conditions.0": MESSAGES.conditionNotObject,
    });
    expect(firstError(errors)).toEqual(["rules.0.type", MESSAGES.ruleType]);
  });

  it("validateRules__missingConditionsAndRulesArrays__treatedAsEmpty", () => {
    // Given a rule without `rules` and one without `conditions`
    const rules = [{ type: "ALL", conditions: [{ operator: "IS_SET", property: "email" }] }, { type: "ANY", rules: [] }];

    // When validated
    const errors = validateRules(rules);

    // Then they are accepted
    expect(errors).toEqual({});
  });

  it("validateRules__nestedDeeperThanLimit__tooDeepAtTheDeepRule", () => {
    // Given rules nested one level deeper than allowed, with a condition at the bottom
    let rule: RuleInput = { type: "ALL", conditions: [{ operator: "IS_SET", property: "a" }], rules: [] };
    for (let depth = 1; depth <= MAX_RULE_DEPTH; depth++) rule = { type: "ALL", conditions: [], rules: [rule] };

    // When validated (and at exactly the limit)
    const errors = validateRules([rule]);
    const atLimit = validateRules(rule.rules);

    // Then the too-deep rule is reported; the limit itself is fine
    const deepPath = ["rules.0", ...Array.from({ length: MAX_RULE_DEPTH }, () => "rules.0")].join(".");
    expect(errors).toEqual({ [deepPath]: MESSAGES.tooDeep });
    expect(atLimit).toEqual({});
  });

  it("validateRules__hugelyNestedInput__stopsAtTheLimitWithoutOverflow", () => {
    // Given a 100 000-level nesting (as a hostile client could send)
    let rule: Record<string, unknown> = { type: "ALL", conditions: [], rules: [] };
    for (let depth = 0; depth < 100_000; depth++) rule = { type: "ALL", conditions: [], rules: [rule] };

    // When validated
    const errors = validateRules([rule]);

    // Then it is rejected as too deep
    expect(Object.values(errors)).toEqual([MESSAGES.tooDeep]);
  });

  it("validateRules__moreConditionsThanLimit__tooManyConditions", () => {
    // Given one rule with more conditions than allowed, and one with exactly the limit
    const condition: ConditionInput = { operator: "EQUAL", property: "a", value: "1" };
    const manyConditions: RuleInput[] = [{ type: "ALL", conditions: Array.from({ length: MAX_CONDITIONS + 1 }, () => condition), rules: [] }];
    const justEnough: RuleInput[] = [{ type: "ALL", conditions: Array.from({ length: MAX_CONDITIONS }, () => condition), rules: [] }];

    // When validated
    // Then the excess is reported on the list, the limit itself is fine
    expect(validateRules(manyConditions)).toEqual({ rules: MESSAGES.tooManyConditions });
    expect(validateRules(justEnough)).toEqual({});
  });

  it("validateRules__moreRulesThanLimitFewConditions__tooManyRules", () => {
    // Given more (nested) rules than allowed but a single condition
    const rules: RuleInput[] = [
      { type: "ALL", conditions: [{ operator: "IS_SET", property: "a" }], rules: Array.from({ length: MAX_RULES }, () => ({ type: "ANY", conditions: [], rules: [] })) },
    ];

    // When validated
    const errors = validateRules(rules);

    // Then the rule count is reported
    expect(errors).toEqual({ rules: MESSAGES.tooManyRules });
  });

  it("validateRules__customPrefix__pathsStartWithIt", () => {
    // Given rules validated as part of a larger form
    // When validated with a prefix
    const errors = validateRules(wrap({ operator: "NOPE", property: "a", value: "1" }), "segment.rules");

    // Then the paths carry the prefix
    expect(Object.keys(errors)).toEqual(["segment.rules.0.rules.0.conditions.0.operator"]);
  });
});

describe("validateRules — conditions", () => {
  it("condition__unknownOrMissingOperator__unknownOperator", () => {
    // Given conditions with an unknown, a lower-case and a missing operator
    // When validated
    // Then each is reported on `operator`
    expect(errorsFor({ operator: "STARTS_WITH", property: "a", value: "x" })).toEqual({ [`${CONDITION}.operator`]: MESSAGES.unknownOperator });
    expect(errorsFor({ operator: "equal", property: "a", value: "x" })).toEqual({ [`${CONDITION}.operator`]: MESSAGES.unknownOperator });
    expect(errorsFor({ property: "a", value: "x" })).toEqual({ [`${CONDITION}.operator`]: MESSAGES.unknownOperator });
  });

  it("condition__everyOperatorWithSensibleValue__accepted", () => {
    // Given a valid condition for each of the 14 Flagsmith operators
    const valid: Record<string, ConditionInput> = {
      EQUAL: { operator: "EQUAL", property: "plan", value: "pro" },
      NOT_EQUAL: { operator: "NOT_EQUAL", property: "plan", value: "free" },
      GREATER_THAN: { operator: "GREATER_THAN", property: "age", value: "18" },
      GREATER_THAN_INCLUSIVE: { operator: "GREATER_THAN_INCLUSIVE", property: "age", value: "18" },
      LESS_THAN: { operator: "LESS_THAN", property: "age", value: "65" },
      LESS_THAN_INCLUSIVE: { operator: "LESS_THAN_INCLUSIVE", property: "age", value: "65.5" },
      CONTAINS: { operator: "CONTAINS", property: "email", value: "@example.com" },
      NOT_CONTAINS: { operator: "NOT_CONTAINS", property: "email", value: "@test" },
      REGEX: { operator: "REGEX", property: "email", value: "(?i)^[a-z]+@(?P<domain>example)\\.com$" },
      PERCENTAGE_SPLIT: { operator: "PERCENTAGE_SPLIT", property: null, value: "25.5" },
      MODULO: { operator: "MODULO", property: "user_id", value: "2|0" },
      IS_SET: { operator: "IS_SET", property: "email", value: null },
      IS_NOT_SET: { operator: "IS_NOT_SET", property: "email" },
      IN: { operator: "IN", property: "country", value: "FR,DE,ES" },
    };
    expect(Object.keys(valid).sort()).toEqual([...SEGMENT_OPERATORS].sort());

    // When each is validated
    // Then none has an error
    for (const [operator, condition] of Object.entries(valid)) expect(errorsFor(condition), operator).toEqual({});
  });

  it("condition__propertyMissingBlankOrWrongType__propertyError", () => {
    // Given conditions with no property, a blank one, and a number
    // When validated
    // Then each is reported on `property`
    expect(errorsFor({ operator: "EQUAL", value: "x" })).toEqual({ [`${CONDITION}.property`]: MESSAGES.propertyRequired });
    expect(errorsFor({ operator: "IS_SET", property: "   " })).toEqual({ [`${CONDITION}.property`]: MESSAGES.propertyRequired });
    expect(errorsFor({ operator: "EQUAL", property: 7, value: "x" })).toEqual({ [`${CONDITION}.property`]: MESSAGES.propertyInvalid });
  });

  it("condition__propertyLongerThanLimit__propertyTooLong", () => {
    // Given a property at and beyond the limit
    const at = "p".repeat(MAX_PROPERTY_LENGTH);
    const over = "p".repeat(MAX_PROPERTY_LENGTH + 1);

    // When validated
    // Then only the longer one is rejected
    expect(errorsFor({ operator: "EQUAL", property: at, value: "x" })).toEqual({});
    expect(errorsFor({ operator: "EQUAL", property: over, value: "x" })).toEqual({ [`${CONDITION}.property`]: MESSAGES.propertyTooLong });
  });

  it("condition__percentageSplitWithoutProperty__acceptedAsIdentityKey", () => {
    // Given PERCENTAGE_SPLIT with no, empty and a named property
    // When validated
    // Then all are accepted (no property hashes the identity key)
    expect(errorsFor({ operator: "PERCENTAGE_SPLIT", value: "50" })).toEqual({});
    expect(errorsFor({ operator: "PERCENTAGE_SPLIT", property: "", value: "50" })).toEqual({});
    expect(errorsFor({ operator: "PERCENTAGE_SPLIT", property: "org_id", value: "50" })).toEqual({});
  });

  it("condition__valueMissing__requiredExceptForSetChecksAndEmptyEquality", () => {
    // Given operators without a value
    // When validated
    // Then comparisons need one, IS_SET/IS_NOT_SET do not, and EQUAL/NOT_EQUAL accept the empty string
    for (const operator of ["EQUAL", "NOT_EQUAL", "GREATER_THAN", "GREATER_THAN_INCLUSIVE", "LESS_THAN", "LESS_THAN_INCLUSIVE", "CONTAINS", "NOT_CONTAINS", "REGEX", "MODULO", "PERCENTAGE_SPLIT", "IN"]) {
      expect(errorsFor({ operator, property: "a", value: null }), operator).toEqual({ [`${CONDITION}.value`]: MESSAGES.valueRequired });
    }
    for (const operator of ["GREATER_THAN", "CONTAINS", "NOT_CONTAINS", "REGEX", "MODULO", "PERCENTAGE_SPLIT"]) {
      expect(errorsFor({ operator, property: "a", value: "" }), operator).toEqual({ [`${CONDITION}.value`]: MESSAGES.valueRequired });
    }
    expect(errorsFor({ operator: "EQUAL", property: "a", value: "" })).toEqual({});
    expect(errorsFor({ operator: "NOT_EQUAL", property: "a", value: "" })).toEqual({});
    expect(errorsFor({ operator: "IS_NOT_SET", property: "a", value: "" })).toEqual({});
  });

  it("condition__valueOfUnsupportedType__valueInvalid", () => {
    // Given values that cannot be stored as text
    // When validated
    // Then they are rejected on `value`
    expect(errorsFor({ operator: "EQUAL", property: "a", value: { x: 1 } })).toEqual({ [`${CONDITION}.value`]: MESSAGES.valueInvalid });
    expect(errorsFor({ operator: "EQUAL", property: "a", value: ["a"] })).toEqual({ [`${CONDITION}.value`]: MESSAGES.valueInvalid });
    expect(errorsFor({ operator: "EQUAL", property: "a", value: Number.NaN })).toEqual({ [`${CONDITION}.value`]: MESSAGES.valueInvalid });
  });

  it("condition__numberOrBooleanValue__acceptedAsText", () => {
    // Given a number and a boolean value
    const rules = wrap({ operator: "GREATER_THAN", property: "age", value: 18 });
    const flags = wrap({ operator: "EQUAL", property: "beta", value: true });

    // When validated and normalised
    // Then they are valid and stored as text
    expect(validateRules(rules)).toEqual({});
    expect(validateRules(flags)).toEqual({});
    expect(normaliseRules(rules)[0].rules[0].conditions[0].value).toBe("18");
    expect(normaliseRules(flags)[0].rules[0].conditions[0].value).toBe("true");
  });

  it("condition__valueLongerThanLimit__valueTooLong", () => {
    // Given values at and beyond the limit (also for an operator that ignores its value)
    const at = "v".repeat(MAX_CONDITION_VALUE_LENGTH);
    const over = "v".repeat(MAX_CONDITION_VALUE_LENGTH + 1);

    // When validated
    // Then only the longer ones are rejected
    expect(errorsFor({ operator: "EQUAL", property: "a", value: at })).toEqual({});
    expect(errorsFor({ operator: "EQUAL", property: "a", value: over })).toEqual({ [`${CONDITION}.value`]: MESSAGES.valueTooLong });
    expect(errorsFor({ operator: "IS_SET", property: "a", value: over })).toEqual({ [`${CONDITION}.value`]: MESSAGES.valueTooLong });
  });

  it("regex__patternPythonCanCompile__accepted", () => {
    // Given Python-dialect patterns (inline flags, named groups, \A and \Z, a literal leading "]" in a class)
    // When validated
    // Then they compile through the engine's translation
    for (const value of ["^user-\\d+$", "(?i)admin", "(?P<x>a)(?P<y>b)", "\\Afoo\\Z", "[]a]", "(?x) a b # comment", "a{,3}", "(?i-s:a.)b"]) {
      expect(errorsFor({ operator: "REGEX", property: "id", value }), value).toEqual({});
    }
  });

  it("regex__patternThatDoesNotCompile__notAValidRegularExpression", () => {
    // Given malformed patterns and Python-only constructs the engine cannot evaluate
    // When validated
    // Then each is rejected on `value`
    for (const value of ["[a-z", "(unclosed", "*start", "trailing\\", "(?L)x", "(?P>x)"]) {
      expect(errorsFor({ operator: "REGEX", property: "id", value }), value).toEqual({ [`${CONDITION}.value`]: MESSAGES.regex });
    }
  });

  it("regex__nestedRepetition__acceptedAsLinearTime", () => {
    // Given patterns a backtracking engine can take exponential time on (nested repetition), also in Python syntax
    // When validated
    // Then they are accepted: the RE2 engine evaluates them in linear time
    for (const value of ["(a+)+$", "(?i)(x+x+)+y", "(?P<g>\\w+)*@", "\\A(ab*)*\\Z", "(a|aa)*$", "(.*a){12}"]) {
      expect(errorsFor({ operator: "REGEX", property: "id", value }), value).toEqual({});
    }
  });

  it("regex__constructRe2CannotExpress__refusedNamingTheConstruct", () => {
    // Given valid Python patterns that need backtracking (backreferences, lookarounds, atomic groups, …)
    const cases: [string, string][] = [
      ["(a)\\1", "REGEX patterns cannot use backreferences (\\1)"],
      ["(?P<x>a)(?P=x)", "REGEX patterns cannot use backreferences ((?P=x))"],
      ["a(?=b)", "REGEX patterns cannot use lookahead assertions ((?=…))"],
      ["a(?!b)", "REGEX patterns cannot use lookahead assertions ((?!…))"],
      ["(?<=a)b", "REGEX patterns cannot use lookbehind assertions ((?<=…))"],
      ["(?<!a)b", "REGEX patterns cannot use lookbehind assertions ((?<!…))"],
      ["(?>a+)b", "REGEX patterns cannot use atomic groups ((?>…))"],
      ["a++b", "REGEX patterns cannot use possessive quantifiers (++)"],
      ["(a)?(?(1)b|c)", "REGEX patterns cannot use conditional groups ((?(1)…))"],
      ["a{1001}", "REGEX patterns cannot use repeat counts above 1000 ({1001})"],
    ];

    // When each is validated
    const errors = cases.map(([value]) => errorsFor({ operator: "REGEX", property: "id", value }));

    // Then each is refused on `value` with a message naming the construct
    expect(errors).toEqual(cases.map(([, message]) => ({ [`${CONDITION}.value`]: message })));
  });

  it("regex__programTooLarge__refusedAsTooComplex", () => {
    // Given patterns whose RE2 program exceeds the evaluation budget (long bounded repeats)
    // When validated
    // Then they are refused with the limit named; a pattern of the same shape within the limit is accepted
    for (const value of [".{0,999}", "[a-z]{0,300}[0-9]{0,300}"]) {
      expect(errorsFor({ operator: "REGEX", property: "id", value })[`${CONDITION}.value`], value).toMatch(new RegExp(`^REGEX pattern is too large to evaluate quickly \\(RE2 program size (about )?\\d+, limit ${MAX_REGEX_PROGRAM_SIZE}\\)`));
    }
    expect(errorsFor({ operator: "REGEX", property: "id", value: "^.{0,60}$" })).toEqual({});
  });

  it("modulo__divisorPipeRemainder__accepted", () => {
    // Given well-formed divisor|remainder values (floats and Python's float syntax included)
    // When validated
    // Then they are accepted
    for (const value of ["2|0", "3|1", "2.5|0.5", "-4|1", " 10 | 3 ", "1e2|1"]) {
      expect(errorsFor({ operator: "MODULO", property: "n", value }), value).toEqual({});
    }
  });

  it("modulo__malformedOrZeroDivisor__rejected", () => {
    // Given malformed values and a zero divisor
    // When validated
    // Then malformed ones ask for divisor|remainder and the zero divisor is named
    for (const value of ["2", "2|", "|0", "a|b", "2|0|1", "2/0", "inf|0", "2|nan"]) {
      expect(errorsFor({ operator: "MODULO", property: "n", value }), value).toEqual({ [`${CONDITION}.value`]: MESSAGES.modulo });
    }
    expect(errorsFor({ operator: "MODULO", property: "n", value: "0|0" })).toEqual({ [`${CONDITION}.value`]: MESSAGES.moduloZero });
    expect(errorsFor({ operator: "MODULO", property: "n", value: "0.0|1" })).toEqual({ [`${CONDITION}.value`]: MESSAGES.moduloZero });
  });

  it("percentageSplit__numberFrom0To100__acceptedElseRejected", () => {
    // Given thresholds inside and outside 0–100
    // When validated
    // Then the bounds are inclusive and anything else is rejected
    for (const value of ["0", "100", "33.3", "50.0"]) expect(errorsFor({ operator: "PERCENTAGE_SPLIT", value }), value).toEqual({});
    for (const value of ["-1", "100.01", "fifty", "50%", "nan", "inf"]) {
      expect(errorsFor({ operator: "PERCENTAGE_SPLIT", value }), value).toEqual({ [`${CONDITION}.value`]: MESSAGES.percentage });
    }
  });

  it("in__nonEmptyList__acceptedEmptyRejected", () => {
    // Given comma lists and JSON arrays, empty and not
    // When validated
    // Then non-empty lists pass, empty ones are rejected
    for (const value of ["a", "a,b", "[\"a\",\"b\"]", "[1, 2]", "[not json,x"]) expect(errorsFor({ operator: "IN", property: "p", value }), value).toEqual({});
    expect(errorsFor({ operator: "IN", property: "p", value: "" })).toEqual({ [`${CONDITION}.value`]: MESSAGES.valueRequired });
    for (const value of ["   ", ",", ",,", "[]", " [ ] "]) {
      expect(errorsFor({ operator: "IN", property: "p", value }), JSON.stringify(value)).toEqual({ [`${CONDITION}.value`]: MESSAGES.inEmpty });
    }
  });

  it("semver__comparisonOperatorsWithValidVersion__accepted", () => {
    // Given every comparison operator with a valid :semver value
    // When validated
    // Then all are accepted, prereleases and build metadata included
    for (const operator of ["EQUAL", "NOT_EQUAL", "GREATER_THAN", "GREATER_THAN_INCLUSIVE", "LESS_THAN", "LESS_THAN_INCLUSIVE"]) {
      expect(errorsFor({ operator, property: "version", value: "1.2.3:semver" }), operator).toEqual({});
    }
    expect(errorsFor({ operator: "GREATER_THAN", property: "version", value: "2.0.0-rc.1+build.5:semver" })).toEqual({});
  });

  it("semver__otherOperators__semverOperatorError", () => {
    // Given :semver values on operators that do not compare versions
    // When validated
    // Then each is rejected on `value`
    for (const operator of ["CONTAINS", "NOT_CONTAINS", "REGEX", "IN", "MODULO", "PERCENTAGE_SPLIT"]) {
      expect(errorsFor({ operator, property: "version", value: "1.2.3:semver" }), operator).toEqual({ [`${CONDITION}.value`]: MESSAGES.semverOperator });
    }
  });

  it("semver__unparsableVersion__semverVersionError", () => {
    // Given versions python-semver would refuse
    // When validated
    // Then each is rejected on `value`
    for (const value of ["1.2:semver", "v1.2.3:semver", "01.2.3:semver", "1.2.3 :semver", ":semver", "latest:semver"]) {
      expect(errorsFor({ operator: "EQUAL", property: "version", value }), value).toEqual({ [`${CONDITION}.value`]: MESSAGES.semverVersion });
    }
  });

  it("condition__severalProblems__allReportedInOrder", () => {
    // Given two bad conditions in different rules
    const rules: RuleInput[] = [
      { type: "ALL", conditions: [{ operator: "EQUAL", property: "", value: null }], rules: [] },
      { type: "ANY", conditions: [{ operator: "IS_SET", property: "ok" }, { operator: "REGEX", property: "x", value: "(" }], rules: [] },
    ];

    // When validated
    const errors = validateRules(rules);

    // Then every problem is listed, the first one first
    expect(errors).toEqual({
      "rules.0.conditions.0.property": MESSAGES.propertyRequired,
      "rules.0.conditions.0.value": MESSAGES.valueRequired,
      "rules.1.conditions.1.value": MESSAGES.regex,
    });
    expect(firstError(errors)?.[0]).toBe("rules.0.conditions.0.property");
    expect(firstError({})).toBeNull();
  });
});

describe("validateSegment", () => {
  it("validateSegment__missingOrLongNameAndBadDescription__fieldErrors", () => {
    // Given forms with a blank name, a long name and a non-text description
    const rules = wrap({ operator: "IS_SET", property: "a" });

    // When validated
    // Then each is reported on its field
    expect(validateSegment({ name: "  ", rules })).toEqual({ name: MESSAGES.nameRequired });
    expect(validateSegment({ name: "n".repeat(201), rules })).toEqual({ name: MESSAGES.nameTooLong });
    expect(validateSegment({ name: "ok", description: 5, rules })).toEqual({ description: MESSAGES.descriptionInvalid });
    expect(validateSegment({ name: "ok", description: null, rules })).toEqual({});
  });

  it("validateSegment__fullVersusPartial__requiredOnlyWhenFull", () => {
    // Given an empty input
    // When validated as a creation and as an update
    const full = validateSegment({});
    const partial = validateSegment({}, { partial: true });
    const partialRules = validateSegment({ rules: [] }, { partial: true });

    // Then a creation needs a name and rules, an update only checks what it sends
    expect(full).toEqual({ name: MESSAGES.nameRequired, rules: MESSAGES.rulesNotList });
    expect(partial).toEqual({});
    expect(partialRules).toEqual({ rules: MESSAGES.noRules });
  });
});

describe("normaliseRules and describeRules", () => {
  it("normaliseRules__extraKeysAndMissingArrays__storedShapeOnly", () => {
    // Given UI state with extra keys, missing arrays and an empty PERCENTAGE_SPLIT property
    const input = [
      { type: "ALL", id: "ui-1", conditions: [{ operator: "PERCENTAGE_SPLIT", property: "", value: 10, description: "x" }] },
      { type: "ANY", conditions: [{ operator: "EQUAL", property: " spaced ", value: "a" }], rules: [{ type: "NONE", conditions: [{ operator: "IS_SET", property: "p" }] }] },
    ] as unknown as RuleInput[];

    // When normalised
    const stored = normaliseRules(input);

    // Then only type/conditions/rules and operator/property/value remain, values as text
    expect(stored).toEqual([
      { type: "ALL", conditions: [{ operator: "PERCENTAGE_SPLIT", property: null, value: "10" }], rules: [] },
      {
        type: "ANY",
        conditions: [{ operator: "EQUAL", property: " spaced ", value: "a" }],
        rules: [{ type: "NONE", conditions: [{ operator: "IS_SET", property: "p", value: null }], rules: [] }],
      },
    ]);
  });

  it("describeRules__nestedRules__oneLineSummary", () => {
    // Given nested rules
    const rules = normaliseRules([
      { type: "ALL", conditions: [], rules: [{ type: "ANY", conditions: [{ operator: "LESS_THAN", property: "age", value: "40" }, { operator: "PERCENTAGE_SPLIT", value: "5" }] }] },
    ]);

    // When summarised
    const summary = describeRules(rules);

    // Then the summary reads like the rule tree
    expect(summary).toBe('ALL(ANY(age LESS_THAN "40", (identity) PERCENTAGE_SPLIT "5"))');
  });
});

describe("purity", () => {
  it("validationModule__imports__onlyPureEngineHelpers", () => {
    // Given the validation module's source (the UI bundles it)
    const source = fs.readFileSync(path.resolve(__dirname, "../../../src/server/segments/validation.ts"), "utf8");

    // When listing its imports
    const imports = [...source.matchAll(/^import[^"]*"([^"]+)"/gm)].map((match) => match[1]);

    // Then it only uses the pure engine modules and the shared input checks (no db, no node: APIs, no server infrastructure)
    expect(imports.length).toBeGreaterThan(0);
    for (const specifier of imports) expect(["@/server/engine/regex", "@/server/engine/python", "@/server/engine/semver", "@/server/engine/types", "@/server/input"]).toContain(specifier);
    const input = fs.readFileSync(path.resolve(__dirname, "../../../src/server/input.ts"), "utf8");
    expect([...input.matchAll(/^import\s(?!type)[^"]*"([^"]+)"/gm)].map((match) => match[1])).toEqual(["zod"]);
    for (const engineModule of ["regex", "python", "semver", "types"]) {
      const engine = fs.readFileSync(path.resolve(__dirname, `../../../src/server/engine/${engineModule}.ts`), "utf8");
      // Value imports only of browser-safe, dependency-free packages (re2js: pure JavaScript RE2).
      const valueImports = [...engine.matchAll(/^import\s(?!type)[^"]*"([^"]+)"/gm)].map((match) => match[1]);
      expect(valueImports.filter((specifier) => specifier !== "re2js"), engineModule).toEqual([]);
    }
  });
});
