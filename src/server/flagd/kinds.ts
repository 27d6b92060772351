/**
 * Flagsmith's "kind" of a context value, as JsonLogic predicates.
 *
 * Flagpost's engine (like Flagsmith's Python engine) classifies a context value before comparing it
 * (src/server/engine/conditions.ts `classify`): null/missing → NONE, boolean → BOOL, an integral number or a string
 * fully matching `-?[0-9]+` → INT, a non-integral number or a string matching `-?[0-9]+\.[0-9]+` → FLOAT,
 * any other string → STR. The condition value is then cast to that kind. flagd contexts carry the raw trait
 * values, so every typed condition is translated as a disjunction over kinds, each guarded by these predicates.
 *
 * All predicates are throw-free in flagd-core (json-logic-engine 5) for scalar inputs, in compiled and interpreted
 * mode: `and` short-circuits, so string-only operations (`substr`, `in` on a string) are only reached for strings.
 * Trick used for "is a JS-numeric string": with a null first operand, json-logic-engine compares `null < x` with
 * plain JavaScript semantics (both operands string-or-null skip its NaN check), which is true or false for a numeric
 * string and false for both `<` and `>=` when `Number(x)` is NaN.
 */
import { and, inList, isBool, isNull, isNumber, isString, not, or, strictEq, type Logic } from "./logic";
import type { JsonLogicArg, JsonLogicRule } from "./types";

const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/** Characters JavaScript's `String.prototype.trim` removes (node-semver trims before parsing). */
export const JS_WHITESPACE = [
  "\t", "\n", "\v", "\f", "\r", " ", "\u00a0", "\u1680", "\u2000", "\u2001", "\u2002", "\u2003", "\u2004",
  "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
  "\ufeff",
];

export function firstChar(x: JsonLogicArg): JsonLogicRule {
  return { substr: [x, 0, 1] };
}

export function secondChar(x: JsonLogicArg): JsonLogicRule {
  return { substr: [x, 1, 1] };
}

export function lastChar(x: JsonLogicArg): JsonLogicRule {
  return { substr: [x, -1] };
}

/** `needle` occurs in the string `x` (x must be known to be a string). */
export function contains(x: JsonLogicArg, needle: string): JsonLogicRule {
  return { in: [needle, x] };
}

/** For a string x: `Number(x)` is not NaN. */
function jsNumeric(x: JsonLogicArg): Logic {
  return or({ "<": [null, x] }, { ">=": [null, x] });
}

/**
 * For a value already known to be a string: it fully matches `-?[0-9]+(\.[0-9]+)?`.
 * JS-numeric strings that start with a digit (or `-` and a digit) and end with a digit are exactly those, except
 * hexadecimal/binary/octal literals (`0x…`: second character) and exponents (`e`).
 */
const numericStringRestCache = new WeakMap<object, Logic>();

export function numericStringRest(x: JsonLogicArg): Logic {
  if (typeof x !== "object" || x === null) return buildNumericStringRest(x);
  let cached = numericStringRestCache.get(x);
  if (cached === undefined) numericStringRestCache.set(x, (cached = buildNumericStringRest(x)));
  return cached;
}

function buildNumericStringRest(x: JsonLogicArg): Logic {
  return and(
    jsNumeric(x),
    inList(lastChar(x), DIGITS),
    or(inList(firstChar(x), DIGITS), and(strictEq(firstChar(x), "-"), inList(secondChar(x), DIGITS))),
    not(inList(secondChar(x), ["x", "X", "b", "B", "o", "O"])),
    not(contains(x, "e")),
    not(contains(x, "E")),
  );
}

/** A string that Flagsmith coerces to a number (INT or FLOAT kind). */
export function isNumericString(x: JsonLogicArg): Logic {
  return and(isString(x), numericStringRest(x));
}

/** STR kind: a string Flagsmith does not coerce. */
export function isStrKind(x: JsonLogicArg): Logic {
  return and(isString(x), not(numericStringRest(x)));
}

/** INT or FLOAT kind. Loose comparators (`==`, `<`, …) and `%`, `+` are throw-free on such values. */
export function isNumericKind(x: JsonLogicArg): Logic {
  return or(isNumber(x), isNumericString(x));
}

/**
 * A condition as a switch over the context value's kind, evaluating the numeric-string test at most once:
 * `if(isString(x), if(<numeric string>, numericString, str), <bool or number>)`.
 * - `str`: for STR-kind strings; `strForAllStrings` means it is already false for numeric strings (e.g. `x > "z"`),
 *   so no numeric-string test is needed when `numericString` is false too; `strTyped` means it is also throw-free
 *   and false for every non-string (e.g. `x === "pro"`), so it needs no string test either;
 * - `numericString`: for INT/FLOAT-kind strings (loose comparators and `%` are throw-free on them);
 * - `bool`: must itself test the type (e.g. `{"in": [x, [true]]}`);
 * - `number`: for JS numbers; `numberTyped` means it already fails for non-numbers (e.g. `x === 5`), otherwise it is
 *   guarded by "not null, not boolean".
 */
export interface KindCases {
  str?: Logic;
  strForAllStrings?: boolean;
  strTyped?: boolean;
  numericString?: Logic;
  bool?: Logic;
  number?: Logic;
  numberTyped?: boolean;
}

export function byKind(x: JsonLogicArg, cases: KindCases): Logic {
  const str = cases.str ?? false;
  const numericString = cases.numericString ?? false;
  let onString: Logic;
  if (numericString === false && (str === false || cases.strForAllStrings)) onString = str;
  else if (numericString === str) onString = str;
  else if (numericString === false) onString = and(not(numericStringRest(x)), str);
  else if (str === false) onString = and(numericStringRest(x), numericString);
  else onString = { if: [numericStringRest(x), numericString, str] };

  const number = cases.number ?? false;
  const onOther = or(cases.bool ?? false, cases.numberTyped || number === false ? number : and(not(or(isNull(x), isBool(x))), number));

  const otherTyped = cases.numberTyped || number === false; // onOther is false for every string
  if (onString === false) return otherTyped ? onOther : and(not(isString(x)), onOther);
  const stringOnly = cases.strTyped && cases.strForAllStrings && numericString === false; // onString is false for non-strings
  if (onOther === false) return stringOnly ? onString : and(isString(x), onString);
  if (stringOnly && otherTyped) return or(onString, onOther);
  return { if: [isString(x), onString, onOther] };
}
