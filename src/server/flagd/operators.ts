/**
 * One Flagsmith segment condition → JsonLogic, mirroring Flagpost's engine (src/server/engine/conditions.ts
 * `conditionMatches`) kind by kind (see kinds.ts): the condition value is cast at export time to every kind the
 * context value could have at run time, and the result is a kind switch of guarded comparisons.
 *
 * A condition flagd cannot express exactly yields a lower bound (`lower` ⇒ Flagsmith's result) and an upper bound
 * (Flagsmith's result ⇒ `upper`); segments use the lower bound so a branch is never broadened (fail closed).
 *
 * Operator compatibility (X = the property's value in the flagd context; "kind" = Flagsmith's coercion: numeric
 * strings are numbers, see kinds.ts):
 *
 * | Flagsmith                         | flagd JsonLogic                                                        | fidelity |
 * |-----------------------------------|------------------------------------------------------------------------|----------|
 * | EQUAL, NOT_EQUAL                  | value cast per kind: `{"in": [X, ["pro", true, 18]]}` (string, bool cast, number), numeric strings via `==` | exact |
 * | GREATER_THAN(_INCLUSIVE), LESS_THAN(_INCLUSIVE) | kind switch: `>`… on numbers/numeric strings, string order on other strings, bool list | exact¹ |
 * | any of the above with `:semver`   | `sem_ver` on STR-kind strings without a v/V prefix or surrounding whitespace | exact (plain trait/targetingKey only, else lossy) |
 * | CONTAINS, NOT_CONTAINS            | `{"in": ["sub", X]}` on STR-kind strings                               | exact |
 * | IN (comma list, JSON array text)  | `{"in": [X, [members]]}` untrimmed; canonical integer members also match numeric strings (`+X`) | exact |
 * | IS_SET, IS_NOT_SET                | `{"!==": [X, null]}`, `{"===": [X, null]}`                             | exact |
 * | MODULO "d\|r"                     | `%` with Python's sign-of-divisor correction, numbers and numeric strings only | exact (∞ operands: lossy) |
 * | PERCENTAGE_SPLIT t                | `{"===": [{"fractional": [{"cat": ["<segment id>", ",", X or targetingKey]}, ["in", w], ["out", W-w]]}, "in"]}`, integer weights | approximate (t ≥ 99.99, t < 0, invalid: constant, exact) |
 * | REGEX `^lit`, `lit`, `lit$`, `lit\Z`, `.*lit$`, `(a\|b)…` | `starts_with`, equality (+ "\n" for `$`), `ends_with`, lists; booleans decided at export | exact² |
 * | REGEX `.*lit` (no end anchor)     | substring on single-line strings                                       | lossy (multi-line strings fail closed) |
 * | other REGEX (classes, quantifiers, flags) | —                                                              | lossy (branch narrowed/omitted) |
 * | unknown operator, unparsable value | `false` (Flagsmith never matches either)                              | exact (warning) |
 *
 * ¹ approximate when a string value contains characters ≥ U+D800 (UTF-16 vs code-point order) or a number ≥ 2^53.
 * ² a float context value below 1e-4 or from 1e16 in magnitude renders differently in Python: lossy (fail closed)
 *   when a literal could match a float rendering.
 *
 * Properties: trait names → `{"var": "<name>"}` (`.`, `/`, `\` escaped); `$.identity.identifier` → targetingKey;
 * `$.identity.key` → `"<api key>_" + targetingKey`; `$.identity.traits.<t>` → trait t; `$.environment.name|key` →
 * constants (conditions on them are decided at export time); other roots → no value; `$.segments…`, `$.features…`,
 * wildcard/descendant paths and the reserved trait names `targetingKey`, `$flagd`, `__proto__` → lossy. As in
 * Flagsmith, a trait named exactly like a `$.` path takes precedence over the path.
 */
import { parsePyFloat, parsePyInt, pyCanonicalIntString } from "@/server/engine/python";
import { compilePythonRegex, regexRefusal } from "@/server/engine/regex";
import { isSemverConditionValue, parseSemver, SEMVER_SUFFIX } from "@/server/engine/semver";
import { conditionMatches, parseInList, type ConditionScope } from "@/server/engine/conditions";
import type { AnySegmentCondition } from "@/server/engine/types";
import { byKind, contains, firstChar, isNumericKind, isStrKind, JS_WHITESPACE, lastChar } from "./kinds";
import { and, inList, isNotNull, isNull, not, or, strictEq, strictNe, TARGETING_KEY, type Logic } from "./logic";
import { resolveProperty, type PropertyEnvironment } from "./properties";
import type { JsonLogicArg, JsonLogicPrimitive, JsonLogicRule, TranslationWarning } from "./types";
import { scaleThreshold } from "./weights";

/** A translated condition (or rule, or segment). */
export interface Translated {
  /** Matches only contexts Flagsmith matches (used for branches: fail closed). */
  lower: Logic;
  /** Matches every context Flagsmith matches. */
  upper: Logic;
  /** lower ≡ upper ≡ Flagsmith's result. */
  exact: boolean;
  /** Uses flagd's `fractional` (MurmurHash3) where Flagsmith hashes with MD5, or another documented approximation. */
  approximate: boolean;
  /** Why the translation is approximate or inexact (one line each). */
  notes: string[];
  warnings: TranslationWarning[];
}

export function exactly(logic: Logic, extra: Partial<Pick<Translated, "approximate" | "notes" | "warnings">> = {}): Translated {
  return { lower: logic, upper: logic, exact: true, approximate: extra.approximate ?? false, notes: extra.notes ?? [], warnings: extra.warnings ?? [] };
}

function bounded(lower: Logic, upper: Logic, note: string, warning: TranslationWarning, approximate = false): Translated {
  return { lower, upper, exact: false, approximate, notes: [note], warnings: [warning] };
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO_POW_53 = 2 ** 53;

type ComparisonOperator = "EQUAL" | "NOT_EQUAL" | "GREATER_THAN" | "GREATER_THAN_INCLUSIVE" | "LESS_THAN" | "LESS_THAN_INCLUSIVE";

const JSON_LOGIC_OPERATOR: Record<ComparisonOperator, string> = {
  EQUAL: "==",
  NOT_EQUAL: "!=",
  GREATER_THAN: ">",
  GREATER_THAN_INCLUSIVE: ">=",
  LESS_THAN: "<",
  LESS_THAN_INCLUSIVE: "<=",
};

const SEMVER_OPERATOR: Record<ComparisonOperator, string> = {
  EQUAL: "=",
  NOT_EQUAL: "!=",
  GREATER_THAN: ">",
  GREATER_THAN_INCLUSIVE: ">=",
  LESS_THAN: "<",
  LESS_THAN_INCLUSIVE: "<=",
};

function compareConst(operator: ComparisonOperator, a: number, b: number): boolean {
  switch (operator) {
    case "EQUAL":
      return a === b;
    case "NOT_EQUAL":
      return a !== b;
    case "GREATER_THAN":
      return a > b;
    case "GREATER_THAN_INCLUSIVE":
      return a >= b;
    case "LESS_THAN":
      return a < b;
    case "LESS_THAN_INCLUSIVE":
      return a <= b;
  }
}

/**
 * `x <op> c` for a context value already known to be numeric (a number or a numeric string: loose comparators
 * coerce it without throwing). Non-finite constants cannot appear in JSON, so they are folded (x is finite).
 */
function numericCompare(operator: ComparisonOperator, x: JsonLogicArg, c: number): Logic {
  if (Number.isNaN(c)) return operator === "NOT_EQUAL";
  if (!Number.isFinite(c)) return compareConst(operator, 0, c);
  return { [JSON_LOGIC_OPERATOR[operator]]: [x, c] };
}

/** Python's classification of a condition-value string (the same regexes the engine uses for context strings). */
function isNumericText(text: string): boolean {
  return /^-?[0-9]+(\.[0-9]+)?$/.test(text);
}

/** Whether every string over the characters of numeric strings ([0-9.-], non-empty) compares the same way to `s`. */
function numericStringsAllCompare(operator: ComparisonOperator, s: string): boolean | null {
  // Numeric strings start with "-" (0x2D) or a digit (0x30–0x39) and are never empty.
  const first = s.charCodeAt(0);
  if (s.length === 0 || first < 0x2d) return compareConst(operator, 1, 0); // every numeric string sorts after s
  if (first > 0x39) return compareConst(operator, 0, 1); // every numeric string sorts before s
  return null;
}

/** EQUAL … LESS_THAN_INCLUSIVE and CONTAINS: the value is cast to the kind of the context value. */
function typedCondition(operator: ComparisonOperator | "CONTAINS", value: string, x: JsonLogicArg, plainVar: boolean): Translated {
  const notes: string[] = [];
  let approximate = false;

  if (operator === "CONTAINS") {
    // Only STR-kind contexts can match (a number or bool never contains anything; semver values never match).
    if (isSemverConditionValue(value)) return exactly(false);
    if (value === "") return exactly(byKind(x, { str: true }));
    const impossibleInNumbers = /[^0-9.-]/.test(value);
    return exactly(byKind(x, { str: contains(x, value), strForAllStrings: impossibleInNumbers }));
  }

  // BOOL kind: bool(value) is `value not in ("False", "false")`; booleans order like 0/1.
  const expectedBool = value !== "False" && value !== "false" ? 1 : 0;
  const bools = [true, false].filter((b) => compareConst(operator, b ? 1 : 0, expectedBool));

  // INT and FLOAT kinds. int(value) succeeding implies float(value) succeeds with the same number.
  const asInt = parsePyInt(value);
  const asFloat = parsePyFloat(value);
  let numberCase: Logic = false;
  let numberTyped = false;
  let numericStringCase: Logic = false;
  if (asFloat !== undefined) {
    const c = asFloat;
    if (Number.isFinite(c) && Math.abs(c) >= TWO_POW_53) {
      approximate = true;
      notes.push(`integer ${value} beyond 2^53: compared as a double in flagd, exactly in Flagsmith`);
    }
    // JS numbers: integral ones compare with int(value), or float(value) when int() fails; others with float(value).
    if (operator === "EQUAL" && Number.isFinite(c)) {
      numberCase = strictEq(x, c);
      numberTyped = true;
    } else numberCase = numericCompare(operator, x, c);
    // Numeric strings: "-?[0-9]+" compare with int(value) (a failed cast never matches), "-?[0-9]+.[0-9]+" with float(value).
    numericStringCase = and(asInt === undefined ? contains(x, ".") : true, numericCompare(operator, x, c));
  }

  // STR kind.
  let strCase: Logic = false;
  let strForAllStrings = false;
  let strTyped = false;
  if (isSemverConditionValue(value)) {
    const versionText = value.slice(0, -SEMVER_SUFFIX.length);
    if (parseSemver(versionText) !== null) {
      if (!plainVar) {
        const detail = `a :semver comparison needs a plain context attribute (flagd's sem_ver only accepts {"var": …})`;
        const known = byKind(x, { numericString: numericStringCase, bool: inList(x, bools), number: numberCase, numberTyped });
        return bounded(known, or(known, isStrKind(x)), detail, { reason: "unsupported_property", detail });
      }
      // flagd's sem_ver is lenient where Flagsmith is strict: it strips a `v` prefix, trims whitespace and completes
      // partial versions ("1", "1.2": JS-numeric strings, unlike any strict version). Exclude those inputs.
      strCase = and(
        not(inList(firstChar(x), [...JS_WHITESPACE, "v", "V"])),
        not(inList(lastChar(x), JS_WHITESPACE)),
        { sem_ver: [x, SEMVER_OPERATOR[operator], versionText] },
      );
    }
  } else if (operator === "EQUAL") {
    strCase = isNumericText(value) ? false : strictEq(x, value); // a numeric context string is never STR kind
    strForAllStrings = true;
    strTyped = true;
  } else if (operator === "NOT_EQUAL") {
    strCase = strictNe(x, value);
  } else {
    strCase = { [JSON_LOGIC_OPERATOR[operator]]: [x, value] };
    const uniform = numericStringsAllCompare(operator, value);
    if (uniform === false) strForAllStrings = true; // numeric strings never satisfy it: no kind test needed
    if (/[\ud800-\uffff]/.test(value)) {
      approximate = true;
      notes.push("string ordering: JavaScript compares UTF-16 units, Flagsmith code points (differs for astral vs U+E000–U+FFFF characters)");
    }
  }

  if (operator === "EQUAL" && (numberTyped || numberCase === false) && (strCase === false || strForAllStrings)) {
    // All typed equalities in one list: {"in": [x, ["pro", true, 18]]}, plus numeric strings equal to the number.
    const constants: JsonLogicPrimitive[] = [...(strCase === false ? [] : [value]), ...bools, ...(numberCase === false ? [] : [asFloat as number])];
    return exactly(or(inList(x, constants), byKind(x, { numericString: numericStringCase })), { approximate, notes });
  }
  return exactly(
    byKind(x, { str: strCase, strForAllStrings, strTyped, numericString: numericStringCase, bool: inList(x, bools), number: numberCase, numberTyped }),
    { approximate, notes },
  );
}

/**
 * IN: a STR-kind context value must be in the list; an INT-kind one matches when Python's `str(int)` of it is.
 * Floats, booleans and None never match.
 */
export function inCondition(members: readonly string[], x: JsonLogicArg): Translated {
  const strings: string[] = [];
  const integers: number[] = [];
  let approximate = false;
  for (const member of members) {
    if (!isNumericText(member)) strings.push(member);
    else if (!member.includes(".") && pyCanonicalIntString(member) === member) {
      const n = Number(member);
      if (Math.abs(n) <= MAX_SAFE) integers.push(n);
      else if (BigInt(n).toString() === member) {
        integers.push(n);
        approximate = true;
      }
    }
    // Non-canonical integers ("007") and float texts can never equal Python's str() of an int.
  }
  // Typed: a string in the list is STR kind (numeric members are not in `strings`), a JS number equal to a listed
  // integer is integral (INT kind); numeric strings compare by their integer value.
  const logic = or(
    inList(x, [...strings, ...integers]),
    integers.length > 0 ? byKind(x, { numericString: and(not(contains(x, ".")), inList({ "+": [x] }, integers)) }) : false,
  );
  return exactly(logic, approximate ? { approximate, notes: ["IN lists integers beyond 2^53, compared as doubles in flagd"] } : {});
}

// ------------------------------------------------------------------------------------------------
// REGEX

interface LiteralRegex {
  /** Leading `.*`: the literal may start anywhere in the first line. */
  floating: boolean;
  /** `$` (end, or before a final newline), `\Z` (end), or none. */
  end: "dollar" | "Z" | null;
  /** Alternatives (one for a plain literal). */
  literals: string[];
}

const REGEX_META = new Set([".", "^", "$", "*", "+", "?", "{", "}", "[", "]", "|", "(", ")", "\\"]);

function parseLiteral(text: string): string | null {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "\\") {
      const next = text[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return null; // classes (\d, \w, …) and unknown escapes
      out += next;
      i++;
    } else if (REGEX_META.has(char)) return null;
    else out += char;
  }
  return out;
}

/**
 * Recognises `^?(.*)?LIT(.*)?($|\Z)?` and `^?(.*)?(LIT|LIT|…)($|\Z)?` (also `(?:…)`), where LIT has no regex
 * syntax except escaped punctuation. Anything else (classes, quantifiers, flags, …) returns null.
 */
export function parseLiteralRegex(pattern: string): LiteralRegex | null {
  let body = pattern;
  if (body.startsWith("^")) body = body.slice(1);
  else if (body.startsWith("\\A")) body = body.slice(2);
  let floating = false;
  if (body.startsWith(".*")) {
    floating = true;
    body = body.slice(2);
  }
  let end: LiteralRegex["end"] = null;
  if (body.endsWith("\\Z") && !body.endsWith("\\\\Z")) {
    end = "Z";
    body = body.slice(0, -2);
  } else if (body.endsWith("$") && !body.endsWith("\\$")) {
    end = "dollar";
    body = body.slice(0, -1);
  }
  if (end === null && body.endsWith(".*") && !body.endsWith("\\.*")) body = body.slice(0, -2);
  let alternatives: string[];
  const group = /^\((?:\?:)?(.*)\)$/s.exec(body);
  if (group !== null && !group[1].includes("(") && !group[1].includes(")")) alternatives = group[1].split("|");
  else alternatives = [body];
  const literals: string[] = [];
  for (const alternative of alternatives) {
    const literal = parseLiteral(alternative);
    if (literal === null) return null;
    literals.push(literal);
  }
  if (floating && literals.some((literal) => literal.includes("\n"))) return null;
  return { floating, end, literals };
}

/**
 * A literal regex matched against the string expression `s` (`re.match`: anchored at the start): exact bounds, or
 * a lower/upper pair for `.*LIT` on strings that may span several lines (`.` stops at a newline).
 */
function literalRegexOn(regex: LiteralRegex, s: JsonLogicArg, singleLine: boolean): { lower: Logic; upper: Logic } {
  const { floating, end, literals } = regex;
  if (!floating) {
    if (end === null) {
      const logic = or(...literals.map((literal): Logic => (literal === "" ? true : { starts_with: [s, literal] })));
      return { lower: logic, upper: logic };
    }
    const exact = end === "Z" ? literals : [...literals, ...literals.map((literal) => literal + "\n")];
    const logic = inList(s, exact);
    return { lower: logic, upper: logic };
  }
  const noNewline: Logic = singleLine ? true : not(contains(s, "\n"));
  if (end !== null) {
    const logic = or(
      ...literals.map((literal): Logic => {
        const atEnd = and({ ends_with: [s, literal] }, noNewline);
        if (end === "Z") return atEnd;
        const beforeFinalNewline = singleLine
          ? false
          : and({ ends_with: [s, literal + "\n"] }, not(contains({ substr: [s, 0, -1] }, "\n")));
        return or(atEnd, beforeFinalNewline);
      }),
    );
    return { lower: logic, upper: logic };
  }
  // `.*LIT`: LIT must occur in the first line. Exact for single-line strings; multi-line ones are bounded.
  const anywhere = or(...literals.map((literal): Logic => (literal === "" ? true : contains(s, literal))));
  if (singleLine) return { lower: anywhere, upper: anywhere };
  const atStart = or(...literals.map((literal): Logic => (literal === "" ? true : { starts_with: [s, literal] })));
  return { lower: or(and(noNewline, anywhere), atStart), upper: anywhere };
}

/** Characters of Python's `str()` of an int / of a float in fixed notation. */
const INT_TEXT = /^[0-9-]*$/;
const FLOAT_TEXT = /^[0-9.-]*$/;

function regexCondition(pattern: string, x: JsonLogicArg): Translated {
  const refusal = regexRefusal(pattern);
  if (refusal?.kind === "unsupported") {
    return exactly(false, { warnings: [{ reason: "malformed_value", detail: `regular expression ${JSON.stringify(pattern)} refused (${refusal.message}): never evaluated, never matches (as in Flagpost's engine)` }] });
  }
  const compiled = compilePythonRegex(pattern);
  if (compiled === null) {
    return exactly(false, { warnings: [{ reason: "malformed_value", detail: `invalid regular expression ${JSON.stringify(pattern)}: never matches (as in Flagsmith)` }] });
  }
  // The engine tests the regex against Python's str() of the coerced value.
  // BOOL kind: "True"/"False", decided now with the engine's own regex.
  const boolCase = inList(x, [true, false].filter((b) => compiled.test(b ? "True" : "False")));
  const literal = parseLiteralRegex(pattern);
  if (literal === null) {
    const detail = `REGEX ${JSON.stringify(pattern)} is not a plain literal prefix/suffix/alternation: flagd has no regex operator`;
    return bounded(boolCase, or(boolCase, isNotNull(x)), detail, { reason: "regex_unsupported", detail });
  }

  // STR kind: the string itself (multi-line strings are bounded for `.*LIT`).
  const onString = literalRegexOn(literal, x, false);
  // Literals with characters numbers never render to cannot match numeric strings: no kind test needed.
  const strForAllStrings = literal.literals.every((l) => !FLOAT_TEXT.test(l));

  // INT kind: str(int) is the canonical decimal = JS `"" + (+x)` (|x| < 2^53; see limitations).
  // FLOAT kind: Python's repr equals the JS rendering (plus ".0" when integral, "-0.0" for negative zero) for
  // 1e-4 ≤ |x| < 1e16; outside that range Python switches to exponent notation differently: bounded (fail closed).
  const intLiterals = literal.literals.filter((l) => INT_TEXT.test(l));
  const floatLiterals = literal.literals.filter((l) => FLOAT_TEXT.test(l));
  const onInt = (text: JsonLogicArg): Logic => (intLiterals.length === 0 ? false : literalRegexOn({ ...literal, literals: intLiterals }, text, true).lower);
  const onFloat = (text: JsonLogicArg): Logic => (floatLiterals.length === 0 ? false : literalRegexOn({ ...literal, literals: floatLiterals }, text, true).lower);
  const ifElse = (condition: Logic, a: Logic, b: Logic): Logic => (a === b ? a : a === false ? and(not(condition), b) : b === false ? and(condition, a) : { if: [condition, a, b] });
  const inFixedRange = (n: JsonLogicArg): Logic =>
    or(strictEq(n, 0), and({ ">=": [n, 1e-4] }, { "<": [n, 1e16] }), and({ "<=": [n, -1e-4] }, { ">": [n, -1e16] }));
  const floatBounds = (n: JsonLogicArg, rendering: JsonLogicArg) => {
    const inRange = onFloat(rendering) === false ? false : and(inFixedRange(n), onFloat(rendering));
    return { lower: inRange, upper: floatLiterals.length === 0 ? false : or(inRange, not(inFixedRange(n))) };
  };
  // Numeric strings: INT kind without ".", FLOAT kind with it.
  const numberValue: JsonLogicRule = { "+": [x] };
  const stringRendering: JsonLogicRule = {
    if: [
      strictEq(numberValue, 0),
      { if: [{ starts_with: [x, "-"] }, "-0.0", "0.0"] },
      { if: [strictEq({ "%": [numberValue, 1] }, 0), { cat: [numberValue, ".0"] }, { cat: [numberValue] }] },
    ],
  };
  const stringFloat = floatBounds(numberValue, stringRendering);
  // JS numbers: integral ones are INT kind; the others are never integral nor zero.
  const numberFloat = floatBounds(x, { cat: [x] });
  const integralNumber = strictEq({ "%": [x, 1] }, 0);
  const cases = (bound: "lower" | "upper") => ({
    numericString: ifElse(contains(x, "."), stringFloat[bound], onInt({ cat: [numberValue] })),
    number: ifElse(integralNumber, onInt({ cat: [x] }), numberFloat[bound]),
  });
  const exactNumbers = floatLiterals.length === 0;

  const build = (str: Logic, bound: "lower" | "upper") =>
    byKind(x, { str, strForAllStrings, ...cases(bound), bool: boolCase });
  const lower = build(onString.lower, "lower");
  const stringExact = JSON.stringify(onString.lower) === JSON.stringify(onString.upper);
  if (stringExact && exactNumbers) return exactly(lower);
  const detail = !stringExact
    ? `REGEX ${JSON.stringify(pattern)}: a ".*" prefix cannot be checked on multi-line strings (matches only on their first line)`
    : `REGEX ${JSON.stringify(pattern)}: floats below 1e-4 or from 1e16 render differently in Python (exponent notation)`;
  return bounded(lower, build(onString.upper, "upper"), detail, { reason: "regex_unsupported", detail });
}

// ------------------------------------------------------------------------------------------------
// MODULO

function moduloCondition(value: string, x: JsonLogicArg): Translated {
  const parts = value.split("|");
  const divisor = parts.length === 2 ? parsePyFloat(parts[0]) : undefined;
  const remainder = parts.length === 2 ? parsePyFloat(parts[1]) : undefined;
  if (!value || divisor === undefined || remainder === undefined || divisor === 0 || Number.isNaN(divisor) || Number.isNaN(remainder)) {
    return exactly(false, { warnings: [{ reason: "malformed_value", detail: `MODULO value ${JSON.stringify(value)} is not "<divisor>|<remainder>" with a non-zero divisor: never matches (as in Flagsmith)` }] });
  }
  if (!Number.isFinite(divisor) || !Number.isFinite(remainder)) {
    const detail = `MODULO value ${JSON.stringify(value)} uses infinity, which flagd documents cannot encode`;
    return bounded(false, isNumericKind(x), detail, { reason: "malformed_value", detail });
  }
  // Python's % takes the divisor's sign: m = x % d (JS, the dividend's sign); py = m, or m + d when the signs differ.
  const m: JsonLogicRule = { "%": [x, divisor] };
  let match: Logic;
  if (remainder === 0) match = strictEq(m, 0);
  else if (remainder > 0 !== divisor > 0) match = false;
  else match = or(strictEq(m, remainder), and({ [divisor > 0 ? "<" : ">"]: [m, 0] }, strictEq({ "+": [m, divisor] }, remainder)));
  return exactly(match === false ? false : byKind(x, { numericString: match, number: match }));
}

// ------------------------------------------------------------------------------------------------
// PERCENTAGE_SPLIT

/** Largest value Flagsmith's hash can take: (9997 / 9998) × 100. */
const MAX_HASH = (9997 / 9998) * 100;

function percentageSplit(value: string, segmentKey: string, key: JsonLogicArg, present: Logic): Translated {
  const threshold = parsePyFloat(value);
  if (threshold === undefined || Number.isNaN(threshold)) {
    return exactly(false, { warnings: [{ reason: "malformed_value", detail: `PERCENTAGE_SPLIT threshold ${JSON.stringify(value)} is not a number: never matches (as in Flagsmith)` }] });
  }
  if (threshold >= MAX_HASH) return exactly(present);
  if (threshold < 0) return exactly(false);
  const note = `PERCENTAGE_SPLIT ${value}% of segment ${segmentKey}: flagd buckets with MurmurHash3, Flagsmith with MD5`;
  const { inWeight, outWeight } = scaleThreshold(threshold);
  if (inWeight === 0) return exactly(false, { approximate: true, notes: [note] });
  const split: JsonLogicRule = {
    fractional: [{ cat: [segmentKey, ",", key] }, ["in", inWeight], ["out", outWeight]],
  };
  return exactly(and(present, strictEq(split, "in")), { approximate: true, notes: [note] });
}

// ------------------------------------------------------------------------------------------------
// Entry point

export type ConditionEnvironment = PropertyEnvironment;

/**
 * Translates a condition for a context that has an identity (a targeting key); identity-less contexts get the
 * environment flags, decided at export time (see translator.ts).
 */
export function translateCondition(condition: AnySegmentCondition, segmentKey: string, env: ConditionEnvironment): Translated {
  const source = resolveProperty(condition.property, env);
  if (source.kind === "unsupported") {
    const detail = `condition ${condition.operator} on ${JSON.stringify(condition.property)}: ${source.detail}`;
    return bounded(false, true, detail, { reason: "unsupported_property", detail });
  }
  if (source.kind !== "choice") return translateOn(condition, segmentKey, env, source);
  // `$.` property: the trait of that exact name when set, else the JSONPath value.
  const set = isNotNull(source.trait);
  const onTrait = translateOn(condition, segmentKey, env, { kind: "expr", expr: source.trait, plainVar: true });
  const onFallback = translateOn(condition, segmentKey, env, source.fallback);
  const parts = [onTrait, onFallback];
  const pick = (bound: "lower" | "upper") => or(and(set, onTrait[bound]), and(not(set), onFallback[bound]));
  return {
    lower: pick("lower"),
    upper: pick("upper"),
    exact: parts.every((p) => p.exact),
    approximate: parts.some((p) => p.approximate),
    notes: parts.flatMap((p) => p.notes),
    warnings: parts.flatMap((p) => p.warnings),
  };
}

/** A condition on a value known at export time, decided by the engine itself. */
function constantCondition(condition: AnySegmentCondition, segmentKey: string, env: ConditionEnvironment, value: string | number | boolean | null): Translated {
  const probe = { ...condition, property: "value" } as AnySegmentCondition;
  const scope: ConditionScope = {
    context: { environment: { key: env.apiKey, name: env.name } },
    traits: { value },
    identityKey: null,
  };
  return exactly(conditionMatches(probe, segmentKey, scope));
}

type DirectSource = Extract<ReturnType<typeof resolveProperty>, { kind: "none" | "const" | "expr" }>;

function translateOn(condition: AnySegmentCondition, segmentKey: string, env: ConditionEnvironment, source: DirectSource): Translated {
  const operator = condition.operator as string;
  if (source.kind === "const") return constantCondition(condition, segmentKey, env, source.value);
  // `none` (empty property): the value is None; only IS_NOT_SET and an identity-keyed PERCENTAGE_SPLIT can match.
  const x: JsonLogicArg = source.kind === "expr" ? source.expr : null;
  const plainVar = source.kind === "expr" && source.plainVar;

  if (operator === "IN") {
    if (source.kind === "none") return exactly(false);
    return inCondition(parseInList(condition.value), x); // IN values exactly as the engine parses them
  }
  if (operator === "IS_NOT_SET") return exactly(source.kind === "none" ? true : isNull(x));
  if (operator === "IS_SET") return exactly(source.kind === "none" ? false : isNotNull(x));

  const value = condition.value;
  if (typeof value !== "string") return exactly(false);

  if (operator === "PERCENTAGE_SPLIT") {
    if (source.kind === "none") return percentageSplit(value, segmentKey, TARGETING_KEY, true);
    return percentageSplit(value, segmentKey, x, isNotNull(x));
  }
  if (source.kind === "none") return exactly(false);

  switch (operator) {
    case "NOT_CONTAINS":
      return exactly(value === "" ? false : byKind(x, { str: not(contains(x, value)) }));
    case "REGEX":
      return regexCondition(value, x);
    case "MODULO":
      return moduloCondition(value, x);
    case "EQUAL":
    case "NOT_EQUAL":
    case "GREATER_THAN":
    case "GREATER_THAN_INCLUSIVE":
    case "LESS_THAN":
    case "LESS_THAN_INCLUSIVE":
    case "CONTAINS":
      return typedCondition(operator, value, x, plainVar);
    default:
      return exactly(false, {
        warnings: [{ reason: "unknown_operator", detail: `operator ${JSON.stringify(operator)} is unknown: never matches (as in Flagsmith)` }],
      });
  }
}
