/**
 * Identify requests and trait rules of the SDK API (pure: no I/O). Follows Flagsmith
 * (`api/environments/sdk/services.py`, `IdentifyWithTraitsSerializer`, `TraitValueField`):
 *
 * | request                          | identity                                  | traits written                          |
 * |----------------------------------|-------------------------------------------|-----------------------------------------|
 * | no / empty identifier            | fully transient, identifier derived       | none (all traits transient)             |
 * | `"transient": true`              | stored one if it exists, never created    | none (incoming traits marked transient) |
 * | otherwise                        | get-or-create                             | non-transient traits when the organisation persists trait data |
 *
 * A null `trait_value` deletes the trait (when written) and removes it from the evaluation; a trait
 * with `"transient": true` is used for this evaluation only. Client keys' traits are dropped
 * silently when the environment disallows client traits (handled by the caller).
 */
import { randomUUID, createHash } from "node:crypto";
import { pyFloatRepr, pyIntStr, pyStrOfJson } from "@/server/engine/python";
import { MAX_TRAIT_STRING_LENGTH } from "@/server/identities/values";
import { jsonDepthExceeds, MAX_JSON_DEPTH, TEXT_MESSAGES, textProblem } from "@/server/input";

export type TraitValue = string | number | boolean | null;

export const MAX_IDENTIFIER_LENGTH = 2000;
export const MAX_TRAIT_KEY_LENGTH = 200;

export interface IncomingTrait {
  key: string;
  value: TraitValue;
  transient: boolean;
}

export interface IdentifyRequest {
  /** null: no identifier given (a fully transient identity). */
  identifier: string | null;
  traits: IncomingTrait[];
  transient: boolean;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; detail: string };

const TRUE_VALUES = new Set(["t", "y", "yes", "true", "on", "1"]);
const FALSE_VALUES = new Set(["f", "n", "no", "false", "off", "0"]);

/** Django REST framework's BooleanField parsing (`true`, `1`, `yes`, `on` …); undefined when invalid. */
export function parseBoolean(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value === "string") {
    const lowered = value.toLowerCase();
    if (TRUE_VALUES.has(lowered)) return true;
    if (FALSE_VALUES.has(lowered)) return false;
  }
  return undefined;
}

/**
 * A trait value as Flagsmith keeps it: int, float, bool and str unchanged, anything else (objects,
 * lists) as Python's `str()` of it. Strings longer than MAX_TRAIT_STRING_LENGTH are refused.
 */
export function coerceTraitValue(raw: unknown): Parsed<TraitValue> {
  if (raw === null || raw === undefined) return { ok: true, value: null };
  if (typeof raw === "boolean") return { ok: true, value: raw };
  if (typeof raw === "number") {
    return Number.isFinite(raw) ? { ok: true, value: raw } : { ok: false, detail: "A number must be finite." };
  }
  // Objects and lists become Python's str() of them, a recursive printer: bounded depth first.
  if (jsonDepthExceeds(raw, MAX_JSON_DEPTH)) return { ok: false, detail: `Nested more than ${MAX_JSON_DEPTH} levels deep.` };
  const text = typeof raw === "string" ? raw : pyStrOfJson(raw);
  if (text.length > MAX_TRAIT_STRING_LENGTH) {
    return { ok: false, detail: `Ensure this value has no more than ${MAX_TRAIT_STRING_LENGTH} characters.` };
  }
  // PostgreSQL text and jsonb cannot hold U+0000 (DRF refuses it too) nor unpaired surrogates.
  const problem = textProblem(text);
  if (problem) return { ok: false, detail: problem === TEXT_MESSAGES.nul ? NULL_CHARACTERS : `${problem}.` };
  return { ok: true, value: text };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const NULL_CHARACTERS = "Null characters are not allowed.";

/**
 * An identifier as DRF's CharField takes it (numbers become strings); null when absent or empty.
 * Also at most MAX_IDENTIFIER_LENGTH UTF-8 bytes: identifiers are indexed, and a longer index entry
 * would fail in the database rather than as bad input.
 */
export function parseIdentifier(raw: unknown, field = "identifier"): Parsed<string | null> {
  if (raw === undefined || raw === null || raw === "") return { ok: true, value: null };
  if (typeof raw !== "string" && typeof raw !== "number") return { ok: false, detail: `${field}: Not a valid string.` };
  const identifier = String(raw);
  if (identifier.length > MAX_IDENTIFIER_LENGTH || Buffer.byteLength(identifier, "utf8") > MAX_IDENTIFIER_LENGTH) {
    return { ok: false, detail: `${field}: Ensure this field has no more than ${MAX_IDENTIFIER_LENGTH} characters (UTF-8 bytes).` };
  }
  const problem = textProblem(identifier);
  if (problem) return { ok: false, detail: `${field}: ${problem === TEXT_MESSAGES.nul ? NULL_CHARACTERS : `${problem}.`}` };
  return { ok: true, value: identifier };
}

/** Validates the body of `POST /identities/` (already JSON-decoded, or a form's fields). */
export function parseIdentifyBody(body: unknown): Parsed<IdentifyRequest> {
  if (!isPlainObject(body)) return { ok: false, detail: "Expected a JSON object with an `identifier` and optional `traits`." };
  const identifier = parseIdentifier(body.identifier);
  if (!identifier.ok) return identifier;

  let transient = false;
  if (body.transient !== undefined && body.transient !== null) {
    const parsed = parseBoolean(body.transient);
    if (parsed === undefined) return { ok: false, detail: "transient: Must be a valid boolean." };
    transient = parsed;
  }

  const traits: IncomingTrait[] = [];
  const rawTraits = body.traits;
  if (rawTraits !== undefined && rawTraits !== null) {
    if (!Array.isArray(rawTraits)) return { ok: false, detail: "traits: Expected a list of items." };
    for (const [index, item] of rawTraits.entries()) {
      const at = `traits[${index}]`;
      if (!isPlainObject(item)) return { ok: false, detail: `${at}: Expected an object with trait_key and trait_value.` };
      const rawKey = item.trait_key;
      if (rawKey === undefined || rawKey === null) return { ok: false, detail: `${at}.trait_key: This field is required.` };
      if (typeof rawKey !== "string" && typeof rawKey !== "number") return { ok: false, detail: `${at}.trait_key: Not a valid string.` };
      const key = String(rawKey);
      if (key.trim().length === 0) return { ok: false, detail: `${at}.trait_key: This field may not be blank.` };
      if (key.length > MAX_TRAIT_KEY_LENGTH) {
        return { ok: false, detail: `${at}.trait_key: Ensure this field has no more than ${MAX_TRAIT_KEY_LENGTH} characters.` };
      }
      const keyProblem = textProblem(key);
      if (keyProblem) return { ok: false, detail: `${at}.trait_key: ${keyProblem === TEXT_MESSAGES.nul ? NULL_CHARACTERS : `${keyProblem}.`}` };
      const value = coerceTraitValue(item.trait_value);
      if (!value.ok) return { ok: false, detail: `${at}.trait_value: ${value.detail}` };
      let traitTransient = false;
      if (item.transient !== undefined && item.transient !== null) {
        const parsed = parseBoolean(item.transient);
        if (parsed === undefined) return { ok: false, detail: `${at}.transient: Must be a valid boolean.` };
        traitTransient = parsed;
      }
      traits.push({ key, value: value.value, transient: traitTransient });
    }
  }
  return { ok: true, value: { identifier: identifier.value, traits, transient } };
}

/** Python `str()` of a trait value, as Flagsmith's transient identifier hashes it. */
function pyStr(value: Exclude<TraitValue, null>): string {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "True" : "False";
  return Number.isInteger(value) ? pyIntStr(value) : pyFloatRepr(value);
}

/**
 * Flagsmith's `get_transient_identifier`: sha256 hex of the traits' `<key><value>` concatenated in
 * key order (null values left out), or a random uuid4 hex without traits.
 */
export function transientIdentifier(traits: readonly IncomingTrait[]): string {
  const present = traits.filter((trait) => trait.value !== null);
  if (present.length === 0) return randomUUID().replaceAll("-", "");
  const sorted = [...present].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const text = sorted.map((trait) => `${trait.key}${pyStr(trait.value as Exclude<TraitValue, null>)}`).join("");
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Last occurrence of each key wins (as in Flagsmith and NODE). */
export function dedupeTraits(traits: readonly IncomingTrait[]): IncomingTrait[] {
  const byKey = new Map<string, IncomingTrait>();
  for (const trait of traits) {
    byKey.delete(trait.key);
    byKey.set(trait.key, trait);
  }
  return [...byKey.values()];
}

export function markTransient(traits: readonly IncomingTrait[]): IncomingTrait[] {
  return traits.map((trait) => (trait.transient ? trait : { ...trait, transient: true }));
}

export interface StoredTrait {
  key: string;
  value: TraitValue;
}

export interface EffectiveTrait {
  key: string;
  value: Exclude<TraitValue, null>;
  transient: boolean;
}

export interface TraitPlan {
  /** New or changed values to write (unchanged ones are not rewritten). */
  upserts: StoredTrait[];
  /** Stored keys to delete (null values). */
  deletes: string[];
  /** The traits of this evaluation and response: stored traits overlaid with the incoming ones. */
  effective: EffectiveTrait[];
}

/**
 * What an identify request does to traits. `persist`: whether non-transient incoming traits are
 * written (a persisted identity in an organisation with `persist_trait_data`).
 */
export function planTraits(stored: readonly StoredTrait[], incoming: readonly IncomingTrait[], options: { persist: boolean }): TraitPlan {
  const storedByKey = new Map<string, TraitValue>();
  const effective = new Map<string, EffectiveTrait>();
  for (const trait of stored) {
    storedByKey.set(trait.key, trait.value);
    if (trait.value !== null) effective.set(trait.key, { key: trait.key, value: trait.value, transient: false });
  }
  const upserts: StoredTrait[] = [];
  const deletes: string[] = [];
  for (const trait of dedupeTraits(incoming)) {
    const writes = options.persist && !trait.transient;
    if (trait.value === null) {
      effective.delete(trait.key);
      if (writes && storedByKey.has(trait.key)) deletes.push(trait.key);
      continue;
    }
    effective.set(trait.key, { key: trait.key, value: trait.value, transient: trait.transient });
    if (writes && (!storedByKey.has(trait.key) || storedByKey.get(trait.key) !== trait.value)) {
      upserts.push({ key: trait.key, value: trait.value });
    }
  }
  return { upserts, deletes, effective: [...effective.values()] };
}

/** Effective traits as the engine's `identity.traits`. */
export function traitsForEvaluation(traits: readonly EffectiveTrait[]): Record<string, TraitValue> {
  // No prototype: a trait named `__proto__` or `constructor` is just a trait.
  const result = Object.create(null) as Record<string, TraitValue>;
  for (const trait of traits) result[trait.key] = trait.value;
  return result;
}
