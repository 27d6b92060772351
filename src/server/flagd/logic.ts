/**
 * JsonLogic builders with constant folding.
 *
 * A `Logic` is either a boolean constant (known at export time) or a rule. Every rule built here evaluates without
 * throwing in flagd-core's json-logic-engine for any context whose attributes are JSON scalars: its loose
 * comparators (`==`, `<`, …) and `%` throw (→ flag ERROR) when given a non-numeric string, so callers only apply
 * them after a type guard (`and` short-circuits), and equality uses the strict `===` / `in`.
 */
import type { JsonLogicArg, JsonLogicPrimitive, JsonLogicRule } from "./types";

export type Logic = boolean | JsonLogicRule;

export function isConst(logic: Logic): logic is boolean {
  return typeof logic === "boolean";
}

const vars = new Map<string, JsonLogicRule>();

/**
 * `{"var": path}`; `path` must already be escaped (see `varPath`). One shared (never mutated) object per path, so
 * guards built on it can be memoized by identity.
 */
export function v(path: string): JsonLogicRule {
  let rule = vars.get(path);
  if (rule === undefined) {
    if (vars.size > 10_000) vars.clear();
    rule = { var: path };
    vars.set(path, rule);
  }
  return rule;
}

/**
 * Escapes a context key for json-logic-engine's `var`, which splits paths on `.` (escape `\.`), climbs scopes on
 * a leading `../` (escape `\/`) and uses `\` as the escape character.
 */
export function varPath(key: string): string {
  return key.replace(/[\\./]/g, (ch) => "\\" + ch);
}

export const TARGETING_KEY = v("targetingKey");

export function and(...items: Logic[]): Logic {
  const out: JsonLogicRule[] = [];
  for (const item of items) {
    if (item === false) return false;
    if (item === true) continue;
    const inner = item.and;
    if (Array.isArray(inner) && Object.keys(item).length === 1) out.push(...(inner as JsonLogicRule[]));
    else out.push(item);
  }
  if (out.length === 0) return true;
  if (out.length === 1) return out[0];
  return { and: out };
}

export function or(...items: Logic[]): Logic {
  const out: JsonLogicRule[] = [];
  for (const item of items) {
    if (item === true) return true;
    if (item === false) continue;
    const inner = item.or;
    if (Array.isArray(inner) && Object.keys(item).length === 1) out.push(...(inner as JsonLogicRule[]));
    else out.push(item);
  }
  if (out.length === 0) return false;
  if (out.length === 1) return out[0];
  return { or: out };
}

/** Truthiness negation. Only used on conditions, where `!!x` ≡ `x`, so double negations cancel. */
export function not(item: Logic): Logic {
  if (typeof item === "boolean") return !item;
  const inner = item["!"];
  if (Array.isArray(inner) && inner.length === 1 && Object.keys(item).length === 1) {
    const operand = inner[0] as JsonLogicArg;
    if (typeof operand === "object" && operand !== null && !Array.isArray(operand)) return operand as JsonLogicRule;
  }
  return { "!": [item] };
}

export function strictEq(a: JsonLogicArg, b: JsonLogicArg): JsonLogicRule {
  return { "===": [a, b] };
}

export function strictNe(a: JsonLogicArg, b: JsonLogicArg): JsonLogicRule {
  return { "!==": [a, b] };
}

/** Membership in a literal list (Array.prototype.includes: strict, type-sensitive). */
export function inList(x: JsonLogicArg, list: readonly JsonLogicPrimitive[]): Logic {
  // NaN and ±Infinity have no JSON form (they would serialise as null) and never equal a JSON context value.
  const unique = dedupe(list.filter((item) => typeof item !== "number" || Number.isFinite(item)));
  if (unique.length === 0) return false;
  if (unique.length === 1) return strictEq(x, unique[0]);
  return { in: [x, unique] };
}

/** Set membership is SameValueZero, like `Array.prototype.includes`: "1" and 1 stay distinct. */
function dedupe(list: readonly JsonLogicPrimitive[]): JsonLogicPrimitive[] {
  return list.length < 2 ? [...list] : [...new Set(list)];
}

// ------------------------------------------------------------------------------------------------
// Type guards for a context value (assumed to be a JSON scalar: string, number, boolean or null/missing).

export function isNull(x: JsonLogicArg): JsonLogicRule {
  return strictEq(x, null);
}

export function isNotNull(x: JsonLogicArg): JsonLogicRule {
  return strictNe(x, null);
}

export function isBool(x: JsonLogicArg): JsonLogicRule {
  return { in: [x, [true, false]] };
}

/** flagd's `starts_with` returns null (falsy) instead of throwing when an argument is not a string. */
export function isString(x: JsonLogicArg): JsonLogicRule {
  return { starts_with: [x, ""] };
}

/** Neither null, boolean nor string: a number (for scalar contexts). */
export function isNumber(x: JsonLogicArg): Logic {
  return not(or(isNull(x), isBool(x), isString(x)));
}
