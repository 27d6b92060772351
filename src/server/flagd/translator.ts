/**
 * Flagsmith environment document → OpenFeature flagd flag-definition document (+ diagnostics). Pure: no I/O.
 *
 * ============================================================================================================
 * How Flagsmith's (enabled, value) maps to flagd
 * ============================================================================================================
 * Flagsmith evaluates every feature to a pair (enabled, value); flagd serves one value per flag (or none) and has
 * no per-evaluation "enabled". The mapping, applied to every outcome of a flag (the environment default, each
 * segment override, each identity override, each multivariate bucket):
 *
 *   Flagsmith outcome                      flagd resolution
 *   -------------------------------------  ---------------------------------------------------------------------
 *   enabled, value v (not null)            value v, variant = its key, reason TARGETING_MATCH (or STATIC)
 *   enabled, value null                    no value (reason DEFAULT, no variant: the caller's default)      [1]
 *   disabled (any value)                   no value: reason DISABLED when the flag is disabled for everyone
 *                                          (`state: DISABLED`), otherwise reason DEFAULT without a variant
 *
 *   [1] except "switch" flags, whose values are all null (plain on/off features): they become boolean flags
 *       with the single variant `control: true`, so enabled → true and disabled → the caller's default.
 *
 * So for a flagd consumer: "a value was returned" ⇔ "the feature is enabled for this context (with a value)".
 * Per-branch enabled/disabled is encoded by returning a variant key or `null` from the targeting; a flag with any
 * "no value" outcome therefore has `defaultVariant: null` (flagd ≥ 0.14; older daemons answer FLAG_NOT_FOUND).
 * The value of a disabled Flagsmith flag is not exposed (as OpenFeature providers treat disabled flags).
 *
 * Value types: flagd requires all variants of a flag to share one JSON type. Flags whose served values are all
 * strings, all numbers or all booleans keep them; flags mixing types (Flagsmith types values by content, so "foo"
 * and 42 can coexist) are served as strings ("42", "true") with a `type_mismatch` warning and a `lossy` verdict.
 *
 * ============================================================================================================
 * Document anatomy
 * ============================================================================================================
 * - `$schema`, `metadata` {flagSetId, version (= document `updated_at`), flagpost.environmentId,
 *   flagpost.translatorVersion}, `flags` keyed by feature name, `$evaluators` for segments used by ≥ 2 flags.
 * - Per flag: `state`, `variants` (`control` = environment default value, `variant_N` = multivariate options in
 *   Flagsmith's bucket order, `override_<slug>` = override values not equal to an existing variant), `defaultVariant`,
 *   `targeting` (omitted when static) and `metadata` {flagpost.featureId, flagpost.fidelity}.
 * - Targeting (one flat `if`), in Flagsmith's precedence:
 *     1. no `targetingKey` → the anonymous result (Flagsmith evaluated without an identity, computed at export
 *        time: environment default, or a segment override whose rules hold without identity/traits);
 *     2. identity overrides: `{"in": [{"var": "targetingKey"}, [identifiers…]]}`, grouped by outcome, capped;
 *     3. segment overrides by priority (lower number first; ties: segment id order, as the engine iterates);
 *     4. the environment default: a fixed variant, or a `fractional` split for multivariate features.
 *    Trailing branches that yield the same as the default are dropped; a segment branch that is always true ends
 *    the chain. Segments whose rules cannot all be expressed keep only their exactly expressible part (never
 *    broader than in Flagsmith) or disappear ("fail closed"), and the flag is reported `lossy`.
 * - Buckets: `fractional` keyed by `{"cat": ["<feature state key>", ",", {"var": "targetingKey"}]}` (never null;
 *   the key is Flagsmith's lineage-stable `django_id`, and a segment/identity override with its own allocation
 *   has its own split), PERCENTAGE_SPLIT by `{"cat": ["<segment id>", ",", <value>]}` (independent per segment,
 *   identical across flags using the segment, as in Flagsmith); integer weights scaled by a common 10^k so they sum
 *   to exactly 100 × 10^k; a split with a single non-empty bucket is a fixed variant (exact).
 * - Identity overrides: one membership test per distinct outcome; at most `identityOverrideLimit` (default 100)
 *   identities per flag, in document order, the rest dropped (`identity_override_limit_exceeded`, `lossy`).
 *   Numeric identifiers follow Flagsmith's IN semantics ("012" matches an override of "12").
 *
 * Consumer contract: send `targetingKey` = the Flagsmith identity identifier and the traits as top-level context
 * attributes. A context without a (non-empty) targetingKey is identity-less: its other attributes are ignored, as
 * Flagsmith has no traits without an identity. Custom identity hashing keys are not supported.
 *
 * Fidelity verdicts are defined in types.ts (`Fidelity`); the operator table is in operators.ts. Exactness is
 * verified against @openfeature/flagd-core 4.0.1 (compiled and interpreted JsonLogic) by the unit tests.
 */
import { parseInList } from "@/server/engine/conditions";
import {
  getEvaluationResult,
  mapFeatureState,
  mapIdentityOverridesToSegments,
  mapSegment,
  type EvaluationContext,
  type FeatureContext,
  type FlagValue,
  type SegmentContext,
} from "@/server/engine";
import type { EnvironmentDocument } from "@/server/engine/document";
import { isConst, not, TARGETING_KEY, type Logic } from "./logic";
import { NameAllocator, slugify } from "./names";
import { inCondition, type Translated } from "./operators";
import { translateSegment } from "./segments";
import type {
  FeatureDiagnostics,
  Fidelity,
  FlagdDiagnostics,
  FlagdDocument,
  FlagdFlag,
  FlagdVariantValue,
  JsonLogicArg,
  JsonLogicRule,
  TranslateOptions,
  TranslationResult,
  TranslationWarning,
  ValueMapping,
} from "./types";
import { scalePercentages, type ScaledSplit } from "./weights";

export const TRANSLATOR_VERSION = "v1";
export const FLAGD_SCHEMA_URL = "https://flagd.dev/schema/v0/flags.json";
export const DEFAULT_IDENTITY_OVERRIDE_LIMIT = 100;

/** flagd's flag-key pattern (`^.{1,}$` with the `u` flag: no line terminators). */
const FLAG_KEY_PATTERN = /^.{1,}$/u;

// ------------------------------------------------------------------------------------------------
// Outcomes

type Outcome =
  | { kind: "disabled" }
  | { kind: "value"; value: FlagValue }
  | { kind: "split"; seed: string; control: FlagValue; variants: ReadonlyArray<{ value: FlagValue; weight: number }> };

const sortedVariantsCache = new WeakMap<FeatureContext, Array<{ value: FlagValue; weight: number }>>();

/** Variants in the engine's bucket order (ascending priority = MV value id; stable). */
function sortedVariants(feature: FeatureContext): Array<{ value: FlagValue; weight: number }> {
  let sorted = sortedVariantsCache.get(feature);
  if (sorted === undefined) sortedVariantsCache.set(feature, (sorted = computeSortedVariants(feature)));
  return sorted;
}

function computeSortedVariants(feature: FeatureContext): Array<{ value: FlagValue; weight: number }> {
  const variants = feature.variants ?? [];
  return [...variants]
    .map((variant, index) => ({ variant, index }))
    .sort((a, b) => (a.variant.priority ?? Infinity) - (b.variant.priority ?? Infinity) || a.index - b.index)
    .map(({ variant }) => ({ value: variant.value, weight: variant.weight }));
}

/** The outcome of a winning feature context for a context with an identity. */
function identityOutcome(feature: FeatureContext): Outcome {
  if (!feature.enabled) return { kind: "disabled" };
  if (feature.variants && feature.variants.length > 0) {
    return { kind: "split", seed: feature.key, control: feature.value, variants: sortedVariants(feature) };
  }
  return { kind: "value", value: feature.value };
}

const scaledCache = new WeakMap<object, ScaledSplit>();

/** The split's integer shares (computed once per variant list). */
function scaledSplit(outcome: Extract<Outcome, { kind: "split" }>): ScaledSplit {
  let scaled = scaledCache.get(outcome.variants);
  if (scaled === undefined) scaledCache.set(outcome.variants, (scaled = scalePercentages(outcome.variants.map((v) => v.weight))));
  return scaled;
}

/** Values an outcome can serve (multivariate entries with no share are never served). */
function servedValues(outcome: Outcome): FlagValue[] {
  if (outcome.kind === "disabled") return [];
  if (outcome.kind === "value") return [outcome.value];
  const scaled = scaledSplit(outcome);
  const values = outcome.variants.filter((_, i) => scaled.shares[i] > 0).map((v) => v.value);
  if (scaled.residual > 0) values.push(outcome.control);
  return values;
}

// ------------------------------------------------------------------------------------------------
// Variants of one flag

function representationKey(value: FlagdVariantValue): string {
  return typeof value + ":" + String(value);
}

class VariantRegistry {
  readonly variants: Record<string, FlagdVariantValue> = {};
  private readonly byValue = new Map<string, string>();
  private readonly names = new NameAllocator();

  constructor(private readonly mapping: ValueMapping) {}

  /** The flagd value of a Flagsmith value, or null when it can only be "no value". */
  represent(value: FlagValue): FlagdVariantValue | null {
    if (this.mapping === "switch") return true;
    if (value === null) return null;
    if (this.mapping === "stringified") return String(value);
    return value;
  }

  /** Registers `value` under `preferredName` unless an equal value already has a key; returns the key (or null). */
  keyFor(value: FlagValue, preferredName: string): string | null {
    const represented = this.represent(value);
    if (represented === null) return null;
    const id = representationKey(represented);
    const existing = this.byValue.get(id);
    if (existing !== undefined) return existing;
    const name = this.names.allocate(preferredName);
    this.byValue.set(id, name);
    this.variants[name] = represented;
    return name;
  }
}

// ------------------------------------------------------------------------------------------------
// Translation of one feature

interface SegmentInfo {
  context: SegmentContext;
  /** Position in the engine's iteration order (ties in priority go to the earlier segment). */
  order: number;
  translated?: Translated;
}

interface SegmentOverrideRef {
  segment: SegmentInfo;
  override: FeatureContext;
}

interface IdentityBranch {
  identifiers: string[];
  override: FeatureContext;
  /** First identifier, for naming. */
  label: string;
}

interface Branch {
  condition: Logic;
  outcome: JsonLogicArg;
  /** Segment key when the condition is a segment's (for $evaluators). */
  segmentKey?: string;
  translated?: Translated;
  origin: string;
}

interface FeaturePlan {
  name: string;
  featureId: number;
  flag: FlagdFlag;
  branches: Branch[];
  anonymous: JsonLogicArg;
  fallback: JsonLogicArg;
  hasGuard: boolean;
  diagnostics: FeatureDiagnostics;
}

function fidelityOf(lossy: string[], approximate: string[]): Fidelity {
  if (lossy.length > 0) return "lossy";
  if (approximate.length > 0) return "approximate";
  return "exact";
}

function sameArg(a: JsonLogicArg, b: JsonLogicArg): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function containsNull(arg: JsonLogicArg): boolean {
  if (arg === null) return true;
  if (typeof arg !== "object") return false;
  if (Array.isArray(arg)) return arg.some((item) => containsNull(item as JsonLogicArg));
  const fractional = (arg as JsonLogicRule).fractional;
  if (Array.isArray(fractional)) return fractional.slice(1).some((bucket) => Array.isArray(bucket) && bucket[0] === null);
  return false;
}

/**
 * Identity overrides per feature name, in the engine's precedence order. The engine groups identities with
 * identical override sets into synthetic segments (first group first; within a group the first override of a
 * feature wins). Group order only matters when an identifier appears more than once, so the (costly) grouping is
 * only reproduced then; otherwise each identity's first override of a feature is its override.
 */
function identityOverridesByFeature(doc: EnvironmentDocument): Map<string, IdentityBranch[]> {
  const byFeature = new Map<string, IdentityBranch[]>();
  const add = (identifiers: string[], override: FeatureContext) => {
    let list = byFeature.get(override.name);
    if (list === undefined) byFeature.set(override.name, (list = []));
    list.push({ identifiers, override, label: identifiers[0] ?? "identity" });
  };
  const overrides = doc.identity_overrides ?? [];
  const identifiers = new Set(overrides.map((o) => o.identifier));
  if (identifiers.size === overrides.length) {
    for (const identity of overrides) {
      const seen = new Set<string>();
      for (const fs of identity.identity_features ?? []) {
        if (seen.has(fs.feature.name)) continue;
        seen.add(fs.feature.name);
        add([identity.identifier], mapFeatureState(fs, -Infinity));
      }
    }
    return byFeature;
  }
  for (const group of Object.values(mapIdentityOverridesToSegments(overrides))) {
    const value = group.rules[0]?.conditions?.[0]?.value ?? [];
    const members = parseInList(value);
    const seen = new Set<string>();
    for (const override of group.overrides ?? []) {
      if (seen.has(override.name)) continue;
      seen.add(override.name);
      add(members, override);
    }
  }
  return byFeature;
}

/**
 * Translates every feature of the environment. See the header comment for the mapping and document anatomy.
 */
export function translateEnvironment(doc: EnvironmentDocument, options: TranslateOptions): TranslationResult {
  const limit = Math.max(0, Math.floor(options.identityOverrideLimit ?? DEFAULT_IDENTITY_OVERRIDE_LIMIT));
  const env = { apiKey: doc.api_key, name: doc.name, compositeIdentityKey: doc.use_identity_composite_key_for_hashing !== false };
  const environmentWarnings: TranslationWarning[] = [];

  // The engine's own view of the document (its mapper, without deep-freezing: nothing here mutates it): features
  // keyed by name (the last state of a name wins), segments keyed by id (iterated in ascending id order).
  const features: Record<string, FeatureContext> = {};
  for (const fs of doc.feature_states) features[fs.feature.name] = mapFeatureState(fs, fs.feature_segment?.priority);
  const segmentRecord: Record<string, SegmentContext> = {};
  for (const s of doc.project.segments) segmentRecord[String(s.id)] = mapSegment(s);
  const context: EvaluationContext = { environment: { key: doc.api_key, name: doc.name }, features, segments: segmentRecord };
  const segments: SegmentInfo[] = Object.values(segmentRecord).map((segment, order) => ({ context: segment, order }));
  // Flagsmith without an identity: decided now, by the engine itself.
  const anonymousFlags = getEvaluationResult(context).flags;

  // Segment overrides per feature name, in engine iteration order.
  const segmentOverrides = new Map<string, SegmentOverrideRef[]>();
  for (const segment of segments) {
    for (const override of segment.context.overrides ?? []) {
      let list = segmentOverrides.get(override.name);
      if (list === undefined) segmentOverrides.set(override.name, (list = []));
      list.push({ segment, override });
    }
  }

  const identityOverrides = identityOverridesByFeature(doc);
  for (const [name, refs] of segmentOverrides) {
    if (features[name] !== undefined) continue;
    const where = refs.map((ref) => `"${ref.segment.context.name}" (${ref.segment.context.key})`).join(", ");
    environmentWarnings.push({ reason: "skipped", detail: `segment ${where} overrides feature "${name}", which the environment does not have: ignored (as in Flagsmith)` });
  }
  for (const [name, refs] of identityOverrides) {
    if (features[name] !== undefined) continue;
    const count = refs.reduce((sum, ref) => sum + ref.identifiers.length, 0);
    environmentWarnings.push({ reason: "skipped", detail: `${count} identity override(s) of feature "${name}", which the environment does not have: ignored (as in Flagsmith)` });
  }

  const segmentWarningsReported = new Set<string>();
  function segmentTranslation(info: SegmentInfo): Translated {
    if (info.translated === undefined) {
      info.translated = translateSegment(info.context, env);
      if (!segmentWarningsReported.has(info.context.key)) {
        segmentWarningsReported.add(info.context.key);
        for (const warning of info.translated.warnings) {
          environmentWarnings.push({ reason: warning.reason, detail: `segment "${info.context.name}" (${info.context.key}): ${warning.detail}` });
        }
      }
    }
    return info.translated;
  }

  const seenNames = new Set<string>();
  for (const fs of doc.feature_states) {
    if (seenNames.has(fs.feature.name)) {
      environmentWarnings.push({ reason: "skipped", detail: `feature "${fs.feature.name}" appears more than once; the last state is used (as in Flagsmith)` });
    }
    seenNames.add(fs.feature.name);
  }

  const plans: FeaturePlan[] = [];
  const reported = new Set<string>();
  for (const fs of doc.feature_states) {
    const name = fs.feature.name;
    if (reported.has(name)) continue;
    reported.add(name);
    const feature = features[name];
    if (feature === undefined) continue;
    const warnings: TranslationWarning[] = [];
    const lossy: string[] = [];
    const approximate: string[] = [];
    const featureId = typeof feature.metadata?.id === "number" ? feature.metadata.id : fs.feature.id;

    if (!FLAG_KEY_PATTERN.test(name)) {
      const detail = `feature name ${JSON.stringify(name)} is not a valid flagd flag key (empty or with line breaks): not exported`;
      warnings.push({ reason: "skipped", detail });
      plans.push({
        name,
        featureId,
        flag: { state: "DISABLED", variants: { control: true }, defaultVariant: "control" },
        branches: [],
        anonymous: null,
        fallback: null,
        hasGuard: false,
        diagnostics: { name, featureId, fidelity: "lossy", valueMapping: "native", reasons: [detail], warnings },
      });
      continue;
    }

    // ---- Outcomes (abstract) ----
    const anonymousResult = anonymousFlags[name];
    const anonymousOutcome: Outcome = anonymousResult.enabled ? { kind: "value", value: anonymousResult.value } : { kind: "disabled" };
    const defaultOutcome = identityOutcome(feature);

    const segmentRefs = [...(segmentOverrides.get(name) ?? [])].sort(
      (a, b) => (a.override.priority ?? Infinity) - (b.override.priority ?? Infinity) || a.segment.order - b.segment.order,
    );
    const identityRefs = identityOverrides.get(name) ?? [];

    // Identity cap: the first `limit` identifiers (engine precedence order) keep their overrides.
    const assigned = new Set<string>();
    let kept = 0;
    let dropped = 0;
    const identityBranches: IdentityBranch[] = [];
    for (const ref of identityRefs) {
      const identifiers: string[] = [];
      for (const identifier of ref.identifiers) {
        if (assigned.has(identifier)) continue;
        assigned.add(identifier);
        if (kept < limit) {
          identifiers.push(identifier);
          kept++;
        } else dropped++;
      }
      if (identifiers.length > 0) identityBranches.push({ ...ref, identifiers, label: identifiers[0] });
    }
    if (dropped > 0) {
      const detail = `dropped=${dropped}: ${kept + dropped} identities override this feature, the limit is ${limit}`;
      warnings.push({ reason: "identity_override_limit_exceeded", detail });
      lossy.push(`${dropped} identity override(s) beyond the limit of ${limit} are not exported`);
    }

    const outcomes: Outcome[] = [anonymousOutcome, defaultOutcome];
    for (const ref of segmentRefs) outcomes.push(identityOutcome(ref.override));
    for (const ref of identityBranches) outcomes.push(identityOutcome(ref.override));

    // ---- Value mapping ----
    const served = outcomes.flatMap(servedValues);
    const types = new Set(served.filter((v) => v !== null).map((v) => typeof v));
    const mapping: ValueMapping = types.size === 0 ? "switch" : types.size === 1 ? "native" : "stringified";
    if (mapping === "stringified") {
      const detail = `values of types ${[...types].sort().join(", ")}: every value is served as a string`;
      warnings.push({ reason: "type_mismatch", detail });
      lossy.push(detail);
    }
    if (mapping !== "switch" && served.some((v) => v === null)) {
      warnings.push({ reason: "null_value", detail: "some enabled outcomes have a null value: flagd serves them as no value (the caller's default)" });
    }
    const registry = new VariantRegistry(mapping);
    // Register in a fixed order so names are stable: control, options, then overrides.
    const servedIds = new Set(served.map((v) => (registry.represent(v) === null ? "null" : representationKey(registry.represent(v) as FlagdVariantValue))));
    const register = (value: FlagValue, preferred: string) => {
      const represented = registry.represent(value);
      if (represented !== null && servedIds.has(representationKey(represented))) registry.keyFor(value, preferred);
    };
    register(feature.value, "control");
    sortedVariants(feature).forEach((variant, i) => register(variant.value, `variant_${i + 1}`));

    const resolve = (outcome: Outcome, preferredName: string): JsonLogicArg => {
      if (outcome.kind === "disabled") return null;
      if (outcome.kind === "value") return registry.keyFor(outcome.value, preferredName);
      const scaled = scaledSplit(outcome);
      if (scaled.adjusted) {
        warnings.push({
          reason: "weights_adjusted",
          detail: `multivariate weights ${outcome.variants.map((v) => v.weight).join("/")} are negative, exceed 100 % or have more than 7 decimals: shares follow Flagsmith's range walk`,
        });
      }
      const buckets: Array<[string | null, number]> = [];
      const add = (value: FlagValue, weight: number) => {
        if (weight <= 0) return; // never served: no variant
        const key = registry.keyFor(value, preferredName);
        const existing = buckets.find((bucket) => bucket[0] === key);
        if (existing) existing[1] += weight;
        else buckets.push([key, weight]);
      };
      outcome.variants.forEach((variant, i) => add(variant.value, scaled.shares[i]));
      add(outcome.control, scaled.residual);
      if (buckets.length === 1) return buckets[0][0];
      return { fractional: [{ cat: [outcome.seed, ",", TARGETING_KEY] }, ...buckets] };
    };

    const branches: Branch[] = [];
    // Identity overrides, grouped by outcome (an identifier is in one group only, so order does not matter).
    const byOutcome = new Map<string, { identifiers: string[]; outcome: JsonLogicArg }>();
    for (const ref of identityBranches) {
      const outcome = resolve(identityOutcome(ref.override), `override_${slugify(ref.label, "identity")}`);
      const key = JSON.stringify(outcome);
      const group = byOutcome.get(key);
      if (group) group.identifiers.push(...ref.identifiers);
      else byOutcome.set(key, { identifiers: [...ref.identifiers], outcome });
    }
    for (const group of byOutcome.values()) {
      // Flagsmith's IN semantics on the identifier (numeric identifiers compare canonically: "012" is 12).
      const condition = inCondition(group.identifiers, TARGETING_KEY).lower;
      branches.push({ condition, outcome: group.outcome, origin: `identity overrides (${group.identifiers.length})` });
    }
    // Segment overrides by priority.
    for (const ref of segmentRefs) {
      const translated = segmentTranslation(ref.segment);
      const outcome = resolve(identityOutcome(ref.override), `override_${slugify(ref.segment.context.name, "segment")}`);
      branches.push({
        condition: translated.lower,
        outcome,
        segmentKey: ref.segment.context.key,
        translated,
        origin: `segment "${ref.segment.context.name}" (${ref.segment.context.key})`,
      });
      if (!ref.override.enabled && !feature.enabled) {
        warnings.push({
          reason: "disabled_override_no_op",
          detail: `segment "${ref.segment.context.name}" overrides with a disabled state like the default: it only shadows lower-priority overrides`,
        });
      }
    }
    // Resolved last, so `control` and `variant_N` keep their names and override values theirs.
    const anonymous = resolve(anonymousOutcome, "override_anonymous");
    const fallback = resolve(defaultOutcome, "control");

    // A constant-true condition ends the chain.
    let effectiveFallback = fallback;
    const firstAlways = branches.findIndex((b) => b.condition === true);
    if (firstAlways >= 0) {
      effectiveFallback = branches[firstAlways].outcome;
      branches.length = firstAlways;
    }
    // Trailing branches that yield the fallback anyway change nothing (whatever their condition's accuracy).
    while (branches.length > 0 && sameArg(branches[branches.length - 1].outcome, effectiveFallback)) branches.pop();

    const keptBranches: Branch[] = [];
    for (const branch of branches) {
      const t = branch.translated;
      if (t !== undefined) {
        if (!t.exact) {
          const how = branch.condition === false ? "omitted (no exactly translatable part left)" : "narrowed to its exactly translatable part";
          lossy.push(`${branch.origin}: ${t.notes.join("; ")} — branch ${how}`);
          warnings.push({ reason: "segment_not_exact", detail: `${branch.origin}: branch ${how} (fail closed)` });
        } else if (t.approximate) {
          for (const note of t.notes) if (!approximate.includes(note)) approximate.push(note);
        }
      }
      if (branch.condition === false) continue;
      keptBranches.push(branch);
    }

    // Splits in reachable outcomes.
    const reachable = [anonymous, effectiveFallback, ...keptBranches.map((b) => b.outcome)];
    if (reachable.some((o) => typeof o === "object" && o !== null && "fractional" in (o as JsonLogicRule))) {
      approximate.push("multivariate split: flagd buckets identities with MurmurHash3, Flagsmith with MD5 (same proportions, different identities per bucket)");
    }

    // ---- Flag ----
    const allDisabled = outcomes.every((o) => o.kind === "disabled");
    let flag: FlagdFlag;
    let hasGuard = false;
    if (allDisabled) {
      const value = feature.value === null ? true : feature.value;
      flag = { state: "DISABLED", variants: { control: value }, defaultVariant: "control" };
      keptBranches.length = 0;
    } else {
      const anyNull = reachable.some(containsNull);
      const defaultVariant = anyNull ? null : (anonymous as string);
      flag = { state: "ENABLED", variants: registry.variants, defaultVariant };
      // Without branches and with the same outcome for everyone, the flag is static (reason STATIC, or DEFAULT
      // without a value when that outcome is "no value").
      hasGuard = keptBranches.length > 0 || !sameArg(anonymous, effectiveFallback);
    }
    if (Object.keys(flag.variants).length === 0) {
      // Every served outcome is "no value": flagd still needs one variant.
      flag.variants = { control: feature.value === null ? true : registry.represent(feature.value) ?? true };
    }

    const fidelity = fidelityOf(lossy, approximate);
    flag.metadata = { "flagpost.featureId": featureId, "flagpost.fidelity": fidelity };
    plans.push({
      name,
      featureId,
      flag,
      branches: keptBranches,
      anonymous,
      fallback: effectiveFallback,
      hasGuard,
      diagnostics: { name, featureId, fidelity, valueMapping: mapping, reasons: [...lossy, ...approximate], warnings },
    });
  }

  // ---- $evaluators: segments whose branch appears in ≥ 2 flags ----
  const usage = new Map<string, number>();
  for (const plan of plans) {
    const seen = new Set<string>();
    for (const branch of plan.branches) {
      if (branch.segmentKey !== undefined && !isConst(branch.condition) && !seen.has(branch.segmentKey)) {
        seen.add(branch.segmentKey);
        usage.set(branch.segmentKey, (usage.get(branch.segmentKey) ?? 0) + 1);
      }
    }
  }
  const evaluators: Record<string, JsonLogicRule> = {};
  const evaluatorNames = new Map<string, string>();
  const evaluatorAllocator = new NameAllocator();
  for (const info of segments) {
    const key = info.context.key;
    if ((usage.get(key) ?? 0) < 2 || info.translated === undefined) continue;
    const name = evaluatorAllocator.allocate(slugify(info.context.name, `segment-${key}`));
    evaluatorNames.set(key, name);
    evaluators[name] = info.translated.lower as JsonLogicRule;
  }

  const flags: Record<string, FlagdFlag> = {};
  for (const plan of plans) {
    if (plan.diagnostics.warnings.some((w) => w.reason === "skipped")) continue;
    const flag = plan.flag;
    if (flag.state === "ENABLED" && plan.hasGuard) {
      const args: JsonLogicArg[] = [not(TARGETING_KEY) as JsonLogicRule, plan.anonymous];
      for (const branch of plan.branches) {
        const ref = branch.segmentKey !== undefined ? evaluatorNames.get(branch.segmentKey) : undefined;
        args.push(ref !== undefined ? { $ref: ref } : (branch.condition as JsonLogicRule), branch.outcome);
      }
      args.push(plan.fallback);
      flag.targeting = { if: args };
    }
    flags[plan.name] = flag;
  }

  const document: FlagdDocument = {
    $schema: FLAGD_SCHEMA_URL,
    metadata: {
      flagSetId: options.flagSetId,
      version: doc.updated_at,
      "flagpost.environmentId": doc.id,
      "flagpost.translatorVersion": TRANSLATOR_VERSION,
    },
    flags,
  };
  if (Object.keys(evaluators).length > 0) document.$evaluators = evaluators;

  const featureDiagnostics = plans.map((plan) => plan.diagnostics);
  const featureWarningCount = featureDiagnostics.reduce((sum, f) => sum + f.warnings.length, 0);
  const diagnostics: FlagdDiagnostics = {
    flagSetId: options.flagSetId,
    translatorVersion: TRANSLATOR_VERSION,
    environmentWarnings,
    features: featureDiagnostics,
    summary: {
      features: featureDiagnostics.length,
      exact: featureDiagnostics.filter((f) => f.fidelity === "exact").length,
      approximate: featureDiagnostics.filter((f) => f.fidelity === "approximate").length,
      lossy: featureDiagnostics.filter((f) => f.fidelity === "lossy").length,
      featuresWithWarnings: featureDiagnostics.filter((f) => f.warnings.length > 0).length,
      totalWarnings: environmentWarnings.length + featureWarningCount,
    },
  };
  return { document, diagnostics };
}

