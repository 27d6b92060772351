/**
 * Validation of a Flagsmith environment document for import (pure: no database, no I/O).
 *
 * Lenient where real Flagsmith documents are: legacy documents lack `featurestate_uuid`,
 * `feature_segment`, `name` and the environment settings; absent arrays are empty; absent settings
 * take Flagsmith's defaults. Strict where Flagpost could not keep evaluation identical: values must be
 * text, whole numbers, booleans or null (no floats, objects or arrays); segment ids, multivariate ids
 * and hashing seeds must be integers; names must be unique the way Flagpost's tables require.
 *
 * Every problem is reported with the JSON path of its first occurrence (`$.project.segments[2].rules[0].type:
 * expected ALL, ANY or NONE`). A file wrapped as `{"environment": {...}}` (the engine test data's legacy
 * shape) is accepted and its paths start with `$.environment`.
 */
import { z } from "zod";
import type { StoredRule, StoredValue } from "@/server/db/schema";
import { MAX_SEGMENT_REGEX_PROGRAM_SIZE, regexProgramSize, regexRefusal } from "@/server/engine/regex";
import { SEGMENT_CONDITION_OPERATORS } from "@/server/engine/types";
import { badInput } from "@/server/errors";
import { checkAllocations, MAX_STRING_VALUE_LENGTH } from "@/server/features/values";
import { MAX_TRAIT_STRING_LENGTH } from "@/server/identities/values";
import { findTextProblem, fitsIndex, isStorableDate, jsonDepthExceeds, MAX_INDEXED_TEXT_BYTES, MAX_JSON_DEPTH } from "@/server/input";
import { regexBudgetMessage } from "@/server/segments/validation";

export const MAX_NAME_LENGTH = 200;
export const MAX_FEATURE_NAME_LENGTH = 2000;
export const MAX_SEGMENT_NAME_LENGTH = 2000;
export const MAX_IDENTIFIER_LENGTH = 2000;
export const MAX_TRAIT_KEY_LENGTH = 200;
export const MAX_API_KEY_LENGTH = 200;
export const MAX_PROPERTY_LENGTH = 1000;
export const MAX_CONDITION_VALUE_LENGTH = 20_000;
/** Nesting depth of segment rules (Flagsmith's UI uses 2). */
export const MAX_RULE_DEPTH = 32;
const INT4_MAX = 2_147_483_647;

export class DocumentProblem extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = "DocumentProblem";
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Paths

type PathPart = string | number | symbol;

/** `["project", "segments", 2, "rules"]` → `$.project.segments[2].rules`. */
export function jsonPath(parts: readonly PathPart[], root = "$"): string {
  let out = root;
  for (const part of parts) {
    if (typeof part === "number") out += `[${part}]`;
    else if (typeof part === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) out += `.${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

function describeInput(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "an array";
  if (typeof input === "number") return Number.isInteger(input) ? `the number ${input}` : `the decimal number ${input}`;
  if (typeof input === "string") return input.length > 40 ? "a string" : `the string ${JSON.stringify(input)}`;
  if (typeof input === "object") return "an object";
  return typeof input === "boolean" ? String(input) : typeof input;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "an object",
  array: "an array",
  null: "null",
};

// ---------------------------------------------------------------------------------------------------------------
// Schema (structure and types; cross-references are checked afterwards)

const VALUE_MESSAGE = "expected a string, an integer, true/false or null (floats, objects and arrays are not supported)";

/** A typed flag value as Flagpost stores it; absent = null. */
const flagValue = z.unknown().optional().transform((input, ctx): StoredValue => {
  if (input === undefined || input === null) return null;
  if (typeof input === "boolean") return input;
  if (typeof input === "string") {
    if (input.length > MAX_STRING_VALUE_LENGTH) {
      ctx.addIssue({ code: "custom", message: `text values are limited to ${MAX_STRING_VALUE_LENGTH} characters` });
      return z.NEVER;
    }
    return input;
  }
  if (typeof input === "number" && Number.isSafeInteger(input)) return input;
  ctx.addIssue({ code: "custom", message: `${VALUE_MESSAGE}, got ${describeInput(input)}` });
  return z.NEVER;
});

const traitValue = z.unknown().optional().transform((input, ctx): StoredValue => {
  if (input === undefined || input === null) return null;
  if (typeof input === "boolean") return input;
  if (typeof input === "number" && Number.isFinite(input)) return input;
  if (typeof input === "string" && input.length <= MAX_TRAIT_STRING_LENGTH) return input;
  ctx.addIssue({
    code: "custom",
    message: typeof input === "string" ? `trait values are limited to ${MAX_TRAIT_STRING_LENGTH} characters` : `expected a string, a number, true/false or null, got ${describeInput(input)}`,
  });
  return z.NEVER;
});

/** Absent or null → fallback. */
const bool = (fallback: boolean) =>
  z
    .boolean()
    .nullish()
    .transform((v) => v ?? fallback);
const list = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((v) => v ?? []);
const nonEmpty = (max: number) => z.string().min(1, "must not be empty").max(max, `at most ${max} characters`);
/** Text in a btree index (`lowercased`: a `lower(…)` index): also at most MAX_INDEXED_TEXT_BYTES of UTF-8. */
const indexed = (max: number, lowercased: boolean) =>
  nonEmpty(max).refine((value) => fitsIndex(value, { lowercased }), `at most ${MAX_INDEXED_TEXT_BYTES} bytes (UTF-8)`);
const uuidLike = z
  .unknown()
  .optional()
  .transform((v) => (typeof v === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v) ? v.toLowerCase() : null));
const safeInt = z.number().int("expected an integer").min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

const featureSchema = z.object({
  id: safeInt,
  name: indexed(MAX_FEATURE_NAME_LENGTH, true),
  type: z
    .enum(["STANDARD", "MULTIVARIATE"], { error: "expected STANDARD or MULTIVARIATE" })
    .nullish()
    .transform((v) => v ?? "STANDARD"),
});

const optionSchema = z.object({
  id: safeInt.nullish().transform((v) => v ?? null),
  value: flagValue,
  key: z
    .string()
    .max(MAX_NAME_LENGTH, `at most ${MAX_NAME_LENGTH} characters`)
    .nullish()
    .transform((v) => (v === undefined || v === null || v === "" ? null : v)),
});

const mvValueSchema = z.object({
  id: safeInt,
  mv_fs_value_uuid: uuidLike,
  percentage_allocation: z.number().min(0, "must be between 0 and 100").max(100, "must be between 0 and 100"),
  multivariate_feature_option: optionSchema,
});

const featureStateSchema = z.object({
  feature: featureSchema,
  enabled: z.boolean(),
  django_id: safeInt.nullish().transform((v) => v ?? null),
  featurestate_uuid: uuidLike,
  feature_state_value: flagValue,
  feature_segment: z
    .object({
      priority: z.number().int("expected an integer").min(-INT4_MAX, "out of range").max(INT4_MAX, "out of range").nullish().transform((v) => v ?? null),
    })
    .nullish()
    .transform((v) => v ?? null),
  multivariate_feature_state_values: list(mvValueSchema),
});

const conditionSchema = z.object({
  operator: z.enum(SEGMENT_CONDITION_OPERATORS, { error: `expected one of ${SEGMENT_CONDITION_OPERATORS.join(", ")}` }),
  property_: z
    .string()
    .max(MAX_PROPERTY_LENGTH, `at most ${MAX_PROPERTY_LENGTH} characters`)
    .nullish()
    .transform((v) => v ?? null),
  value: z
    .string({ error: "expected a string or null" })
    .max(MAX_CONDITION_VALUE_LENGTH, `at most ${MAX_CONDITION_VALUE_LENGTH} characters`)
    .nullish()
    .transform((v) => v ?? null),
});

interface RuleOut {
  type: "ALL" | "ANY" | "NONE";
  conditions: z.output<typeof conditionSchema>[];
  rules: RuleOut[];
}

const ruleSchema: z.ZodType<RuleOut> = z.lazy(() =>
  z.object({
    type: z.enum(["ALL", "ANY", "NONE"], { error: "expected ALL, ANY or NONE" }),
    conditions: list(conditionSchema),
    rules: list(ruleSchema),
  }),
);

const segmentSchema = z.object({
  id: z.number().int("expected an integer").min(1, "must be positive").max(INT4_MAX, "out of range"),
  name: indexed(MAX_SEGMENT_NAME_LENGTH, true),
  rules: list(ruleSchema),
  feature_states: list(featureStateSchema),
});

const identityOverrideSchema = z.object({
  identifier: indexed(MAX_IDENTIFIER_LENGTH, false),
  django_id: safeInt.nullish().transform((v) => v ?? null),
  identity_uuid: uuidLike,
  created_date: z.unknown().optional().transform((v) => {
    if (typeof v !== "string") return null;
    const date = new Date(v);
    return isStorableDate(date) ? date : null;
  }),
  identity_traits: list(
    z.object({
      trait_key: indexed(MAX_TRAIT_KEY_LENGTH, false),
      trait_value: traitValue,
    }),
  ),
  identity_features: list(featureStateSchema),
});

const documentSchema = z.object({
  id: z.unknown().optional(),
  api_key: z
    .string()
    .min(1, "must not be empty")
    .max(MAX_API_KEY_LENGTH, `at most ${MAX_API_KEY_LENGTH} characters`)
    .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
    .refine((key) => !key.startsWith("ser."), "a client key cannot start with ser. (that prefix marks server-side keys)"),
  name: z
    .string()
    .max(MAX_NAME_LENGTH, `at most ${MAX_NAME_LENGTH} characters`)
    .nullish()
    .transform((v) => (v && v.trim() ? v.trim() : null)),
  allow_client_traits: bool(true),
  hide_sensitive_data: bool(false),
  hide_disabled_flags: z
    .boolean()
    .nullish()
    .transform((v) => v ?? null),
  use_identity_composite_key_for_hashing: bool(true),
  use_identity_overrides_in_local_eval: bool(true),
  project: z.object({
    id: z.unknown().optional(),
    name: z
      .string()
      .max(MAX_NAME_LENGTH, `at most ${MAX_NAME_LENGTH} characters`)
      .nullish()
      .transform((v) => (v && v.trim() ? v.trim() : null)),
    hide_disabled_flags: bool(false),
    enable_realtime_updates: bool(false),
    server_key_only_feature_ids: list(safeInt),
    organisation: z
      .object({
        name: z
          .string()
          .max(MAX_NAME_LENGTH, `at most ${MAX_NAME_LENGTH} characters`)
          .nullish()
          .transform((v) => (v && v.trim() ? v.trim() : null)),
        persist_trait_data: bool(true),
        feature_analytics: bool(false),
        stop_serving_flags: bool(false),
      })
      .nullish()
      .transform((v) => v ?? null),
    segments: list(segmentSchema),
  }),
  feature_states: list(featureStateSchema),
  identity_overrides: list(identityOverrideSchema),
});

export type ParsedDocument = z.output<typeof documentSchema>;
export type ParsedFeatureState = z.output<typeof featureStateSchema>;
export type ParsedSegment = z.output<typeof segmentSchema>;
export type ParsedIdentityOverride = z.output<typeof identityOverrideSchema>;
export type ParsedOption = z.output<typeof optionSchema>;

function issueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === "invalid_type") {
    const expected = EXPECTED[issue.expected] ?? issue.expected;
    return issue.input === undefined ? `required (expected ${expected})` : `expected ${expected}, got ${describeInput(issue.input)}`;
  }
  if (issue.code === "unrecognized_keys") return undefined;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Cross-reference checks

/** Identity of a multivariate option inside one feature: the document's option id, else value + key. */
export function optionIdentity(option: ParsedOption): string {
  return option.id !== null ? `id:${option.id}` : `value:${JSON.stringify([option.value, option.key])}`;
}

function sameValue(a: StoredValue, b: StoredValue): boolean {
  return a === b;
}

/** Returns the sum of the RE2 program sizes of the REGEX conditions met (the segment's budget is checked by the caller). */
function checkRules(rules: RuleOut[], path: PathPart[], depth: number, segment: { id: number; name: string }): number {
  let regexSize = 0;
  rules.forEach((rule, index) => {
    const rulePath = [...path, index];
    if (depth > MAX_RULE_DEPTH) throw new DocumentProblem(jsonPath(rulePath), `rules are nested more than ${MAX_RULE_DEPTH} levels deep`);
    rule.conditions.forEach((condition, conditionIndex) => {
      // A REGEX Python accepts but the linear-time engine cannot express (backreferences, lookarounds, …) is
      // refused, as when a segment is saved. One Python cannot compile is kept: it never matches, as in Flagsmith.
      if (condition.operator !== "REGEX" || condition.value === null) return;
      const refusal = regexRefusal(condition.value);
      if (refusal?.kind === "unsupported") {
        throw new DocumentProblem(jsonPath([...rulePath, "conditions", conditionIndex, "value"]), `segment "${segment.name}" (id ${segment.id}): ${refusal.message}`);
      }
      regexSize += regexProgramSize(condition.value) ?? 0;
    });
    regexSize += checkRules(rule.rules, [...rulePath, "rules"], depth + 1, segment);
  });
  return regexSize;
}

interface FeatureInfo {
  id: number;
  name: string;
  path: string;
}

function checkDocument(doc: ParsedDocument): void {
  // Environment defaults: one per feature; names unique case-insensitively (as Flagpost's index requires).
  const byId = new Map<number, FeatureInfo>();
  const byName = new Map<string, FeatureInfo>();
  doc.feature_states.forEach((state, index) => {
    const path = jsonPath(["feature_states", index, "feature"]);
    const sameId = byId.get(state.feature.id);
    if (sameId) throw new DocumentProblem(`${path}.id`, `feature ${state.feature.id} has two environment defaults (also at ${sameId.path})`);
    const lower = state.feature.name.toLowerCase();
    const sameName = byName.get(lower);
    if (sameName) throw new DocumentProblem(`${path}.name`, `feature name "${state.feature.name}" is used twice (also at ${sameName.path}; names are case-insensitive)`);
    const info = { id: state.feature.id, name: state.feature.name, path };
    byId.set(info.id, info);
    byName.set(lower, info);
  });

  // Options per feature: an option id always carries the same value and key; keys are unique per feature.
  const options = new Map<number, Map<string, { value: StoredValue; key: string | null; path: string }>>();
  const checkState = (state: ParsedFeatureState, path: PathPart[]) => {
    const featurePath = jsonPath([...path, "feature"]);
    const feature = byId.get(state.feature.id);
    if (!feature) {
      throw new DocumentProblem(featurePath, `feature ${state.feature.id} ("${state.feature.name}") has no environment default in $.feature_states`);
    }
    if (feature.name !== state.feature.name) {
      throw new DocumentProblem(`${featurePath}.name`, `expected "${feature.name}" (the name of feature ${feature.id} at ${feature.path})`);
    }
    const values = state.multivariate_feature_state_values;
    if (values.length > 0 && state.django_id === null) {
      throw new DocumentProblem(jsonPath([...path, "django_id"]), "required for a multivariate state (it seeds the variant hashing)");
    }
    const problem = checkAllocations(values.map((v) => v.percentage_allocation));
    if (problem) throw new DocumentProblem(jsonPath([...path, "multivariate_feature_state_values"]), problem[0].toLowerCase() + problem.slice(1));
    const seenIds = new Map<number, number>();
    const seenOptions = new Map<string, number>();
    const featureOptions = options.get(feature.id) ?? new Map<string, { value: StoredValue; key: string | null; path: string }>();
    options.set(feature.id, featureOptions);
    values.forEach((value, index) => {
      const valuePath = [...path, "multivariate_feature_state_values", index];
      const previous = seenIds.get(value.id);
      if (previous !== undefined) throw new DocumentProblem(jsonPath([...valuePath, "id"]), `duplicate id ${value.id} (also at index ${previous})`);
      seenIds.set(value.id, index);
      const option = value.multivariate_feature_option;
      const identity = optionIdentity(option);
      const optionPath = jsonPath([...valuePath, "multivariate_feature_option"]);
      const twice = seenOptions.get(identity);
      if (twice !== undefined) throw new DocumentProblem(optionPath, `this option is allocated twice in one feature state (also at index ${twice})`);
      seenOptions.set(identity, index);
      const known = featureOptions.get(identity);
      if (known) {
        if (!sameValue(known.value, option.value) || known.key !== option.key) {
          throw new DocumentProblem(optionPath, `option ${option.id} differs from the same option at ${known.path}`);
        }
      } else {
        if (option.key !== null) {
          for (const other of featureOptions.values()) {
            if (other.key === option.key) throw new DocumentProblem(`${optionPath}.key`, `variant key "${option.key}" is used by another option of this feature (at ${other.path})`);
          }
        }
        featureOptions.set(identity, { value: option.value, key: option.key, path: optionPath });
      }
    });
  };

  doc.feature_states.forEach((state, index) => checkState(state, ["feature_states", index]));

  const segmentIds = new Map<number, string>();
  const segmentNames = new Map<string, string>();
  doc.project.segments.forEach((segment, index) => {
    const path = ["project", "segments", index];
    const here = jsonPath(path);
    const sameId = segmentIds.get(segment.id);
    if (sameId) throw new DocumentProblem(jsonPath([...path, "id"]), `duplicate segment id ${segment.id} (also at ${sameId})`);
    segmentIds.set(segment.id, here);
    const lower = segment.name.toLowerCase();
    const sameName = segmentNames.get(lower);
    if (sameName) throw new DocumentProblem(jsonPath([...path, "name"]), `segment name "${segment.name}" is used twice (also at ${sameName}; names are case-insensitive)`);
    segmentNames.set(lower, here);
    const regexSize = checkRules(segment.rules, [...path, "rules"], 1, segment);
    if (regexSize > MAX_SEGMENT_REGEX_PROGRAM_SIZE) throw new DocumentProblem(jsonPath([...path, "rules"]), `segment "${segment.name}" (id ${segment.id}): ${regexBudgetMessage(regexSize)}`);
    const seen = new Map<number, number>();
    segment.feature_states.forEach((state, stateIndex) => {
      const statePath = [...path, "feature_states", stateIndex];
      const twice = seen.get(state.feature.id);
      if (twice !== undefined) throw new DocumentProblem(jsonPath([...statePath, "feature"]), `this segment overrides feature "${state.feature.name}" twice (also at index ${twice})`);
      seen.set(state.feature.id, stateIndex);
      checkState(state, statePath);
    });
  });

  const identifiers = new Map<string, number>();
  doc.identity_overrides.forEach((identity, index) => {
    const path = ["identity_overrides", index];
    const twice = identifiers.get(identity.identifier);
    if (twice !== undefined) throw new DocumentProblem(jsonPath([...path, "identifier"]), `identity "${identity.identifier}" is listed twice (also at index ${twice})`);
    identifiers.set(identity.identifier, index);
    const seen = new Map<number, number>();
    identity.identity_features.forEach((state, stateIndex) => {
      const statePath = [...path, "identity_features", stateIndex];
      const again = seen.get(state.feature.id);
      if (again !== undefined) throw new DocumentProblem(jsonPath([...statePath, "feature"]), `this identity overrides feature "${state.feature.name}" twice (also at index ${again})`);
      seen.set(state.feature.id, stateIndex);
      checkState(state, statePath);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Entry points

/** `{"environment": {...}}` (the engine test data's legacy file) → the environment document, with its path. */
export function unwrapDocument(input: unknown): { document: unknown; root: string } {
  if (
    typeof input === "object" &&
    input !== null &&
    !Array.isArray(input) &&
    !("api_key" in input) &&
    "environment" in input &&
    typeof (input as { environment: unknown }).environment === "object" &&
    (input as { environment: unknown }).environment !== null
  ) {
    return { document: (input as { environment: unknown }).environment, root: "$.environment" };
  }
  return { document: input, root: "$" };
}

export type ValidationResult = { ok: true; document: ParsedDocument } | { ok: false; path: string; problem: string; message: string };

/** Validates (and normalises) a document; on failure, the first problem with its JSON path. */
export function validateFlagsmithDocument(input: unknown): ValidationResult {
  const { document, root } = unwrapDocument(input);
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    const problem = `expected an environment document (a JSON object), got ${describeInput(document)}`;
    return { ok: false, path: root, problem, message: `${root}: ${problem}` };
  }
  // Before anything recursive (zod's rule schema, JSON printing) walks it; then text the database cannot store.
  if (jsonDepthExceeds(document, MAX_JSON_DEPTH)) {
    const problem = `the document is nested more than ${MAX_JSON_DEPTH} levels deep`;
    return { ok: false, path: root, problem, message: `${root}: ${problem}` };
  }
  const badText = findTextProblem(document);
  if (badText) {
    const path = jsonPath(badText.path, root);
    const problem = badText.problem.charAt(0).toLowerCase() + badText.problem.slice(1);
    return { ok: false, path, problem, message: `${path}: ${problem}` };
  }
  const parsed = documentSchema.safeParse(document, { error: issueMessage });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = jsonPath(issue.path, root);
    return { ok: false, path, problem: issue.message, message: `${path}: ${issue.message}` };
  }
  try {
    checkDocument(parsed.data);
  } catch (error) {
    if (error instanceof DocumentProblem) {
      const path = root === "$" ? error.path : root + error.path.slice(1);
      return { ok: false, path, problem: error.problem, message: `${path}: ${error.problem}` };
    }
    throw error;
  }
  return { ok: true, document: parsed.data };
}

/** Like `validateFlagsmithDocument`, throwing BAD_REQUEST (field `document`, message `<path>: <problem>`). */
export function parseFlagsmithDocument(input: unknown): ParsedDocument {
  const result = validateFlagsmithDocument(input);
  if (!result.ok) throw badInput(result.message, "document");
  return result.document;
}

/** Rules as stored (`property` for the document's `property_`). */
export function toStoredRules(rules: RuleOut[]): StoredRule[] {
  return rules.map((rule) => ({
    type: rule.type,
    conditions: rule.conditions.map((c) => ({ operator: c.operator, property: c.property_, value: c.value })),
    rules: toStoredRules(rule.rules),
  }));
}
