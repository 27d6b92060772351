/**
 * The translator's abstract outcomes (what one branch of a flag yields, before it has variant names) and the
 * variants of one flag: the value mapping, the variant registry and the resolution of an outcome into a
 * targeting result (a variant key, `null` = no value, or a `fractional` split). See translator.ts for the
 * (enabled, value) mapping these implement.
 */
import type { FeatureContext, FlagValue } from "@/server/engine";
import { TARGETING_KEY } from "./logic";
import { NameAllocator } from "./names";
import type { FlagdVariantValue, JsonLogicArg, JsonLogicRule, TranslationWarning, ValueMapping } from "./types";
import { scalePercentages, type ScaledSplit } from "./weights";

// ------------------------------------------------------------------------------------------------
// Outcomes

export type Outcome =
  | { kind: "disabled" }
  | { kind: "value"; value: FlagValue }
  | { kind: "split"; seed: string; control: FlagValue; variants: ReadonlyArray<{ value: FlagValue; weight: number }> };

export type SplitOutcome = Extract<Outcome, { kind: "split" }>;

const sortedVariantsCache = new WeakMap<FeatureContext, Array<{ value: FlagValue; weight: number }>>();

/** Variants in the engine's bucket order (ascending priority = MV value id; stable). */
export function sortedVariants(feature: FeatureContext): Array<{ value: FlagValue; weight: number }> {
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
export function identityOutcome(feature: FeatureContext): Outcome {
  if (!feature.enabled) return { kind: "disabled" };
  if (feature.variants && feature.variants.length > 0) {
    return { kind: "split", seed: feature.key, control: feature.value, variants: sortedVariants(feature) };
  }
  return { kind: "value", value: feature.value };
}

const scaledCache = new WeakMap<object, ScaledSplit>();

/** The split's integer shares (computed once per variant list). */
export function scaledSplit(outcome: SplitOutcome): ScaledSplit {
  let scaled = scaledCache.get(outcome.variants);
  if (scaled === undefined) scaledCache.set(outcome.variants, (scaled = scalePercentages(outcome.variants.map((v) => v.weight))));
  return scaled;
}

/** Values an outcome can serve (multivariate entries with no share are never served). */
export function servedValues(outcome: Outcome): FlagValue[] {
  if (outcome.kind === "disabled") return [];
  if (outcome.kind === "value") return [outcome.value];
  const scaled = scaledSplit(outcome);
  const values = outcome.variants.filter((_, i) => scaled.shares[i] > 0).map((v) => v.value);
  if (scaled.residual > 0) values.push(outcome.control);
  return values;
}

// ------------------------------------------------------------------------------------------------
// Variants of one flag

/**
 * The served value of an enabled Flagsmith value under a flag's mapping (`switch`: `true`;
 * `stringified`: its text; `native`: itself), or null when it can only be "no value" (null). Shared
 * by the flagd document and OFREP, so both serve the same values.
 */
export function representValue(mapping: ValueMapping, value: FlagValue): FlagdVariantValue | null {
  if (mapping === "switch") return true;
  if (value === null) return null;
  if (mapping === "stringified") return String(value);
  return value;
}

export function representationKey(value: FlagdVariantValue): string {
  return typeof value + ":" + String(value);
}

export class VariantRegistry {
  readonly variants: Record<string, FlagdVariantValue> = {};
  private readonly byValue = new Map<string, string>();
  private readonly names = new NameAllocator();

  constructor(private readonly mapping: ValueMapping) {}

  /** The flagd value of a Flagsmith value, or null when it can only be "no value". */
  represent(value: FlagValue): FlagdVariantValue | null {
    return representValue(this.mapping, value);
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

/**
 * The targeting result of an outcome: a variant key, `null` (no value), or a `fractional` split over variant keys
 * keyed by `"<seed>,<targetingKey>"`. Registers the variants it needs; reports adjusted weights in `warnings`.
 */
export function resolveOutcome(outcome: Outcome, preferredName: string, registry: VariantRegistry, warnings: TranslationWarning[]): JsonLogicArg {
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
}

/** Whether a targeting result can yield "no value" (`null`, or a split with a `null` bucket). */
export function containsNull(arg: JsonLogicArg): boolean {
  if (arg === null) return true;
  if (typeof arg !== "object") return false;
  if (Array.isArray(arg)) return arg.some((item) => containsNull(item as JsonLogicArg));
  const fractional = (arg as JsonLogicRule).fractional;
  if (Array.isArray(fractional)) return fractional.slice(1).some((bucket) => Array.isArray(bucket) && bucket[0] === null);
  return false;
}

/** Whether a targeting result is a `fractional` split. */
export function isSplit(arg: JsonLogicArg): boolean {
  return typeof arg === "object" && arg !== null && "fractional" in (arg as JsonLogicRule);
}

/** Structural equality of two targeting results. */
export function sameArg(a: JsonLogicArg, b: JsonLogicArg): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
