/**
 * Shared pieces of the hostile-input tests: hostile values, JSON text for values too deep for
 * JSON.stringify, and a checksum of the tables a refused request must leave alone.
 */
import { getTableName, is } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";
import fc from "fast-check";
import pg from "pg";
import * as schema from "../../../src/server/db/schema";

/**
 * Fixed seed: a failure reproduces, and fast-check prints the counterexample. `FUZZ_SEED=<n>` (and
 * `FUZZ_RUNS=<n>`, a multiplier of the runs) explore further from the command line.
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 142026);
export const FUZZ_RUNS = (runs: number) => Math.max(1, Math.round(runs * Number(process.env.FUZZ_RUNS ?? 1)));

/** Strings PostgreSQL, indexes, printers or parsers have choked on, and their neighbours. */
export const HOSTILE_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udfff",
  "\udc00\ud800",
  "😀",
  "中".repeat(700),
  "中".repeat(1000),
  "中".repeat(2000),
  "😀".repeat(600),
  "a".repeat(5000),
  "__proto__",
  "constructor",
  "toString",
  "'; drop table users; --",
  "%C0%80",
  "\\",
  "\u202e\u200b",
  "<script>alert(1)</script>",
  "[".repeat(200),
  "{{{{{{",
  "ser.abcdefghijklmnop",
  "1e400",
  "NaN",
  "+275760-09-13T00:00:00.000Z",
];

/** A value that serialises as JSON nested `depth` levels deep (JSON.stringify would overflow the stack). */
export class Deep {
  constructor(
    readonly depth: number,
    readonly kind: "array" | "object" = "array",
  ) {}
}

/** JSON text of a value that may contain `Deep` markers and own `__proto__` keys. */
export function toJson(value: unknown): string {
  if (value instanceof Deep) {
    return value.kind === "array" ? "[".repeat(value.depth) + "]".repeat(value.depth) : '{"a":'.repeat(value.depth) + "1" + "}".repeat(value.depth);
  }
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(toJson).join(",")}]`;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(",")}}`;
}

/** Numbers at the edges: ints of every width, fractions, huge and tiny magnitudes. */
export const HOSTILE_NUMBERS: readonly number[] = [0, -1, 1.5, -0.0001, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER, 1e21, 1e308, -1e308, 5e-324, 8.64e15];

export const hostileString = fc.constantFrom(...HOSTILE_STRINGS);
export const hostileNumber = fc.constantFrom(...HOSTILE_NUMBERS);
/** Any JSON value, occasionally nested past every depth limit. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(new Deep(5000), new Deep(10_000, "object"), new Deep(101)) },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileNumber },
);

/** Adds own `__proto__` / `constructor` keys to an object (JSON.parse keeps them as own keys). */
export function withPrototypeKeys(value: Record<string, unknown>, extra: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { ...value };
  Object.defineProperty(out, "__proto__", { value: { polluted: extra, isAdmin: true }, enumerable: true, configurable: true, writable: true });
  Object.defineProperty(out, "constructor", { value: { prototype: { polluted: extra } }, enumerable: true, configurable: true, writable: true });
  return out;
}

/** A checksum of every row of `tables` (md5 per table): equal before and after means nothing changed. */
export async function tableChecksum(client: pg.Client, tables: readonly string[]): Promise<string> {
  const query = tables.map((table) => `select '${table}' as t, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from ${table} x`).join(" union all ");
  const result = await client.query<{ t: string; h: string }>(query);
  return result.rows.map((row) => `${row.t}:${row.h}`).join(",");
}

/** Tables whose rows a refused request changes by design: sign-in throttle counts count refusals. */
const CHANGED_BY_REFUSALS = new Set(["sign_in_throttles"]);

/**
 * The app's tables a refused request must not touch: every table of the drizzle schema (so a table a
 * later migration adds is covered without anyone remembering to list it), but those above.
 */
export const APP_TABLES: readonly string[] = (Object.values(schema) as unknown[])
  .flatMap((value) => (is(value, PgTable) ? [getTableName(value)] : []))
  .filter((name) => !CHANGED_BY_REFUSALS.has(name))
  .sort();

/** Whether a (parsed) tRPC answer holds an INTERNAL_SERVER_ERROR anywhere (batch or single). */
export function internalErrors(body: unknown): string[] {
  const entries = Array.isArray(body) ? body : [body];
  return entries.flatMap((entry) => {
    const error = (entry as { error?: { data?: { code?: string }; message?: string } })?.error;
    return error?.data?.code === "INTERNAL_SERVER_ERROR" ? [error.message ?? "?"] : [];
  });
}
