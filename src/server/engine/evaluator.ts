/**
 * `getEvaluationResult`: Flagsmith's context-based engine (ENG `flag_engine/segments/evaluator.py`,
 * ../shared/reference/flagsmith-compat.md §4.2–§4.9). Pure: no I/O, no global mutable state that can change a
 * result (only WeakMap caches of data derived from the context's own objects).
 */
import { conditionMatches, type ConditionScope } from "./conditions";
import { getHashedPercentageForPair } from "./hashing";
import { pyNumberStr } from "./python";
import type {
  EnvironmentContext,
  EvaluationContext,
  EvaluationResult,
  FeatureContext,
  FeatureVariant,
  FlagResult,
  IdentityContext,
  Metadata,
  SegmentContext,
  SegmentResult,
  SegmentRule,
} from "./types";

/** The variant reported when an identity falls in a multivariate feature's remainder (control value). */
export const CONTROL_VARIANT = "control";

/**
 * The identity key used for hashing: `identity.key`, or `<environment.key>_<identifier>` when it is unset or
 * empty (ENG `get_enriched_context`); null without an identity.
 */
export function getIdentityKey(context: EvaluationContext<Metadata, Metadata>): string | null {
  return context.identity ? identityKeyOf(context.environment, context.identity) : null;
}

function identityKeyOf(environment: EnvironmentContext, identity: IdentityContext): string {
  return identity.key ? identity.key : `${environment.key}_${identity.identifier}`;
}

function buildScope(context: EvaluationContext<Metadata, Metadata>): ConditionScope {
  const identity = context.identity;
  if (!identity) return { context, traits: null, identityKey: null };
  const identityKey = identityKeyOf(context.environment, identity);
  // JSONPath queries ($.identity.key) must see the enriched key, so build the enriched view when it is missing.
  const enriched = identity.key === identityKey ? context : { ...context, identity: { ...identity, key: identityKey } };
  return { context: enriched, traits: identity.traits ?? null, identityKey };
}

// ---------------------------------------------------------------------------------------------------------------
// Segments

/**
 * A rule matches iff its conditions, combined with its quantifier, match and its sub-rules, combined with the
 * same quantifier, match (empty lists match). Short-circuits; unknown rule types never match.
 */
function ruleMatches(rule: SegmentRule, segmentKey: string, scope: ConditionScope): boolean {
  const type = rule.type;
  if (type !== "ALL" && type !== "ANY" && type !== "NONE") return false;
  const conditions = rule.conditions;
  if (conditions && conditions.length > 0) {
    let matched: boolean;
    if (type === "ALL") {
      matched = true;
      for (let i = 0; i < conditions.length && matched; i++) matched = conditionMatches(conditions[i], segmentKey, scope);
    } else {
      let any = false;
      for (let i = 0; i < conditions.length && !any; i++) any = conditionMatches(conditions[i], segmentKey, scope);
      matched = type === "ANY" ? any : !any;
    }
    if (!matched) return false;
  }
  const rules = rule.rules;
  if (rules && rules.length > 0) {
    // Since ENG 10.1.0 sub-rules are combined with the rule's own quantifier.
    if (type === "ALL") {
      for (let i = 0; i < rules.length; i++) if (!ruleMatches(rules[i], segmentKey, scope)) return false;
      return true;
    }
    let any = false;
    for (let i = 0; i < rules.length && !any; i++) any = ruleMatches(rules[i], segmentKey, scope);
    return type === "ANY" ? any : !any;
  }
  return true;
}

/** A segment matches iff it has at least one rule and all its rules match. */
function segmentMatches(segment: SegmentContext<Metadata, Metadata>, scope: ConditionScope): boolean {
  const rules = segment.rules;
  if (!rules || rules.length === 0) return false;
  for (let i = 0; i < rules.length; i++) if (!ruleMatches(rules[i], segment.key, scope)) return false;
  return true;
}

/**
 * Whether the context (with its identity, if any) belongs to `segment`. Exposed for callers that need segment
 * membership only (e.g. the identities endpoint's `segments` list).
 */
export function isContextInSegment<FM extends Metadata, SM extends Metadata>(
  context: EvaluationContext<FM, SM>,
  segment: SegmentContext<FM, SM>,
): boolean {
  return segmentMatches(segment, buildScope(context));
}

// ---------------------------------------------------------------------------------------------------------------
// Features

const sortedVariantsCache = new WeakMap<readonly FeatureVariant[], readonly FeatureVariant[]>();

function priorityOf(variant: FeatureVariant): number {
  return variant.priority ?? Infinity;
}

/** Variants in ascending priority (stable). Cached per array; already-sorted arrays are used as they are. */
function sortedVariants(variants: readonly FeatureVariant[]): readonly FeatureVariant[] {
  let sorted = sortedVariantsCache.get(variants);
  if (sorted === undefined) {
    let isSorted = true;
    for (let i = 1; i < variants.length && isSorted; i++) isSorted = priorityOf(variants[i - 1]) <= priorityOf(variants[i]);
    sorted = isSorted ? variants : [...variants].sort((a, b) => priorityOf(a) - priorityOf(b) || 0);
    sortedVariantsCache.set(variants, sorted);
  }
  return sorted;
}

/** Python truthiness of the metadata dict: only non-empty metadata is echoed. */
function hasMetadata(metadata: Metadata | undefined): boolean {
  if (metadata === undefined || metadata === null) return false;
  for (const key in metadata) if (Object.hasOwn(metadata, key)) return true;
  return false;
}

function flagResult<FM extends Metadata>(
  feature: FeatureContext<FM>,
  reason: string,
  identityKey: string | null,
): FlagResult<FM> {
  let value = feature.value;
  let variant: string | null = null;
  const variants = feature.variants;
  if (identityKey !== null && variants && variants.length > 0) {
    const percentage = getHashedPercentageForPair(feature.key, identityKey);
    variant = CONTROL_VARIANT; // unless a variant's range [start, start + weight) contains the percentage
    let start = 0;
    for (const candidate of sortedVariants(variants)) {
      const limit = start + candidate.weight;
      if (start <= percentage && percentage < limit) {
        value = candidate.value;
        variant = candidate.key ?? null;
        reason = `SPLIT; weight=${pyNumberStr(candidate.weight)}`;
        break;
      }
      start = limit;
    }
  }
  const result: FlagResult<FM> = { name: feature.name, enabled: feature.enabled, value, reason, variant };
  if (hasMetadata(feature.metadata)) result.metadata = feature.metadata;
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point

/**
 * Evaluates every feature of the context for its identity (if any):
 * 1. segments are evaluated in context order (also without an identity, as in the Python engine: conditions
 *    on `$.environment.name` or IS_NOT_SET can match);
 * 2. per feature name the matched override with the lowest `priority` wins (missing = +∞, ties keep the first
 *    seen); identity overrides carry −∞;
 * 3. the flag is the winning override (`TARGETING_MATCH; segment=<name>`) or the default (`DEFAULT`), then
 *    multivariate allocation applies to whichever feature context won.
 */
export function getEvaluationResult<FM extends Metadata = Metadata, SM extends Metadata = Metadata>(
  context: EvaluationContext<FM, SM>,
): EvaluationResult<FM, SM> {
  const scope = buildScope(context);
  const segments: SegmentResult<SM>[] = [];
  // Feature name → winning override so far (allocated only when a matched segment has overrides).
  let winners: Map<string, { override: FeatureContext<FM>; segmentName: string }> | undefined;

  if (context.segments) {
    for (const segment of Object.values(context.segments)) {
      if (!segmentMatches(segment, scope)) continue;
      const segmentResult: SegmentResult<SM> = { name: segment.name };
      if (hasMetadata(segment.metadata)) segmentResult.metadata = segment.metadata;
      segments.push(segmentResult);

      const overrides = segment.overrides;
      if (!overrides || overrides.length === 0) continue;
      winners ??= new Map();
      for (const override of overrides) {
        const current = winners.get(override.name);
        if (current === undefined || (override.priority ?? Infinity) < (current.override.priority ?? Infinity)) {
          winners.set(override.name, { override, segmentName: segment.name });
        }
      }
    }
  }

  const flags: Record<string, FlagResult<FM>> = {};
  if (context.features) {
    for (const feature of Object.values(context.features)) {
      const winner = winners?.get(feature.name);
      flags[feature.name] =
        winner === undefined
          ? flagResult(feature, "DEFAULT", scope.identityKey)
          : flagResult(winner.override, `TARGETING_MATCH; segment=${winner.segmentName}`, scope.identityKey);
    }
  }

  return { flags, segments };
}

/**
 * Returns an evaluator bound to one environment context (features + segments, no identity), for evaluating
 * many identities against the same environment. It warms the per-condition and per-variant caches up front, so
 * every call only evaluates. Equivalent to `getEvaluationResult({ ...environmentContext, identity })`.
 */
export function createEvaluator<FM extends Metadata = Metadata, SM extends Metadata = Metadata>(
  environmentContext: EvaluationContext<FM, SM>,
): (identity: EvaluationContext<FM, SM>["identity"]) => EvaluationResult<FM, SM> {
  const { environment, features, segments } = environmentContext;
  // Pre-sort the variants now; conditions compile lazily on first use and stay cached for every later call.
  for (const feature of Object.values(features ?? {})) if (feature.variants) sortedVariants(feature.variants);
  for (const segment of Object.values(segments ?? {}))
    for (const override of segment.overrides ?? []) if (override.variants) sortedVariants(override.variants);
  return (identity) => getEvaluationResult<FM, SM>({ environment, features, segments, identity });
}
