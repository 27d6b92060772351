/**
 * Small re-implementations of the Python built-ins whose behaviour the Flagsmith engine depends on:
 * `int(str)`, `float(str)`, `str()` of numbers and JSON values, string ordering, and float `%`.
 *
 * All functions are pure and allocation-light; they are used on the evaluation hot path.
 */

/** Characters Python's `str.strip()` / `int()` / `float()` treat as whitespace (`str.isspace`). */
function isPyWhitespace(code: number): boolean {
  return (
    (code >= 0x09 && code <= 0x0d) ||
    (code >= 0x1c && code <= 0x20) ||
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

/** Python `str.strip()` (no arguments). */
export function pyStrip(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isPyWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isPyWhitespace(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

// Python numeric literal grammar as accepted by int()/float() (ASCII digits; `_` only between digits).
const PY_INT_RE = /^[+-]?\d(?:_?\d)*$/;
const PY_FLOAT_RE = /^[+-]?(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const PY_FLOAT_SPECIAL_RE = /^([+-]?)(?:(inf|infinity)|nan)$/i;

/**
 * Python `int(value)` for a string: the integer, as a number when it is a safe integer and as a bigint
 * otherwise (Python ints are unbounded), or undefined when Python would raise ValueError.
 */
export function parsePyInt(value: string): number | bigint | undefined {
  const text = pyStrip(value);
  if (!PY_INT_RE.test(text)) return undefined;
  const digits = text.includes("_") ? text.replaceAll("_", "") : text;
  const asNumber = Number(digits);
  if (Number.isSafeInteger(asNumber)) return asNumber === 0 ? 0 : asNumber; // no -0
  return BigInt(digits);
}

/** Python `float(value)` for a string, or undefined when Python would raise ValueError. */
export function parsePyFloat(value: string): number | undefined {
  const text = pyStrip(value);
  if (PY_FLOAT_RE.test(text)) return Number(text.includes("_") ? text.replaceAll("_", "") : text);
  const special = PY_FLOAT_SPECIAL_RE.exec(text);
  if (special === null) return undefined;
  if (special[2] === undefined) return NaN;
  return special[1] === "-" ? -Infinity : Infinity;
}

/** Python `repr(float)` / `str(float)`: shortest round-trip digits, `1e-05` / `1e+16` exponent style, `.0` suffix. */
export function pyFloatRepr(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  // toExponential() without an argument yields the shortest round-trip digits, like Python's repr.
  const exponential = value.toExponential();
  const ePos = exponential.indexOf("e");
  const negative = exponential.charCodeAt(0) === 45; // "-"
  const mantissa = exponential.slice(negative ? 1 : 0, ePos);
  const digits = mantissa.length > 1 ? mantissa[0] + mantissa.slice(2) : mantissa;
  const exponent = Number(exponential.slice(ePos + 1));
  const sign = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    const head = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
    const expDigits = String(Math.abs(exponent)).padStart(2, "0");
    return `${sign}${head}e${exponent < 0 ? "-" : "+"}${expDigits}`;
  }
  if (exponent >= 0) {
    const intPart = digits.length > exponent + 1 ? digits.slice(0, exponent + 1) : digits.padEnd(exponent + 1, "0");
    const fraction = digits.length > exponent + 1 ? digits.slice(exponent + 1) : "0";
    return `${sign}${intPart}.${fraction}`;
  }
  return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
}

/** Python `str(int)` for an integral number or bigint (exact digits, never exponent notation). */
export function pyIntStr(value: number | bigint): string {
  if (typeof value === "bigint") return value.toString();
  if (Number.isSafeInteger(value)) return value === 0 ? "0" : String(value);
  return BigInt(value).toString();
}

/**
 * Python `str()` of a JSON-derived number when the JSON text is unknown: integral numbers print as ints
 * (`30`), others as floats (`54.54`). Used for `SPLIT; weight=<w>` reasons.
 */
export function pyNumberStr(value: number): string {
  return Number.isInteger(value) ? pyIntStr(value) : pyFloatRepr(value);
}

/** Canonical Python `str(int(text))` for a string already known to match `-?[0-9]+`. */
export function pyCanonicalIntString(text: string): string {
  const negative = text.charCodeAt(0) === 45;
  let start = negative ? 1 : 0;
  while (start < text.length - 1 && text.charCodeAt(start) === 48) start++;
  const magnitude = text.slice(start);
  return negative && magnitude !== "0" ? "-" + magnitude : magnitude;
}

/** Python `repr(str)`: single quotes unless the string contains `'` and no `"`. */
function pyStrRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (char === quote || char === "\\") out += "\\" + char;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += char;
  }
  return out + quote;
}

/**
 * Python `str()` of a value produced by `json.loads` (used for the elements of an IN list). `rawNumber`, when
 * given, is the number's JSON source text, which tells ints (`1`) from floats (`1.0`, `1e2`) and keeps big
 * integers exact.
 */
export function pyStrOfJson(value: unknown, rawNumber?: string): string {
  if (typeof value === "string") return value;
  return pyReprOfJson(value, rawNumber, false);
}

function pyReprOfJson(value: unknown, rawNumber: string | undefined, nested: boolean): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return nested ? pyStrRepr(value) : value;
  if (typeof value === "number") {
    if (rawNumber !== undefined) {
      if (/^-?\d+$/.test(rawNumber)) return pyCanonicalIntString(rawNumber);
      return pyFloatRepr(value);
    }
    return pyNumberStr(value);
  }
  if (Array.isArray(value)) return "[" + value.map((item) => pyReprOfJson(item, undefined, true)).join(", ") + "]";
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return "{" + entries.map(([k, v]) => `${pyStrRepr(k)}: ${pyReprOfJson(v, undefined, true)}`).join(", ") + "}";
  }
  return String(value);
}

/**
 * Python string ordering (by code point). JS `<` compares UTF-16 code units, which orders astral characters
 * (surrogate pairs) before U+E000–U+FFFF; this corrects that at the first differing unit.
 */
export function comparePyStrings(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca >= 0xd800 && cb >= 0xd800) {
      // Map surrogates above the rest of the BMP so the order matches code points.
      ca += ca >= 0xe000 ? -0x800 : 0x2000;
      cb += cb >= 0xe000 ? -0x800 : 0x2000;
    }
    return ca - cb;
  }
  return a.length - b.length;
}

/** Python float `%`: the result takes the sign of the divisor (JS `%` takes the dividend's). NaN when b is 0. */
export function pyFloatMod(a: number, b: number): number {
  if (b === 0) return NaN;
  const mod = a % b;
  if (mod === 0) return b < 0 ? -0 : 0;
  return mod < 0 !== b < 0 ? mod + b : mod;
}
