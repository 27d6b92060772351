/**
 * One feature → its flagd flag (without targeting), its targeting branches and its diagnostics, in named steps:
 * outcomes, identity cap, value mapping and variant registry, branch building, branch pruning and fidelity, flag
 * assembly. translator.ts documents the mapping and the document anatomy; it assembles the plans into a document.
 */
import type { FeatureContext, FlagResult, FlagValue } from "@/server/engine";
import {
  segmentTranslation,
  type EnvironmentIndex,
  type IdentityOverrideRef,
  type SegmentOverrideRef,
  type SegmentTranslationSink,
} from "./environment-index";
import { TARGETING_KEY, type Logic } from "./logic";
import { slugify } from "./names";
import { inCondition, type Translated } from "./operators";
import {
  containsNull,
  identityOutcome,
  isSplit,
  representationKey,
  resolveOutcome,
  sameArg,
  servedValues,
  sortedVariants,
  VariantRegistry,
  type Outcome,
} from "./outcomes";
import type { FeatureDiagnostics, Fidelity, FlagdFlag, FlagdVariantValue, JsonLogicArg, TranslationWarning, ValueMapping } from "./types";

/** flagd's flag-key pattern (`^.{1,}$` with the `u` flag: no line terminators). */
const FLAG_KEY_PATTERN = /^.{1,}$/u;

export interface Branch {
  condition: Logic;
  outcome: JsonLogicArg;
  /** Segment key when the condition is a segment's (for $evaluators). */
  segmentKey?: string;
  translated?: Translated;
  origin: string;
}

export interface FeaturePlan {
  name: string;
  featureId: number;
  /** False when the feature cannot be a flagd flag (it is only reported). */
  exported: boolean;
  flag: FlagdFlag;
  /** Kept branches, in precedence order (identity overrides, then segment overrides). */
  branches: Branch[];
  /** The result without a targetingKey. */
  anonymous: JsonLogicArg;
  /** The result when no branch matches. */
  fallback: JsonLogicArg;
  /** Whether the flag needs targeting at all. */
  hasGuard: boolean;
  diagnostics: FeatureDiagnostics;
}

/** What the plans of one environment share: its index, where segment translations report, the identity cap. */
export interface PlanInputs {
  index: EnvironmentIndex;
  segments: SegmentTranslationSink;
  identityOverrideLimit: number;
}

/** What a feature's translation reports: warnings, and why its verdict is lossy or approximate. */
interface FeatureNotes {
  warnings: TranslationWarning[];
  lossy: string[];
  approximate: string[];
}

/** A feature's overrides in the engine's precedence order. */
interface FeatureOverrides {
  /** Segment overrides by priority (lower number first; ties: segment iteration order). */
  segments: SegmentOverrideRef[];
  /** Identity overrides within the cap (each identifier in one ref only). */
  identities: IdentityOverrideRef[];
}

/** The abstract outcomes of a feature: identity-less, default, then each override's. */
interface FeatureOutcomes {
  anonymous: Outcome;
  default: Outcome;
  all: Outcome[];
}

/** The variants of a flag: how values map, and the registry naming them. */
interface FlagVariants {
  mapping: ValueMapping;
  registry: VariantRegistry;
}

/** The targeting chain after pruning: branches in order, then the fallback. */
interface Chain {
  branches: Branch[];
  fallback: JsonLogicArg;
}

/** Plans one feature of the environment (`feature` = its winning state, `featureId` = its Flagsmith id). */
export function planFeature(name: string, featureId: number, feature: FeatureContext, inputs: PlanInputs): FeaturePlan {
  if (!FLAG_KEY_PATTERN.test(name)) return invalidKeyPlan(name, featureId);
  const notes: FeatureNotes = { warnings: [], lossy: [], approximate: [] };

  const overrides: FeatureOverrides = {
    segments: segmentOverridesByPriority(inputs.index.segmentOverrides.get(name) ?? []),
    identities: capIdentityOverrides(inputs.index.identityOverrides.get(name) ?? [], inputs.identityOverrideLimit, notes),
  };
  const outcomes = featureOutcomes(inputs.index.identityLessFlags[name], feature, overrides);
  const variants = flagVariants(feature, outcomes.all, notes);

  const branches = [
    ...identityOverrideBranches(overrides.identities, variants.registry, notes),
    ...segmentOverrideBranches(overrides.segments, feature, variants.registry, inputs.segments, notes),
  ];
  // Resolved last, so `control` and `variant_N` keep their names and override values theirs. The identity-less
  // outcome is the environment default's value (registered as `control`) or no value.
  const anonymous = resolveOutcome(outcomes.anonymous, "control", variants.registry, notes.warnings);
  const fallback = resolveOutcome(outcomes.default, "control", variants.registry, notes.warnings);

  const chain = pruneChain(branches, fallback);
  const kept = expressibleBranches(chain.branches, notes);
  const reachable = [anonymous, chain.fallback, ...kept.map((b) => b.outcome)];
  noteSplits(reachable, notes);

  return assemblePlan(name, featureId, feature, { outcomes, variants, anonymous, chain: { branches: kept, fallback: chain.fallback }, reachable, notes });
}

/** A feature whose name is not a valid flagd flag key: reported, not exported. */
function invalidKeyPlan(name: string, featureId: number): FeaturePlan {
  const detail = `feature name ${JSON.stringify(name)} is not a valid flagd flag key (empty or with line breaks): not exported`;
  return {
    name,
    featureId,
    exported: false,
    flag: { state: "DISABLED", variants: { control: true }, defaultVariant: "control" },
    branches: [],
    anonymous: null,
    fallback: null,
    hasGuard: false,
    diagnostics: { name, featureId, fidelity: "lossy", valueMapping: "native", reasons: [detail], warnings: [{ reason: "skipped", detail }] },
  };
}

/** Segment overrides strongest first: lower priority number, ties in segment iteration order. */
function segmentOverridesByPriority(refs: readonly SegmentOverrideRef[]): SegmentOverrideRef[] {
  return [...refs].sort((a, b) => (a.override.priority ?? Infinity) - (b.override.priority ?? Infinity) || a.segment.order - b.segment.order);
}

/** Identity cap: the first `limit` identifiers (engine precedence order) keep their overrides; the rest are reported. */
function capIdentityOverrides(refs: readonly IdentityOverrideRef[], limit: number, notes: FeatureNotes): IdentityOverrideRef[] {
  const assigned = new Set<string>();
  let kept = 0;
  let dropped = 0;
  const capped: IdentityOverrideRef[] = [];
  for (const ref of refs) {
    const identifiers: string[] = [];
    for (const identifier of ref.identifiers) {
      if (assigned.has(identifier)) continue;
      assigned.add(identifier);
      if (kept < limit) {
        identifiers.push(identifier);
        kept++;
      } else dropped++;
    }
    if (identifiers.length > 0) capped.push({ ...ref, identifiers, label: identifiers[0] });
  }
  if (dropped > 0) {
    const detail = `dropped=${dropped}: ${kept + dropped} identities override this feature, the limit is ${limit}`;
    notes.warnings.push({ reason: "identity_override_limit_exceeded", detail });
    notes.lossy.push(`${dropped} identity override(s) beyond the limit of ${limit} are not exported`);
  }
  return capped;
}

/** The feature's outcomes: identity-less (the environment flag), default, segment and identity overrides. */
function featureOutcomes(identityLess: FlagResult, feature: FeatureContext, overrides: FeatureOverrides): FeatureOutcomes {
  const anonymous: Outcome = identityLess.enabled ? { kind: "value", value: identityLess.value } : { kind: "disabled" };
  const defaultOutcome = identityOutcome(feature);
  const all: Outcome[] = [anonymous, defaultOutcome];
  for (const ref of overrides.segments) all.push(identityOutcome(ref.override));
  for (const ref of overrides.identities) all.push(identityOutcome(ref.override));
  return { anonymous, default: defaultOutcome, all };
}

/**
 * The value mapping the served values allow (`switch` when none is typed, `stringified` for mixed types), and the
 * variant registry with stable names registered first: `control`, then the options as `variant_N`.
 */
function flagVariants(feature: FeatureContext, outcomes: readonly Outcome[], notes: FeatureNotes): FlagVariants {
  const served = outcomes.flatMap(servedValues);
  const types = new Set(served.filter((v) => v !== null).map((v) => typeof v));
  const mapping: ValueMapping = types.size === 0 ? "switch" : types.size === 1 ? "native" : "stringified";
  if (mapping === "stringified") {
    const detail = `values of types ${[...types].sort().join(", ")}: every value is served as a string`;
    notes.warnings.push({ reason: "type_mismatch", detail });
    notes.lossy.push(detail);
  }
  if (mapping !== "switch" && served.some((v) => v === null)) {
    notes.warnings.push({ reason: "null_value", detail: "some enabled outcomes have a null value: flagd serves them as no value (the caller's default)" });
  }
  const registry = new VariantRegistry(mapping);
  // Register in a fixed order so names are stable: control, options, then overrides (as they are resolved).
  const servedIds = new Set(served.map((v) => (registry.represent(v) === null ? "null" : representationKey(registry.represent(v) as FlagdVariantValue))));
  const register = (value: FlagValue, preferred: string) => {
    const represented = registry.represent(value);
    if (represented !== null && servedIds.has(representationKey(represented))) registry.keyFor(value, preferred);
  };
  register(feature.value, "control");
  sortedVariants(feature).forEach((variant, i) => register(variant.value, `variant_${i + 1}`));
  return { mapping, registry };
}

/** Identity override branches, one membership test per distinct outcome (an identifier is in one group only). */
function identityOverrideBranches(refs: readonly IdentityOverrideRef[], registry: VariantRegistry, notes: FeatureNotes): Branch[] {
  const byOutcome = new Map<string, { identifiers: string[]; outcome: JsonLogicArg }>();
  for (const ref of refs) {
    const outcome = resolveOutcome(identityOutcome(ref.override), `override_${slugify(ref.label, "identity")}`, registry, notes.warnings);
    const key = JSON.stringify(outcome);
    const group = byOutcome.get(key);
    if (group) group.identifiers.push(...ref.identifiers);
    else byOutcome.set(key, { identifiers: [...ref.identifiers], outcome });
  }
  const branches: Branch[] = [];
  for (const group of byOutcome.values()) {
    // Flagsmith's IN semantics on the identifier (numeric identifiers compare canonically: "012" is 12).
    const condition = inCondition(group.identifiers, TARGETING_KEY).lower;
    branches.push({ condition, outcome: group.outcome, origin: `identity overrides (${group.identifiers.length})` });
  }
  return branches;
}

/** Segment override branches by priority, each conditioned on its segment's (fail-closed) translation. */
function segmentOverrideBranches(
  refs: readonly SegmentOverrideRef[],
  feature: FeatureContext,
  registry: VariantRegistry,
  segments: SegmentTranslationSink,
  notes: FeatureNotes,
): Branch[] {
  const branches: Branch[] = [];
  for (const ref of refs) {
    const translated = segmentTranslation(ref.segment, segments);
    const outcome = resolveOutcome(identityOutcome(ref.override), `override_${slugify(ref.segment.context.name, "segment")}`, registry, notes.warnings);
    branches.push({
      condition: translated.lower,
      outcome,
      segmentKey: ref.segment.context.key,
      translated,
      origin: `segment "${ref.segment.context.name}" (${ref.segment.context.key})`,
    });
    if (!ref.override.enabled && !feature.enabled) {
      notes.warnings.push({
        reason: "disabled_override_no_op",
        detail: `segment "${ref.segment.context.name}" overrides with a disabled state like the default: it only shadows lower-priority overrides`,
      });
    }
  }
  return branches;
}

/**
 * The chain that matters: a constant-true condition ends it (its outcome becomes the fallback), and trailing
 * branches that yield the fallback anyway change nothing (whatever their condition's accuracy).
 */
function pruneChain(branches: readonly Branch[], fallback: JsonLogicArg): Chain {
  let kept = [...branches];
  let effectiveFallback = fallback;
  const firstAlways = kept.findIndex((b) => b.condition === true);
  if (firstAlways >= 0) {
    effectiveFallback = kept[firstAlways].outcome;
    kept = kept.slice(0, firstAlways);
  }
  while (kept.length > 0 && sameArg(kept[kept.length - 1].outcome, effectiveFallback)) kept.pop();
  return { branches: kept, fallback: effectiveFallback };
}

/** Notes each branch's fidelity (narrowed or omitted, approximate) and drops the branches that can never match. */
function expressibleBranches(branches: readonly Branch[], notes: FeatureNotes): Branch[] {
  const kept: Branch[] = [];
  for (const branch of branches) {
    const t = branch.translated;
    if (t !== undefined) {
      if (!t.exact) {
        const how = branch.condition === false ? "omitted (no exactly translatable part left)" : "narrowed to its exactly translatable part";
        notes.lossy.push(`${branch.origin}: ${t.notes.join("; ")} — branch ${how}`);
        notes.warnings.push({ reason: "segment_not_exact", detail: `${branch.origin}: branch ${how} (fail closed)` });
      } else if (t.approximate) {
        for (const note of t.notes) if (!notes.approximate.includes(note)) notes.approximate.push(note);
      }
    }
    if (branch.condition === false) continue;
    kept.push(branch);
  }
  return kept;
}

/** A multivariate split among the reachable outcomes makes the flag approximate. */
function noteSplits(reachable: readonly JsonLogicArg[], notes: FeatureNotes): void {
  if (reachable.some(isSplit)) {
    notes.approximate.push("multivariate split: flagd buckets identities with MurmurHash3, Flagsmith with MD5 (same proportions, different identities per bucket)");
  }
}

function fidelityOf(lossy: readonly string[], approximate: readonly string[]): Fidelity {
  if (lossy.length > 0) return "lossy";
  if (approximate.length > 0) return "approximate";
  return "exact";
}

/** Everything flag assembly reads. */
interface PlanParts {
  outcomes: FeatureOutcomes;
  variants: FlagVariants;
  anonymous: JsonLogicArg;
  chain: Chain;
  reachable: readonly JsonLogicArg[];
  notes: FeatureNotes;
}

/**
 * The flag and its plan: `state: DISABLED` when no outcome is enabled (no targeting), otherwise the registry's
 * variants with `defaultVariant` = the identity-less result (`null` when some reachable result is "no value");
 * targeting is needed when a branch remains or the identity-less result differs from the fallback.
 */
function assemblePlan(name: string, featureId: number, feature: FeatureContext, parts: PlanParts): FeaturePlan {
  const { outcomes, variants, anonymous, chain, reachable, notes } = parts;
  let flag: FlagdFlag;
  let branches = chain.branches;
  let hasGuard = false;
  if (outcomes.all.every((o) => o.kind === "disabled")) {
    const value = feature.value === null ? true : feature.value;
    flag = { state: "DISABLED", variants: { control: value }, defaultVariant: "control" };
    branches = [];
  } else {
    const anyNull = reachable.some(containsNull);
    const defaultVariant = anyNull ? null : (anonymous as string);
    flag = { state: "ENABLED", variants: variants.registry.variants, defaultVariant };
    // Without branches and with the same outcome for everyone, the flag is static (reason STATIC, or DEFAULT
    // without a value when that outcome is "no value").
    hasGuard = branches.length > 0 || !sameArg(anonymous, chain.fallback);
  }
  if (Object.keys(flag.variants).length === 0) {
    // Every served outcome is "no value": flagd still needs one variant.
    flag.variants = { control: feature.value === null ? true : variants.registry.represent(feature.value) ?? true };
  }

  const fidelity = fidelityOf(notes.lossy, notes.approximate);
  flag.metadata = { "flagpost.featureId": featureId, "flagpost.fidelity": fidelity };
  return {
    name,
    featureId,
    exported: true,
    flag,
    branches,
    anonymous,
    fallback: chain.fallback,
    hasGuard,
    diagnostics: { name, featureId, fidelity, valueMapping: variants.mapping, reasons: [...notes.lossy, ...notes.approximate], warnings: notes.warnings },
  };
}
