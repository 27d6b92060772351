/**
 * Segment condition evaluation with Flagsmith's (Python) semantics — ../shared/reference/flagsmith-compat.md
 * §4.4 and §4.5, ENG `flag_engine/segments/evaluator.py`.
 *
 * Everything derivable from a condition alone (JSONPath, IN list, regex, numeric casts of the value, semver)
 * is computed on first use and cached in a WeakMap keyed on the condition object, so evaluating many identities
 * against the same segment objects parses each condition once. The cache never changes a result; it assumes
 * condition objects are not mutated after their first evaluation.
 */
import { getHashedPercentageForPair } from "./hashing";
import { compileJsonPath, findFirst, NOT_FOUND, type CompiledJsonPath } from "./jsonpath";
import {
  comparePyStrings,
  parsePyFloat,
  parsePyInt,
  pyCanonicalIntString,
  pyFloatMod,
  pyFloatRepr,
  pyIntStr,
  pyStrOfJson,
} from "./python";
import { compilePythonRegex, type PythonRegex } from "./regex";
import { compareSemver, isSemverConditionValue, parseSemver, SEMVER_SUFFIX, type SemVer } from "./semver";
import type { AnySegmentCondition, EvaluationContext, TraitValue } from "./types";

/** What a condition needs from the (identity-enriched) context. Built once per evaluation. */
export interface ConditionScope {
  /** The context with `identity.key` filled in, the document JSONPath queries run against. */
  readonly context: EvaluationContext;
  readonly traits: Readonly<Record<string, TraitValue>> | null;
  /** The effective identity key, or null without an identity. */
  readonly identityKey: string | null;
}

// Python type of a coerced context value (ENG `map_any_value_to_context_value`).
const KIND_NONE = 0;
const KIND_BOOL = 1;
/** An int: a string matching `-?[0-9]+`, or an integral JS number (which might have been a Python float). */
const KIND_INT = 2;
/** A float: a string matching `-?[0-9]+\.[0-9]+`, or a non-integral JS number. */
const KIND_FLOAT = 3;
const KIND_STR = 4;
type Kind = typeof KIND_NONE | typeof KIND_BOOL | typeof KIND_INT | typeof KIND_FLOAT | typeof KIND_STR;

/** Sentinel for "computed, and the cast/parse failed" (undefined means "not computed yet"). */
const FAILED = null;

interface CompiledCondition {
  /** Compiled JSONPath when the property starts with `$.`, else null. */
  path: CompiledJsonPath | null;
  inValues: ReadonlySet<string> | undefined;
  threshold: number | null | undefined;
  modulo: { divisor: number; remainder: number } | null | undefined;
  regex: PythonRegex | null | undefined;
  intValue: number | bigint | null | undefined;
  floatValue: number | null | undefined;
  semver: SemVer | null | undefined;
}

const compiledConditions = new WeakMap<AnySegmentCondition, CompiledCondition>();

function compile(condition: AnySegmentCondition): CompiledCondition {
  let compiled = compiledConditions.get(condition);
  if (compiled === undefined) {
    const property = condition.property;
    compiled = {
      path: typeof property === "string" && property.startsWith("$.") ? compileJsonPath(property) : null,
      inValues: undefined,
      threshold: undefined,
      modulo: undefined,
      regex: undefined,
      intValue: undefined,
      floatValue: undefined,
      semver: undefined,
    };
    compiledConditions.set(condition, compiled);
  }
  return compiled;
}

// ---------------------------------------------------------------------------------------------------------------
// Context values

function ownTrait(traits: Readonly<Record<string, TraitValue>> | null, name: string): unknown {
  return traits !== null && Object.hasOwn(traits, name) ? traits[name] : null;
}

/**
 * The raw context value of a condition property (§4.4): a trait with exactly that name when it is set,
 * otherwise the first JSONPath match when it is a primitive; invalid JSONPath → the trait (already looked up).
 */
function resolveRawValue(property: string, compiled: CompiledCondition, scope: ConditionScope): unknown {
  const trait = ownTrait(scope.traits, property);
  if (compiled.path === null || (trait !== null && trait !== undefined)) return trait;
  const found = findFirst(compiled.path, scope.context);
  if (found === NOT_FOUND) return null;
  const type = typeof found;
  return type === "string" || type === "number" || type === "boolean" ? found : null;
}

function isAsciiDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Python type after coercion: strings fully matching `-?[0-9]+` are ints, `-?[0-9]+\.[0-9]+` floats. */
function classifyString(value: string): Kind {
  const length = value.length;
  let i = value.charCodeAt(0) === 45 ? 1 : 0; // "-"
  const intStart = i;
  while (i < length && isAsciiDigit(value.charCodeAt(i))) i++;
  if (i === intStart) return KIND_STR;
  if (i === length) return KIND_INT;
  if (value.charCodeAt(i) !== 46) return KIND_STR; // "."
  const fractionStart = ++i;
  while (i < length && isAsciiDigit(value.charCodeAt(i))) i++;
  return i === length && i > fractionStart ? KIND_FLOAT : KIND_STR;
}

function classify(raw: unknown): Kind {
  switch (typeof raw) {
    case "string":
      return classifyString(raw);
    case "number":
      return Number.isInteger(raw) ? KIND_INT : KIND_FLOAT;
    case "boolean":
      return KIND_BOOL;
    default:
      return KIND_NONE;
  }
}

/** Integer value of a KIND_INT raw value (exact: bigint beyond the safe range). */
function intOf(raw: unknown): number | bigint {
  if (typeof raw === "number") return raw;
  const text = raw as string;
  // ≤ 15 digits is always a safe integer; longer strings go through the exact parser.
  if (text.length <= 15) return Number(text) || 0; // "|| 0" folds -0 into 0
  return parsePyInt(text) ?? 0;
}

function floatOf(raw: unknown): number {
  return typeof raw === "number" ? raw : Number(raw as string);
}

/** Python `str()` of a coerced context value. */
function pyStr(raw: unknown, kind: Kind): string {
  switch (kind) {
    case KIND_BOOL:
      return raw ? "True" : "False";
    case KIND_INT:
      return typeof raw === "number" ? pyIntStr(raw) : pyCanonicalIntString(raw as string);
    case KIND_FLOAT:
      return pyFloatRepr(floatOf(raw));
    case KIND_STR:
      return raw as string;
    default:
      return "None";
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Condition values

/** The source text of each top-level element of a valid JSON array text (used to read number literals). */
function topLevelElementTexts(text: string): string[] {
  const elements: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === "[" || char === "{") {
      if (++depth === 1) start = i + 1;
    } else if (char === "]" || char === "}") {
      if (depth-- === 1) elements.push(text.slice(start, i).trim());
    } else if (char === "," && depth === 1) {
      elements.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  return elements;
}

/**
 * IN values (§4.5): a list as given; a string that parses as a JSON array (elements stringified like Python's
 * `str()`); otherwise the string split on commas, without trimming. The flagd translator uses the same parse.
 */
export function parseInList(value: string | readonly string[]): string[] {
  if (typeof value !== "string") return Array.isArray(value) ? value.map((v) => String(v)) : [];
  const firstNonBlank = value.trimStart().charCodeAt(0);
  if (firstNonBlank === 91) {
    // "[" — only a JSON *array* is accepted; anything else falls back to comma splitting.
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = undefined;
    }
    if (Array.isArray(parsed)) {
      // JSON.parse loses the int/float distinction (`1` vs `1.0`) and big-int digits: read number literals.
      const texts = parsed.some((item) => typeof item === "number") ? topLevelElementTexts(value) : null;
      return parsed.map((item, index) => pyStrOfJson(item, typeof item === "number" ? texts?.[index] : undefined));
    }
  }
  return value.split(",");
}

function parseInValues(value: string | readonly string[]): ReadonlySet<string> {
  return new Set(parseInList(value));
}

function conditionInt(compiled: CompiledCondition, value: string): number | bigint | null {
  if (compiled.intValue === undefined) compiled.intValue = parsePyInt(value) ?? FAILED;
  return compiled.intValue;
}

function conditionFloat(compiled: CompiledCondition, value: string): number | null {
  if (compiled.floatValue === undefined) compiled.floatValue = parsePyFloat(value) ?? FAILED;
  return compiled.floatValue;
}

function conditionSemver(compiled: CompiledCondition, value: string): SemVer | null {
  if (compiled.semver === undefined) compiled.semver = parseSemver(value.slice(0, -SEMVER_SUFFIX.length));
  return compiled.semver;
}

function conditionModulo(compiled: CompiledCondition, value: string): { divisor: number; remainder: number } | null {
  if (compiled.modulo === undefined) {
    const parts = value.split("|");
    const divisor = parts.length === 2 ? parsePyFloat(parts[0]) : undefined;
    const remainder = parts.length === 2 ? parsePyFloat(parts[1]) : undefined;
    compiled.modulo = divisor === undefined || remainder === undefined ? FAILED : { divisor, remainder };
  }
  return compiled.modulo;
}

// ---------------------------------------------------------------------------------------------------------------
// Comparisons

/** Applies an ordering operator to two numbers/bigints (mixed comparisons are exact in JS). */
function compareNumbers(operator: string, a: number | bigint, b: number | bigint): boolean {
  switch (operator) {
    case "EQUAL":
      return a === b || (typeof a !== typeof b && a >= b && a <= b);
    case "NOT_EQUAL":
      return !(a === b || (typeof a !== typeof b && a >= b && a <= b));
    case "GREATER_THAN":
      return a > b;
    case "GREATER_THAN_INCLUSIVE":
      return a >= b;
    case "LESS_THAN":
      return a < b;
    case "LESS_THAN_INCLUSIVE":
      return a <= b;
    default:
      return false; // CONTAINS on a number raises TypeError in Python → no match
  }
}

/** Applies an operator to the result of a three-way comparison. */
function fromOrdering(operator: string, ordering: number): boolean {
  switch (operator) {
    case "EQUAL":
      return ordering === 0;
    case "NOT_EQUAL":
      return ordering !== 0;
    case "GREATER_THAN":
      return ordering > 0;
    case "GREATER_THAN_INCLUSIVE":
      return ordering >= 0;
    case "LESS_THAN":
      return ordering < 0;
    case "LESS_THAN_INCLUSIVE":
      return ordering <= 0;
    default:
      return false;
  }
}

/**
 * EQUAL, NOT_EQUAL, GREATER_THAN(_INCLUSIVE), LESS_THAN(_INCLUSIVE), CONTAINS: the condition value is cast to
 * the context value's type (a failed cast never matches); `:semver` values compare string contexts as versions.
 */
function typedMatch(operator: string, compiled: CompiledCondition, value: string, raw: unknown, kind: Kind): boolean {
  switch (kind) {
    case KIND_STR: {
      const text = raw as string;
      if (isSemverConditionValue(value)) {
        const expected = conditionSemver(compiled, value);
        const actual = expected === null ? null : parseSemver(text);
        return actual !== null && expected !== null && fromOrdering(operator, compareSemver(actual, expected));
      }
      if (operator === "CONTAINS") return text.includes(value);
      if (operator === "EQUAL") return text === value;
      if (operator === "NOT_EQUAL") return text !== value;
      return fromOrdering(operator, comparePyStrings(text, value));
    }
    case KIND_BOOL: {
      // Python: bool(value) is `value not in ("False", "false")`; bools order like 0/1.
      const expected = value !== "False" && value !== "false";
      return compareNumbers(operator, raw ? 1 : 0, expected ? 1 : 0);
    }
    case KIND_INT: {
      const expected = conditionInt(compiled, value);
      if (expected !== FAILED) return compareNumbers(operator, intOf(raw), expected);
      // An integral JS number may have been a Python float (JSON `2.0` parses as 2): fall back to float().
      if (typeof raw !== "number") return false;
      const expectedFloat = conditionFloat(compiled, value);
      return expectedFloat !== FAILED && compareNumbers(operator, raw, expectedFloat);
    }
    case KIND_FLOAT: {
      const expected = conditionFloat(compiled, value);
      return expected !== FAILED && compareNumbers(operator, floatOf(raw), expected);
    }
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point

/** Whether `condition` matches in `scope`; `segmentKey` seeds PERCENTAGE_SPLIT hashing. Never throws. */
export function conditionMatches(condition: AnySegmentCondition, segmentKey: string, scope: ConditionScope): boolean {
  const compiled = compile(condition);
  const property = condition.property;
  const raw = property ? resolveRawValue(property, compiled, scope) : null;
  const kind = classify(raw);
  const operator = condition.operator;

  if (operator === "IN") {
    if (compiled.inValues === undefined) compiled.inValues = parseInValues(condition.value);
    // Only strings and (non-bool) ints can equal a string in the list; floats, bools and None never match.
    if (kind === KIND_STR) return compiled.inValues.has(raw as string);
    if (kind === KIND_INT) return compiled.inValues.has(pyStr(raw, kind));
    return false;
  }

  if (operator === "IS_NOT_SET") return kind === KIND_NONE;
  if (operator === "IS_SET") return kind !== KIND_NONE;

  const value = condition.value;
  if (typeof value !== "string") return false; // list values are only meaningful for IN

  if (operator === "PERCENTAGE_SPLIT") {
    let id: string;
    if (kind !== KIND_NONE) id = pyStr(raw, kind);
    else if (!property && scope.identityKey !== null) id = scope.identityKey;
    else return false; // a property that resolves to nothing never matches
    if (compiled.threshold === undefined) compiled.threshold = parsePyFloat(value) ?? FAILED;
    return compiled.threshold !== FAILED && getHashedPercentageForPair(segmentKey, id) <= compiled.threshold;
  }

  if (kind === KIND_NONE) return false;

  switch (operator) {
    case "NOT_CONTAINS":
      return kind === KIND_STR && !(raw as string).includes(value);
    case "REGEX": {
      // Linear-time RE2 evaluation (regex.ts). Patterns Python rejects or RE2 cannot express (backreferences,
      // lookarounds, …; refused when saved or imported) compile to null and never match.
      if (compiled.regex === undefined) compiled.regex = compilePythonRegex(value);
      return compiled.regex !== null && compiled.regex.test(pyStr(raw, kind));
    }
    case "MODULO": {
      // Numbers only. Python's isinstance(value, (int, float)) would also let bools through (True % 2.0 == 1.0);
      // the spec and ETD treat booleans as invalid here, so they never match.
      if (kind !== KIND_INT && kind !== KIND_FLOAT) return false;
      if (!value) return false;
      const modulo = conditionModulo(compiled, value);
      if (modulo === FAILED) return false;
      // int % float converts the int to float in Python too.
      return pyFloatMod(floatOf(raw), modulo.divisor) === modulo.remainder;
    }
    case "EQUAL":
    case "NOT_EQUAL":
    case "GREATER_THAN":
    case "GREATER_THAN_INCLUSIVE":
    case "LESS_THAN":
    case "LESS_THAN_INCLUSIVE":
    case "CONTAINS":
      return typedMatch(operator, compiled, value, raw, kind);
    default:
      return false; // unknown operator
  }
}
