/**
 * Environment document → EvaluationContext, modelled on flagsmith-nodejs 8.1.2
 * (`flagsmith-engine/evaluation/evaluationContext/mappers.ts`, NODE below) so that Flagpost's server-side
 * evaluation gives the same flags as the Node SDK's local evaluation of the same document.
 *
 * Split in two so that the SDK endpoints do the expensive part once per document revision:
 * - `buildEnvironmentContext(doc)` — environment, features and segments (cache it per document revision);
 * - `withIdentity(environmentContext, identity, identityOverrides?)` — adds one identity per request (shares
 *   every environment object, so the engine's per-condition caches stay warm).
 *
 * Mapping (NODE):
 * - feature: key = `String(django_id)` (or `featurestate_uuid` without one), value = `feature_state_value`,
 *   variants from `multivariate_feature_state_values` (value = option value, weight = `percentage_allocation`,
 *   priority = MV state value `id`; plus `key` = option key when set — NODE omits it, the engine needs it for
 *   `variant`), metadata `{ id: feature.id }`;
 * - segment: keyed `String(segment.id)`, metadata `{ source: "api", id }`, overrides = the segment's
 *   feature states with `priority = feature_segment.priority`; condition `property_`/`value` null → "";
 * - identity overrides: identities grouped by identical override sets into synthetic segments named
 *   `identity_overrides`, keyed `identity_override_<sha1>`, one ALL rule `$.identity.identifier IN <ids>`,
 *   override priority −∞, metadata `{ source: "identity_override" }`. NODE reads `identity_overrides` whenever
 *   present and ignores `use_identity_overrides_in_local_eval` (Flagsmith already leaves the list empty when
 *   it is false), and so does this mapper.
 */
import { createHash } from "node:crypto";
import type {
  DocCondition,
  DocFeatureState,
  DocIdentityOverride,
  DocIdentityTrait,
  DocRule,
  DocSegment,
  EnvironmentDocument,
} from "./document";
import type {
  EvaluationContext,
  EvaluationResult,
  FeatureContext,
  FeatureVariant,
  FlagValue,
  SegmentCondition,
  SegmentConditionOperator,
  SegmentContext,
  SegmentRule,
  TraitValue,
} from "./types";

/** Feature metadata set by the mapper and echoed into every flag result. */
export interface SdkFeatureMetadata {
  [key: string]: unknown;
  /** `feature.id` of the document. */
  id: number;
}

/** Segment metadata set by the mapper (NODE's `SegmentSource`). */
export interface SdkSegmentMetadata {
  [key: string]: unknown;
  source: "api" | "identity_override";
  /** `segment.id` for `source: "api"`. */
  id?: number;
}

export type SdkFeatureContext = FeatureContext<SdkFeatureMetadata>;
export type SdkSegmentContext = SegmentContext<SdkFeatureMetadata, SdkSegmentMetadata>;
export type SdkEvaluationContext = EvaluationContext<SdkFeatureMetadata, SdkSegmentMetadata>;
export type SdkEvaluationResult = EvaluationResult<SdkFeatureMetadata, SdkSegmentMetadata>;

/** Name of the synthetic segments that carry identity overrides. */
export const IDENTITY_OVERRIDE_SEGMENT_NAME = "identity_overrides";
/** Key of the synthetic segment `withIdentity` adds for the identity's own overrides. */
export const SINGLE_IDENTITY_OVERRIDE_SEGMENT_KEY = "identity_override";

export interface IdentityInput {
  identifier: string;
  /**
   * Hashing key. Leave unset for Flagsmith's default `<environment api_key>_<identifier>` (environments with
   * `use_identity_composite_key_for_hashing`); pass `String(identity id)` for environments without it.
   */
  key?: string | null;
  traits?: Readonly<Record<string, TraitValue>> | null;
}

export interface BuildEnvironmentContextOptions {
  /**
   * Map `doc.identity_overrides` into synthetic segments, as NODE does (default true). The remote SDK
   * endpoints should pass false and hand each request's identity overrides to `withIdentity` instead, so an
   * environment with thousands of overridden identities does not scan them all on every request.
   */
  includeIdentityOverrides?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Feature states

function mapVariants(fs: DocFeatureState): FeatureVariant[] | undefined {
  const values = fs.multivariate_feature_state_values;
  if (!values || values.length === 0) return undefined;
  return values.map((mv) => {
    const option = mv.multivariate_feature_option;
    const variant: FeatureVariant = { value: option.value ?? null, weight: mv.percentage_allocation, priority: mv.id };
    if (typeof option.key === "string" && option.key !== "") variant.key = option.key;
    return variant;
  });
}

/** One document feature state as a FeatureContext; `priority` is omitted when null/undefined. */
export function mapFeatureState(fs: DocFeatureState, priority?: number | null): SdkFeatureContext {
  const context: SdkFeatureContext = {
    key: fs.django_id !== null && fs.django_id !== undefined ? String(fs.django_id) : fs.featurestate_uuid,
    name: fs.feature.name,
    enabled: fs.enabled,
    value: fs.feature_state_value ?? null,
    metadata: { id: fs.feature.id },
  };
  const variants = mapVariants(fs);
  if (variants !== undefined) context.variants = variants;
  if (priority !== null && priority !== undefined) context.priority = priority;
  return context;
}

// ---------------------------------------------------------------------------------------------------------------
// Segments

function mapCondition(condition: DocCondition): SegmentCondition {
  return {
    property: condition.property_ ?? "",
    // Operators outside the schema's enum are kept as they are and never match.
    operator: condition.operator as SegmentConditionOperator,
    value: condition.value ?? "",
  };
}

function mapRule(rule: DocRule): SegmentRule {
  return { type: rule.type, conditions: rule.conditions.map(mapCondition), rules: rule.rules.map(mapRule) };
}

export function mapSegment(segment: DocSegment): SdkSegmentContext {
  const key = String(segment.id);
  return {
    key,
    name: segment.name,
    rules: segment.rules.map(mapRule),
    overrides: segment.feature_states.map((fs) => mapFeatureState(fs, fs.feature_segment?.priority)),
    metadata: { source: "api", id: segment.id },
  };
}

/** An IN value for a list of identifiers: NODE's comma-joined string, or a list when commas would split ids. */
function identifiersInValue(identifiers: readonly string[]): string | string[] {
  const joined = identifiers.join(",");
  const unsafe = identifiers.some((id) => id.includes(",")) || joined.trimStart().startsWith("[");
  return unsafe ? [...identifiers] : joined;
}

function identityOverrideSegment(
  key: string,
  identifiers: readonly string[],
  overrides: SdkFeatureContext[],
): SdkSegmentContext {
  const rule: SegmentRule = {
    type: "ALL",
    conditions: [{ property: "$.identity.identifier", operator: "IN", value: identifiersInValue(identifiers) }],
  };
  return {
    key,
    name: IDENTITY_OVERRIDE_SEGMENT_NAME,
    rules: [rule],
    overrides,
    metadata: { source: "identity_override" },
  };
}

/**
 * NODE's grouping: each identity's overrides are sorted by feature name (`localeCompare`) and hashed (sha1 of
 * their JSON without `key`, in NODE's object shape); identities with equal hashes share one segment, whose
 * overrides are those of the first identity of the group.
 */
export function mapIdentityOverridesToSegments(
  identityOverrides: readonly DocIdentityOverride[],
): Record<string, SdkSegmentContext> {
  const groups = new Map<string, { identifiers: string[]; overrides: SdkFeatureContext[] }>();
  for (const identity of identityOverrides) {
    const features = identity.identity_features;
    if (!features || features.length === 0) continue;
    const sorted = [...features].sort((a, b) => a.feature.name.localeCompare(b.feature.name));
    const hashInput = sorted.map((fs) => ({
      name: fs.feature.name,
      enabled: fs.enabled,
      value: fs.feature_state_value,
      variants:
        fs.multivariate_feature_state_values?.length > 0
          ? fs.multivariate_feature_state_values.map((mv) => ({
              value: mv.multivariate_feature_option.value,
              weight: mv.percentage_allocation,
              priority: mv.id,
            }))
          : undefined,
      priority: -Infinity, // serialised as null, exactly as NODE's JSON.stringify does
      metadata: { id: fs.feature.id },
    }));
    const hash = createHash("sha1").update(JSON.stringify(hashInput)).digest("hex");
    let group = groups.get(hash);
    if (group === undefined) {
      group = { identifiers: [], overrides: sorted.map((fs) => mapFeatureState(fs, -Infinity)) };
      groups.set(hash, group);
    }
    group.identifiers.push(identity.identifier);
  }
  const segments: Record<string, SdkSegmentContext> = {};
  for (const [hash, { identifiers, overrides }] of groups) {
    const key = `identity_override_${hash}`;
    segments[key] = identityOverrideSegment(key, identifiers, overrides);
  }
  return segments;
}

// ---------------------------------------------------------------------------------------------------------------
// Contexts

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * The environment part of the context: environment, features (keyed by feature name) and segments (keyed by
 * segment id, plus identity-override segments unless disabled). Deeply frozen: the engine caches data derived
 * from these objects, so they must never change. Compute once per document revision.
 */
export function buildEnvironmentContext(
  doc: EnvironmentDocument,
  options: BuildEnvironmentContextOptions = {},
): SdkEvaluationContext {
  const features: Record<string, SdkFeatureContext> = {};
  for (const fs of doc.feature_states) features[fs.feature.name] = mapFeatureState(fs, fs.feature_segment?.priority);

  const segments: Record<string, SdkSegmentContext> = {};
  for (const segment of doc.project.segments) segments[String(segment.id)] = mapSegment(segment);
  if ((options.includeIdentityOverrides ?? true) && doc.identity_overrides && doc.identity_overrides.length > 0) {
    Object.assign(segments, mapIdentityOverridesToSegments(doc.identity_overrides));
  }

  return deepFreeze({ environment: { key: doc.api_key, name: doc.name }, features, segments });
}

/**
 * The environment context plus one identity. `traits` are used as given (merging stored and request traits is
 * the caller's job). `identityOverrides`, when given, are this identity's own override feature states (e.g. the
 * `identity_features` of its identity document): they are added as one synthetic `identity_overrides` segment
 * with priority −∞ that matches only this identifier, so they beat every segment override. Do not pass them
 * when `environmentContext` was built with `includeIdentityOverrides` (the default) and already contains them.
 *
 * Cost: two small objects, plus a shallow copy of the segments record when there are overrides.
 */
export function withIdentity(
  environmentContext: SdkEvaluationContext,
  identity: IdentityInput,
  identityOverrides?: readonly DocFeatureState[],
): SdkEvaluationContext {
  const identityContext: NonNullable<SdkEvaluationContext["identity"]> = {
    identifier: identity.identifier,
    traits: identity.traits ?? {},
  };
  if (identity.key) identityContext.key = identity.key;

  let segments = environmentContext.segments;
  if (identityOverrides && identityOverrides.length > 0) {
    const overrides = identityOverrides.map((fs) => mapFeatureState(fs, -Infinity));
    segments = {
      ...segments,
      [SINGLE_IDENTITY_OVERRIDE_SEGMENT_KEY]: identityOverrideSegment(
        SINGLE_IDENTITY_OVERRIDE_SEGMENT_KEY,
        [identity.identifier],
        overrides,
      ),
    };
  }
  return { environment: environmentContext.environment, features: environmentContext.features, segments, identity: identityContext };
}

/**
 * NODE's `getEvaluationContext(environment, identity)` in one call: the whole document (including all its
 * identity overrides) plus the identity, if any. Prefer `buildEnvironmentContext` + `withIdentity` on hot paths.
 */
export function environmentDocumentToContext(doc: EnvironmentDocument, identity?: IdentityInput): SdkEvaluationContext {
  const environmentContext = buildEnvironmentContext(doc);
  return identity ? withIdentity(environmentContext, identity) : environmentContext;
}

/** Identifier → that identity's override feature states, from `doc.identity_overrides` (once per revision). */
export function indexIdentityOverrides(doc: EnvironmentDocument): Map<string, readonly DocFeatureState[]> {
  const index = new Map<string, readonly DocFeatureState[]>();
  for (const identity of doc.identity_overrides ?? []) {
    if (identity.identity_features && identity.identity_features.length > 0) {
      index.set(identity.identifier, identity.identity_features);
    }
  }
  return index;
}

/** Trait list (`[{trait_key, trait_value}]`) → `identity.traits`; later entries win, as in NODE. */
export function mapTraits(traits: readonly Pick<DocIdentityTrait, "trait_key" | "trait_value">[]): Record<string, TraitValue> {
  const result: Record<string, TraitValue> = {};
  for (const trait of traits) result[trait.trait_key] = trait.trait_value;
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Results → SDK flags

/** What the SDK endpoints need per evaluated flag to build Flagsmith's API flag objects. */
export interface SdkFlag {
  /** `feature.id` of the document (join key for the API's `feature` object). */
  featureId: number;
  featureName: string;
  enabled: boolean;
  /** `feature_state_value`. */
  value: FlagValue;
  /** Multivariate variant key, `"control"`, or null (see FlagResult.variant). */
  variant: string | null;
  reason: string;
}

/**
 * The flags of a result produced from a mapper context, in feature order. Throws if a flag lacks the
 * `{ id }` metadata the mapper sets (i.e. the context did not come from this module).
 */
export function toSdkFlags(result: SdkEvaluationResult): SdkFlag[] {
  const flags: SdkFlag[] = [];
  for (const flag of Object.values(result.flags)) {
    const featureId = flag.metadata?.id;
    if (typeof featureId !== "number") throw new TypeError(`flag "${flag.name}" has no feature id metadata`);
    flags.push({
      featureId,
      featureName: flag.name,
      enabled: flag.enabled,
      value: flag.value,
      variant: flag.variant,
      reason: flag.reason,
    });
  }
  return flags;
}
