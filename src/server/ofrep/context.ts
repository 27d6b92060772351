/**
 * An OFREP evaluation request's body → what Flagpost evaluates (pure: no I/O).
 *
 * `{"context": {"targetingKey": "<identity identifier>", "<trait>": <value>, …}}`:
 *   - `targetingKey` is the Flagsmith identity identifier; absent, null or empty: no identity (the
 *     environment's flags, as `GET /api/v1/flags/`), and the other attributes are ignored;
 *   - every other attribute is a trait, transient (never stored), with the SDK API's rules: strings,
 *     numbers and booleans as they are, objects and lists as Flagsmith's Python `str()` of them, null
 *     = not set (hides a stored trait of that name for this evaluation);
 *   - a missing `context` is an empty one (the OpenFeature providers omit it when it is empty).
 *
 * Refusals carry OFREP's error codes: PARSE_ERROR (not JSON, or not a JSON object), INVALID_CONTEXT
 * (a context that is not an object, a targetingKey that is not a string, or beyond the SDK API's
 * limits: identifier length, trait key length, trait string length, null characters, nesting).
 */
import { coerceTraitValue, MAX_IDENTIFIER_LENGTH, MAX_TRAIT_KEY_LENGTH, type IncomingTrait } from "@/server/sdk/traits";

export interface EvaluationInput {
  /** The identity identifier, or null (no identity). */
  identifier: string | null;
  /** Traits of this evaluation (all transient). */
  traits: IncomingTrait[];
}

export type ErrorCode = "PARSE_ERROR" | "INVALID_CONTEXT";

export type ParsedRequest = { ok: true; value: EvaluationInput } | { ok: false; errorCode: ErrorCode; errorDetails: string };

/** Objects and lists in attributes deeper than this are refused (their text is built recursively). */
export const MAX_ATTRIBUTE_DEPTH = 16;

const NO_CONTEXT: EvaluationInput = Object.freeze({ identifier: null, traits: [] }) as EvaluationInput;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(errorDetails: string): ParsedRequest {
  return { ok: false, errorCode: "INVALID_CONTEXT", errorDetails };
}

/** Whether `value` nests objects or lists deeper than `limit` (iterative: hostile input cannot exhaust the stack). */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (typeof current !== "object" || current === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(current as Record<string, unknown>)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/** The body text of an evaluation request, parsed and checked. */
export function parseEvaluationRequest(text: string): ParsedRequest {
  // A missing body is an empty context (docs/ofrep.md), as on the SDK API.
  if (text.trim() === "") return { ok: true, value: NO_CONTEXT };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return { ok: false, errorCode: "PARSE_ERROR", errorDetails: `Request body is not valid JSON: ${(error as Error).message.slice(0, 200)}` };
  }
  if (!isPlainObject(body)) return { ok: false, errorCode: "PARSE_ERROR", errorDetails: "Request body must be a JSON object: {\"context\": {…}}" };
  const context = body.context;
  if (context === undefined || context === null) return { ok: true, value: NO_CONTEXT };
  if (!isPlainObject(context)) return invalid("context must be an object");
  return parseContext(context);
}

/** An evaluation context (already a JSON object). */
export function parseContext(context: Record<string, unknown>): ParsedRequest {
  const rawKey = context.targetingKey;
  let identifier: string | null = null;
  if (rawKey !== undefined && rawKey !== null && rawKey !== "") {
    if (typeof rawKey !== "string") return invalid("targetingKey must be a string");
    if (rawKey.length > MAX_IDENTIFIER_LENGTH || Buffer.byteLength(rawKey, "utf8") > MAX_IDENTIFIER_LENGTH) {
      return invalid(`targetingKey is limited to ${MAX_IDENTIFIER_LENGTH} characters (UTF-8 bytes)`);
    }
    if (rawKey.includes("\u0000")) return invalid("targetingKey: null characters are not allowed");
    identifier = rawKey;
  }
  // Without an identity there are no traits (Flagsmith's identity-less answer): nothing else is read.
  if (identifier === null) return { ok: true, value: NO_CONTEXT };
  const traits: IncomingTrait[] = [];
  for (const [key, raw] of Object.entries(context)) {
    if (key === "targetingKey") continue;
    if (key.trim().length === 0) return invalid("context attribute names may not be blank");
    if (key.length > MAX_TRAIT_KEY_LENGTH) return invalid(`context attribute names are limited to ${MAX_TRAIT_KEY_LENGTH} characters`);
    if (key.includes("\u0000")) return invalid("context attribute names: null characters are not allowed");
    if (nestsDeeperThan(raw, MAX_ATTRIBUTE_DEPTH)) return invalid(`${key.slice(0, 100)}: nested deeper than ${MAX_ATTRIBUTE_DEPTH} levels`);
    const value = coerceTraitValue(raw);
    if (!value.ok) return invalid(`${key.slice(0, 100)}: ${value.detail}`);
    traits.push({ key, value: value.value, transient: true });
  }
  return { ok: true, value: { identifier, traits } };
}
