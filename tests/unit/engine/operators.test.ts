/**
 * Focused operator semantics (spec §4.4–§4.5): coercion, MODULO, REGEX, IN, semver, PERCENTAGE_SPLIT, JSONPath.
 */
import { describe, expect, it } from "vitest";
import {
  getEvaluationResult,
  getHashedPercentageForObjectIds,
  type AnySegmentCondition,
  type EvaluationContext,
  type SegmentRule,
  type TraitValue,
} from "@/server/engine";

const SEGMENT_KEY = "42";

interface ContextOptions {
  identifier?: string;
  key?: string;
  withoutIdentity?: boolean;
}

function contextWith(rules: SegmentRule[], traits: Record<string, TraitValue> = {}, options: ContextOptions = {}): EvaluationContext {
  return {
    environment: { key: "env_key", name: "Production" },
    identity: options.withoutIdentity
      ? null
      : { identifier: options.identifier ?? "user-1", ...(options.key ? { key: options.key } : {}), traits },
    segments: { [SEGMENT_KEY]: { key: SEGMENT_KEY, name: "segment", rules } },
  };
}

/** Whether a single-condition segment matches the given traits. */
function matches(condition: AnySegmentCondition, traits: Record<string, TraitValue> = {}, options: ContextOptions = {}): boolean {
  const result = getEvaluationResult(contextWith([{ type: "ALL", conditions: [condition] }], traits, options));
  return result.segments.length === 1;
}

function cond(property: string, operator: AnySegmentCondition["operator"], value: string): AnySegmentCondition {
  return { property, operator, value } as AnySegmentCondition;
}

describe("coercion and typed comparison", () => {
  it.each<[string, TraitValue, AnySegmentCondition["operator"], string, boolean]>([
    ["intLikeString_equalsInt", "007", "EQUAL", "7", true],
    ["intLikeString_comparedNumerically", "10", "GREATER_THAN", "9", true],
    ["decimalLikeString_equalsFloat", "1.50", "EQUAL", "1.5", true],
    ["plainString_comparedLexicographically", "10a", "GREATER_THAN", "9", false],
    ["stringWithSpaces_notCoerced", " 5", "EQUAL", "5", false],
    ["exponentString_notCoerced", "1e3", "EQUAL", "1000", false],
    ["boolTrue_equalsOne", true, "EQUAL", "1", true],
    ["boolFalse_equalsLowercaseFalse", false, "EQUAL", "false", true],
    ["boolFalse_equalsCapitalFalse", false, "EQUAL", "False", true],
    ["boolTrue_notEqualFalse", true, "NOT_EQUAL", "False", true],
    ["boolTrue_greaterThanFalse", true, "GREATER_THAN", "false", true],
    ["int_equalsTrueString_castFails", 1, "EQUAL", "true", false],
    ["int_notEqualToNonNumeric_castFails", 1, "NOT_EQUAL", "abc", false],
    ["int_valueWithWhitespace_pythonIntStrips", 5, "EQUAL", "  5 ", true],
    ["int_valueWithUnderscores_pythonIntAccepts", 1000, "EQUAL", "1_000", true],
    ["integralNumber_floatValue_fallsBackToFloat", 2, "LESS_THAN", "2.1", true],
    ["float_intValue_castToFloat", 2.5, "GREATER_THAN", "2", true],
    ["float_infValue", 2.5, "LESS_THAN", "inf", true],
    ["bigIntString_exactInequality", "12345678901234567890", "EQUAL", "12345678901234567891", false],
    ["bigIntString_exactEquality", "12345678901234567890", "EQUAL", "12345678901234567890", true],
    ["bigIntString_exactOrdering", "12345678901234567891", "GREATER_THAN", "12345678901234567890", true],
    ["string_contains", "hello world", "CONTAINS", "lo w", true],
    ["string_containsEmpty", "hello", "CONTAINS", "", true],
    ["int_containsNeverMatches", 123, "CONTAINS", "2", false],
    ["string_notContains", "hello", "NOT_CONTAINS", "xyz", true],
    ["intLikeString_notContainsNeverMatches", "123", "NOT_CONTAINS", "9", false],
    ["astralVsBmpCharacters_codePointOrder", "\u{1F600}", "GREATER_THAN", "\uFFFD", true],
  ])("typedComparison__%s__matchesPythonSemantics", (_name, trait, operator, value, expected) => {
    // Given a trait and a condition on it
    const condition = cond("t", operator, value);
    // When the segment is evaluated
    const matched = matches(condition, { t: trait });
    // Then the result follows the Python engine's coercion and casting rules
    expect(matched).toBe(expected);
  });

  it("anyOperator__traitMissing__onlyIsNotSetMatches", () => {
    // Given an identity without the trait
    const operators = ["EQUAL", "NOT_EQUAL", "CONTAINS", "NOT_CONTAINS", "REGEX", "MODULO", "IN", "IS_SET"] as const;
    // When each operator is evaluated against the missing trait
    const results = operators.map((operator) => matches(cond("missing", operator, "x")));
    // Then none matches, while IS_NOT_SET does
    expect(results).toEqual(operators.map(() => false));
    expect(matches(cond("missing", "IS_NOT_SET", ""))).toBe(true);
  });

  it("traitLookup__prototypePropertyName__isNotATrait", () => {
    // Given no traits at all
    const traits = {};
    // When conditions reference names that exist on Object.prototype
    const constructorSet = matches(cond("constructor", "IS_SET", ""), traits);
    const toStringSet = matches(cond("toString", "IS_SET", ""), traits);
    // Then they are not set
    expect(constructorSet).toBe(false);
    expect(toStringSet).toBe(false);
  });

  it("unknownOperator__anyTrait__neverMatches", () => {
    // Given a condition with an operator outside the schema
    const condition = { property: "t", operator: "STARTS_WITH", value: "a" } as unknown as AnySegmentCondition;
    // When evaluated
    const matched = matches(condition, { t: "abc" });
    // Then it does not match
    expect(matched).toBe(false);
  });
});

describe("MODULO", () => {
  it.each<[string, TraitValue, string, boolean]>([
    ["negativeDividend_pythonSignOfDivisor", -7, "3|2", true],
    ["negativeDividend_jsRemainderDoesNotMatch", -7, "3|-1", false],
    ["negativeDivisor_resultTakesDivisorSign", 7, "-3|-2", true],
    ["floatDividend", 7.5, "2|1.5", true],
    ["intLikeStringTrait_coercedToInt", "-7", "3|2", true],
    ["zeroDivisor_noMatch", 7, "0|0", false],
    ["boolTrait_noMatch", true, "2|1", false],
    ["nonNumericString_noMatch", "abc", "2|0", false],
    ["missingRemainder_noMatch", 4, "2", false],
    ["tooManyParts_noMatch", 4, "2|0|1", false],
    ["nonNumericParts_noMatch", 4, "x|0", false],
    ["emptyValue_noMatch", 4, "", false],
  ])("modulo__%s", (_name, trait, value, expected) => {
    // Given a MODULO condition "divisor|remainder"
    const condition = cond("n", "MODULO", value);
    // When evaluated against the trait
    const matched = matches(condition, { n: trait });
    // Then Python's `%` semantics decide
    expect(matched).toBe(expected);
  });
});

describe("REGEX", () => {
  it.each<[string, TraitValue, string, boolean]>([
    ["matchAtStart", "abcx", "abc", true],
    ["notAnchoredAtEnd", "abc-suffix", "abc", true],
    ["noMatchInTheMiddle_pythonReMatch", "xabc", "abc", false],
    ["alternation_anchoredAsAWhole", "xa", "b|a", false],
    ["alternation_secondBranchAtStart", "ax", "b|a", true],
    ["explicitEndAnchor", "abc", "abc$", true],
    ["dollar_matchesBeforeFinalNewline", "abc\n", "abc$", true],
    ["backslashZ_endOfText", "abc\n", "abc\\Z", false],
    ["invalidPattern_noMatchNoThrow", "abc", "(", false],
    ["invalidQuantifier_noMatchNoThrow", "abc", "*a", false],
    ["intTrait_matchedAsString", 123, "12", true],
    ["boolTrait_matchedAsPythonStr", true, "True", true],
    ["floatTrait_matchedAsPythonRepr", 1.5, "1\\.5$", true],
    ["pythonNamedGroup", "1.2", "(?P<major>\\d+)\\.(?P<minor>\\d+)", true],
    ["pythonInlineIgnoreCase", "ABC", "(?i)abc", true],
    ["leadingBracketInClass_isLiteral", "]", "[]a]", true],
    // Evaluated in linear time (RE2): nested repetition runs, and answers like Python without backtracking.
    ["nestedRepetition_noMatchWithoutBacktracking", `${"a".repeat(40)}!`, "(a+)+$", false],
    ["nestedRepetition_matches", "aaa", "(a+)+$", true],
    // Constructs RE2 cannot express (refused when saved or imported) never match, even where Python would.
    ["namedBackreference_neverMatches", "1.1", "(?P<major>\\d+)\\.(?P=major)", false],
    ["numberedBackreference_neverMatches", "aa", "(a)\\1", false],
    ["lookahead_neverMatches", "ab", "a(?=b)", false],
    ["lookbehind_neverMatches", "ab", "a(?<=a)b", false],
  ])("regex__%s", (_name, trait, pattern, expected) => {
    // Given a REGEX condition
    const condition = cond("t", "REGEX", pattern);
    // When evaluated
    const matched = matches(condition, { t: trait });
    // Then it behaves like Python's re.match(pattern, str(value))
    expect(matched).toBe(expected);
  });
});

describe("IN", () => {
  it.each<[string, TraitValue, string | string[], boolean]>([
    ["commaSeparated_match", "b", "a,b,c", true],
    ["commaSeparated_noTrimming", "b", "a, b", false],
    ["commaSeparated_spaceKept", " b", "a, b", true],
    ["commaSeparated_partialNoMatch", "prem", "premium,vip", false],
    ["jsonArray_match", "b", '["a","b"]', true],
    ["jsonArray_leadingWhitespace", "b", ' ["a", "b"]', true],
    ["jsonArray_numbersStringifiedLikePython", 1, "[1, 2]", true],
    ["jsonArray_floatElementKeepsDecimal", 2, "[1, 2.0]", false],
    ["jsonArray_bigIntElementExact", "30000000000000000001", "[30000000000000000001]", true],
    ["jsonArray_boolElementIsPythonTrue", "True", "[true]", true],
    ["invalidJson_fallsBackToComma", "[a", "[a,b]", true],
    ["jsonNonArray_fallsBackToComma", '"x"', '"x"', true],
    ["listValue_match", "y", ["x", "y"], true],
    ["intTrait_comparedByStringForm", 2, "1,2,3", true],
    ["intLikeStringTrait_canonicalForm", "007", "7", true],
    ["intLikeStringTrait_originalFormNoMatch", "007", "007", false],
    ["floatTrait_neverMatches", 1.5, "1.5", false],
    ["floatLikeStringTrait_neverMatches", "1.5", "1.5", false],
    ["boolTrait_neverMatches", true, "True,true,1", false],
    ["nullTrait_neverMatches", null, "None,null,", false],
  ])("in__%s", (_name, trait, value, expected) => {
    // Given an IN condition
    const condition = { property: "t", operator: "IN", value } as AnySegmentCondition;
    // When evaluated
    const matched = matches(condition, { t: trait });
    // Then membership follows the engine's list parsing and str() rules
    expect(matched).toBe(expected);
  });
});

describe("semver", () => {
  it.each<[string, string, AnySegmentCondition["operator"], string, boolean]>([
    ["releaseAbovePrerelease", "1.2.3", "GREATER_THAN", "1.2.3-beta:semver", true],
    ["buildMetadataIgnored", "1.2.3+build.5", "EQUAL", "1.2.3:semver", true],
    ["numericPrereleaseIdentifiersNumeric", "1.0.0-alpha.10", "GREATER_THAN", "1.0.0-alpha.9:semver", true],
    ["alphanumericAboveNumericIdentifier", "1.0.0-alpha.beta", "GREATER_THAN", "1.0.0-alpha.1:semver", true],
    ["longerPrereleaseAbovePrefix", "1.0.0-alpha.1", "GREATER_THAN", "1.0.0-alpha:semver", true],
    ["hugeComponentsExact", "100000000000000000000.0.0", "GREATER_THAN", "99999999999999999999.0.0:semver", true],
    ["vPrefixRejected", "v1.2.3", "EQUAL", "1.2.3:semver", false],
    ["leadingZeroRejected", "01.2.3", "EQUAL", "1.2.3:semver", false],
    ["invalidConditionVersion", "1.0.0", "EQUAL", "1.0:semver", false],
    ["notEqualDifferent", "1.0.1", "NOT_EQUAL", "1.0.0:semver", true],
    ["lessThanInclusiveSame", "1.0.0", "LESS_THAN_INCLUSIVE", "1.0.0:semver", true],
    ["containsNeverMatches", "1.0.0", "CONTAINS", "1.0.0:semver", false],
  ])("semver__%s", (_name, trait, operator, value, expected) => {
    // Given a string trait and a `:semver` condition value
    const condition = cond("version", operator, value);
    // When evaluated
    const matched = matches(condition, { version: trait });
    // Then strict SemVer 2.0.0 precedence applies
    expect(matched).toBe(expected);
  });

  it("semver__intLikeTrait__castFailsNoMatch", () => {
    // Given a trait that coerces to int
    const traits = { version: "1" };
    // When compared with a semver value
    const matched = matches(cond("version", "EQUAL", "1.0.0:semver"), traits);
    // Then the int cast of "1.0.0:semver" fails and nothing matches
    expect(matched).toBe(false);
  });
});

describe("PERCENTAGE_SPLIT", () => {
  it("percentageSplit__emptyProperty__usesEnrichedIdentityKeyInclusively", () => {
    // Given the hash of [segment key, "<env key>_<identifier>"]
    const percentage = getHashedPercentageForObjectIds([SEGMENT_KEY, "env_key_user-1"]);
    // When the threshold is exactly that value, and just below it
    const atThreshold = matches(cond("", "PERCENTAGE_SPLIT", String(percentage)));
    const belowThreshold = matches(cond("", "PERCENTAGE_SPLIT", String(percentage - 1e-9)));
    // Then the comparison is inclusive
    expect(atThreshold).toBe(true);
    expect(belowThreshold).toBe(false);
  });

  it("percentageSplit__explicitIdentityKey__hashesThatKey", () => {
    // Given an identity with an explicit key
    const percentage = getHashedPercentageForObjectIds([SEGMENT_KEY, "custom-key"]);
    // When splitting on the identity key
    const matched = matches(cond("", "PERCENTAGE_SPLIT", String(percentage)), {}, { key: "custom-key" });
    // Then the explicit key is hashed
    expect(matched).toBe(true);
  });

  it("percentageSplit__traitProperty__hashesPythonStrOfCoercedValue", () => {
    // Given a trait "007", which the engine coerces to int 7 (str → "7")
    const percentage = getHashedPercentageForObjectIds([SEGMENT_KEY, "7"]);
    // When splitting on that trait with the threshold set to the hash of "7"
    const matched = matches(cond("company", "PERCENTAGE_SPLIT", String(percentage)), { company: "007" });
    // Then it matches
    expect(matched).toBe(true);
  });

  it("percentageSplit__missingTraitOrBadThresholdOrNoIdentity__neverMatches", () => {
    // Given splits that cannot be computed
    const missingTrait = matches(cond("company", "PERCENTAGE_SPLIT", "100"), {});
    const badThreshold = matches(cond("", "PERCENTAGE_SPLIT", "lots"));
    const noIdentity = matches(cond("", "PERCENTAGE_SPLIT", "100"), {}, { withoutIdentity: true });
    // When evaluated
    // Then none matches
    expect([missingTrait, badThreshold, noIdentity]).toEqual([false, false, false]);
  });
});

describe("JSONPath context values", () => {
  it.each<[string, string, string, boolean]>([
    ["identifier", "$.identity.identifier", "user-1", true],
    ["enrichedIdentityKey", "$.identity.key", "env_key_user-1", true],
    ["environmentName", "$.environment.name", "Production", true],
    ["bracketSingleQuotes", "$.identity['identifier']", "user-1", true],
    ["noDotAfterRoot_isATraitNameNotAPath", "$['identity']['identifier']", "user-1", false],
    ["bracketDoubleQuotesWithEscape", '$.identity.traits["a\\"b"]', "quoted", true],
    ["unicodeShorthand", "$.identity.traits.サイズ", "medium", true],
    ["wildcardFirstTrait", "$.identity.traits.*", "quoted", true],
    ["descendant", "$..identifier", "user-1", true],
    ["arrayIndex", `$.segments['${SEGMENT_KEY}'].rules[0].type`, "ALL", true],
    ["negativeArrayIndex", `$.segments['${SEGMENT_KEY}'].rules[-1].type`, "ALL", true],
    ["arraySlice", `$.segments['${SEGMENT_KEY}'].rules[0:1].type`, "ALL", true],
    ["nonexistentPath", "$.identity.nothing", "x", false],
  ])("jsonPath__%s__resolves", (_name, property, value, expected) => {
    // Given a condition whose property is a JSONPath
    const condition = cond(property, "EQUAL", value);
    // When evaluated for an identity with traits
    const matched = matches(condition, { 'a"b': "quoted", サイズ: "medium" });
    // Then the path resolves against the enriched context
    expect(matched).toBe(expected);
  });

  it("jsonPath__traitWithExactlyThatName__winsOverThePath", () => {
    // Given a trait literally named "$.identity.identifier"
    const traits = { "$.identity.identifier": "from-trait" };
    // When a condition uses that property
    const byTrait = matches(cond("$.identity.identifier", "EQUAL", "from-trait"), traits);
    const byPath = matches(cond("$.identity.identifier", "EQUAL", "user-1"), traits);
    // Then the trait wins
    expect(byTrait).toBe(true);
    expect(byPath).toBe(false);
  });

  it("jsonPath__traitWithThatNameIsNull__fallsThroughToThePath", () => {
    // Given a null trait literally named like the path
    const traits = { "$.identity.identifier": null };
    // When a condition uses that property
    const matched = matches(cond("$.identity.identifier", "EQUAL", "user-1"), traits);
    // Then the JSONPath value is used
    expect(matched).toBe(true);
  });

  it("jsonPath__invalidPath__treatedAsTraitName", () => {
    // Given a property that starts with "$." but is not valid JSONPath
    const property = "$.not valid";
    // When a trait with exactly that name exists, or not
    const withTrait = matches(cond(property, "EQUAL", "yes"), { [property]: "yes" });
    const withoutTrait = matches(cond(property, "IS_SET", ""), {});
    // Then the trait decides
    expect(withTrait).toBe(true);
    expect(withoutTrait).toBe(false);
  });

  it("jsonPath__pathToObject__isNotSet", () => {
    // Given a path that selects an object
    const property = "$.identity";
    // When checked with IS_NOT_SET and EQUAL
    const notSet = matches(cond(property, "IS_NOT_SET", ""));
    const equal = matches(cond(property, "EQUAL", "user-1"));
    // Then only primitive results count
    expect(notSet).toBe(true);
    expect(equal).toBe(false);
  });

  it("jsonPath__filterSelector__selectsNothing", () => {
    // Given a (valid) filter query, which this implementation does not evaluate
    const property = "$.identity.traits[?@ == 'x']";
    // When checked with IS_SET
    const matched = matches(cond(property, "IS_SET", ""), { a: "x" });
    // Then it selects nothing
    expect(matched).toBe(false);
  });

  it("jsonPath__identifierThatLooksLikeAnInt__isCoercedLikeTraits", () => {
    // Given a numeric-looking identifier
    const options = { identifier: "0042" };
    // When compared numerically through JSONPath
    const matched = matches(cond("$.identity.identifier", "EQUAL", "42"), {}, options);
    // Then the value is coerced to int 42 like any context value
    expect(matched).toBe(true);
  });
});

describe("rules", () => {
  const isVip: AnySegmentCondition = cond("tier", "EQUAL", "vip");
  const isBot: AnySegmentCondition = cond("bot", "EQUAL", "yes");

  it.each<[string, SegmentRule[], Record<string, TraitValue>, boolean]>([
    ["noRules_neverMatches", [], { tier: "vip" }, false],
    ["emptyRule_matches", [{ type: "ALL" }], {}, true],
    ["anyRule_oneConditionTrue", [{ type: "ANY", conditions: [isVip, isBot] }], { tier: "vip" }, true],
    ["noneRule_noConditionTrue", [{ type: "NONE", conditions: [isVip, isBot] }], { tier: "free" }, true],
    ["noneRule_oneConditionTrue", [{ type: "NONE", conditions: [isVip, isBot] }], { tier: "vip" }, false],
    [
      "anyRule_subRulesCombinedWithAny",
      [{ type: "ANY", rules: [{ type: "ALL", conditions: [isVip] }, { type: "ALL", conditions: [isBot] }] }],
      { bot: "yes" },
      true,
    ],
    [
      "noneRule_subRulesCombinedWithNone",
      [{ type: "NONE", rules: [{ type: "ALL", conditions: [isVip, isBot] }] }],
      { tier: "vip", bot: "yes" },
      false,
    ],
    [
      "conditionsAndSubRules_bothRequired",
      [{ type: "ALL", conditions: [isVip], rules: [{ type: "ANY", conditions: [isBot] }] }],
      { tier: "vip" },
      false,
    ],
    ["unknownRuleType_neverMatches", [{ type: "SOME" as "ALL", conditions: [isVip] }], { tier: "vip" }, false],
  ])("segmentRules__%s", (_name, rules, traits, expected) => {
    // Given a segment with the rules
    const context = contextWith(rules, traits);
    // When evaluated
    const result = getEvaluationResult(context);
    // Then membership follows the ALL/ANY/NONE quantifiers
    expect(result.segments.length === 1).toBe(expected);
  });
});
