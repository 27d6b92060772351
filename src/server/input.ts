/**
 * Hostile-input checks shared by every transport (tRPC schemas, the SDK API's body and query
 * parsing, document imports) and by the UI's forms. Pure: no Node APIs, no server imports.
 *
 * - Text PostgreSQL cannot take: U+0000 (text and jsonb refuse it, the query fails) and unpaired
 *   UTF-16 surrogates (jsonb refuses them; text columns silently store U+FFFD instead). `text()` is
 *   the zod string every input schema uses; `textProblem` is the same check for hand-written parsers.
 * - UTF-8 byte lengths: a btree index entry holds at most ~2,700 bytes, so indexed text (identifiers,
 *   names) is limited in bytes as well as in characters (`MAX_INDEXED_TEXT_BYTES`).
 * - Nesting depth of JSON values, checked without recursion before anything recursive (a parser, a
 *   printer, zod's recursive schemas) touches them: `jsonDepthExceeds` on values, `jsonTextDepthExceeds`
 *   on JSON text before it is parsed.
 * - Dates PostgreSQL and JSON agree on (`isStorableDate`): four-digit years.
 */
import { z } from "zod";

export const TEXT_MESSAGES = {
  nul: "Text cannot contain null characters (U+0000)",
  surrogate: "Text must be valid Unicode (it contains an unpaired surrogate)",
} as const;

/** Most procedures one tRPC request may batch (the UI's batch link splits its batches at this size). */
export const MAX_TRPC_BATCH_SIZE = 25;

/** Deepest JSON nesting any input may have (objects and arrays count one level each). */
export const MAX_JSON_DEPTH = 100;

/**
 * Largest UTF-8 size of text in a btree index (identifiers, names): PostgreSQL's limit for one index
 * entry is about 2,700 bytes, and `lower(name)` indexes may grow a name's bytes a little.
 */
export const MAX_INDEXED_TEXT_BYTES = 2000;

// An unpaired surrogate: a high one not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `value` cannot be stored as text, or null when it can. */
export function textProblem(value: string): string | null {
  if (value.includes("\u0000")) return TEXT_MESSAGES.nul;
  if (LONE_SURROGATE.test(value)) return TEXT_MESSAGES.surrogate;
  return null;
}

/** The UTF-8 size of `value` in bytes (an unpaired surrogate counts as the 3 bytes of U+FFFD). */
export function utf8Length(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Whether indexed text fits an index entry: at most `maxBytes` of UTF-8, also once lower-cased when
 * the index is on `lower(…)` (a few characters grow when lower-cased).
 */
export function fitsIndex(value: string, options: { maxBytes?: number; lowercased?: boolean } = {}): boolean {
  const maxBytes = options.maxBytes ?? MAX_INDEXED_TEXT_BYTES;
  return utf8Length(value) <= maxBytes && (!options.lowercased || utf8Length(value.toLowerCase()) <= maxBytes);
}

/**
 * The zod string of every text input: refuses U+0000 and unpaired surrogates (TEXT_MESSAGES). Chain
 * the usual checks after it (`text().trim().min(1).max(200)`). Indexed text also takes a byte limit:
 * `maxBytes` (UTF-8), checked on the lower-cased text too when `lowercased` (a `lower(…)` index).
 */
export function text(options: { maxBytes?: number; lowercased?: boolean } = {}): z.ZodString {
  const schema = z
    .string()
    .refine((value) => !value.includes("\u0000"), TEXT_MESSAGES.nul)
    .refine((value) => !LONE_SURROGATE.test(value), TEXT_MESSAGES.surrogate);
  const { maxBytes } = options;
  if (maxBytes === undefined) return schema;
  return schema.refine((value) => fitsIndex(value, options), `Text is limited to ${maxBytes} bytes (UTF-8)`);
}

/**
 * Whether a JSON-like value nests deeper than `max` levels (a scalar is depth 0, `[]` and `{}` are
 * 1). Iterative, so it cannot overflow the stack however deep the value is; stops at the first
 * branch too deep.
 */
export function jsonDepthExceeds(value: unknown, max = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== "object") return false;
  const stack: { value: object; depth: number }[] = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (depth > max) return true;
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (child !== null && typeof child === "object") stack.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
}

/**
 * Whether JSON text nests deeper than `max` levels, read without parsing (brackets inside strings do
 * not count). For text that is not JSON the answer is meaningless but harmless: the parser refuses it.
 */
export function jsonTextDepthExceeds(json: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) {
      if (++depth > max) return true;
    } else if (code === 0x5d || code === 0x7d) depth--;
  }
  return false;
}

/**
 * The first string (value or object key) of a JSON-like value that cannot be stored as text, with
 * its path (`["feature_states", 3, "feature", "name"]`), or null. Iterative, like jsonDepthExceeds.
 */
export function findTextProblem(value: unknown): { path: (string | number)[]; problem: string } | null {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === "string") {
      const problem = textProblem(current);
      if (problem) return { path, problem };
      continue;
    }
    if (current === null || typeof current !== "object") continue;
    if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) stack.push({ value: current[index], path: [...path, index] });
      continue;
    }
    const entries = Object.entries(current);
    for (let index = entries.length - 1; index >= 0; index--) {
      const [key, child] = entries[index];
      const problem = textProblem(key);
      if (problem) return { path: [...path, key], problem: `a key: ${problem}` };
      stack.push({ value: child, path: [...path, key] });
    }
  }
  return null;
}

/** First and last instants with a four-digit year, which PostgreSQL and ISO 8601 text both take. */
export const MIN_STORABLE_DATE = Date.parse("0001-01-01T00:00:00.000Z");
export const MAX_STORABLE_DATE = Date.parse("9999-12-31T23:59:59.999Z");

/** Whether a date can be stored and written back as ISO 8601 text (a valid date, years 1–9999). */
export function isStorableDate(date: Date): boolean {
  const time = date.getTime();
  return Number.isFinite(time) && time >= MIN_STORABLE_DATE && time <= MAX_STORABLE_DATE;
}
