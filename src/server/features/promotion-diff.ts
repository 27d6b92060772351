/**
 * Comparing a feature between two environments (pure: no database). What "the same" means is what
 * SDKs would see: the default's `enabled` and value, the multivariate weights that actually take a
 * share of the buckets (options at 0 % do not), in bucket order, and the segment overrides (which
 * segments, in which order of priority, each with its own enabled, value and weights). Stored
 * priority numbers, row ids and hashing seeds are not compared: they do not change an answer on
 * their own.
 *
 * `diffFeature(target, source)` says what copying `source` over `target` changes ("from" is the
 * target's now, "to" what it becomes); `stateSignature` is the same comparison as a string, for the
 * compare matrix (equal signatures ⇔ identical).
 */
import type { StoredValue } from "@/server/db/schema";

export interface Weight {
  optionId: number;
  percentageAllocation: number;
}

export interface ComparableState {
  enabled: boolean;
  value: StoredValue;
  /** Every allocation row of the state, in bucket order (row id ascending). */
  allocations: readonly Weight[];
}

export interface ComparableOverride extends ComparableState {
  segmentId: number;
  segmentName: string;
}

export interface FeatureInEnvironment {
  defaults: ComparableState;
  /** Strongest first (priority ascending, nulls last, then row id): the order the engine applies. */
  overrides: readonly ComparableOverride[];
}

export interface Change<T> {
  from: T;
  to: T;
}

export interface WeightChange {
  option: string;
  from: number;
  to: number;
}

export interface StateChanges {
  enabled?: Change<boolean>;
  value?: Change<StoredValue>;
  /** Options whose share changes (an option without a row has 0 %). */
  weights?: WeightChange[];
  /** The shares stay but the order of the variants (and so who gets which) changes. */
  weightOrder?: boolean;
}

export interface OverrideChange {
  segmentId: number;
  segment: string;
  kind: "added" | "removed" | "changed";
  /** `changed`: what changes in it. */
  changes: StateChanges;
  /** `added`: the override as it is copied. */
  copied: { enabled: boolean; value: StoredValue; weights: { option: string; percentage: number }[] } | null;
}

export interface FeatureDiff {
  defaults: StateChanges;
  overrides: OverrideChange[];
  /** Segment names strongest first, when the order of the overrides both environments have changes. */
  reordered: Change<string[]> | null;
  identical: boolean;
}

/** The allocations that take buckets (non-zero), in bucket order. */
export function effectiveWeights(allocations: readonly Weight[]): Weight[] {
  return allocations.filter((a) => a.percentageAllocation > 0).map(({ optionId, percentageAllocation }) => ({ optionId, percentageAllocation }));
}

export function sameWeights(a: readonly Weight[], b: readonly Weight[]): boolean {
  const x = effectiveWeights(a);
  const y = effectiveWeights(b);
  return x.length === y.length && x.every((weight, i) => weight.optionId === y[i].optionId && weight.percentageAllocation === y[i].percentageAllocation);
}

export function sameValue(a: StoredValue, b: StoredValue): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

const nameOf = (names: ReadonlyMap<number, string>, optionId: number) => names.get(optionId) ?? "a removed variation";

function weightChanges(from: readonly Weight[], to: readonly Weight[], names: ReadonlyMap<number, string>): Pick<StateChanges, "weights" | "weightOrder"> {
  if (sameWeights(from, to)) return {};
  const was = new Map(from.map((w) => [w.optionId, w.percentageAllocation]));
  const now = new Map(to.map((w) => [w.optionId, w.percentageAllocation]));
  const ids = [...new Set([...from, ...to].map((w) => w.optionId))];
  const changed = ids
    .filter((id) => (was.get(id) ?? 0) !== (now.get(id) ?? 0))
    .map((id) => ({ option: nameOf(names, id), from: was.get(id) ?? 0, to: now.get(id) ?? 0 }));
  return changed.length > 0 ? { weights: changed } : { weightOrder: true };
}

function stateChanges(from: ComparableState, to: ComparableState, names: ReadonlyMap<number, string>): StateChanges {
  const changes: StateChanges = {};
  if (from.enabled !== to.enabled) changes.enabled = { from: from.enabled, to: to.enabled };
  if (!sameValue(from.value, to.value)) changes.value = { from: from.value ?? null, to: to.value ?? null };
  return { ...changes, ...weightChanges(from.allocations, to.allocations, names) };
}

export function hasChanges(changes: StateChanges): boolean {
  return changes.enabled !== undefined || changes.value !== undefined || changes.weights !== undefined || changes.weightOrder === true;
}

/** What copying `source` over `target` changes in the target. `names`: option id → its name in summaries. */
export function diffFeature(target: FeatureInEnvironment, source: FeatureInEnvironment, names: ReadonlyMap<number, string> = new Map()): FeatureDiff {
  const defaults = stateChanges(target.defaults, source.defaults, names);
  const targetBySegment = new Map(target.overrides.map((o) => [o.segmentId, o]));
  const sourceBySegment = new Map(source.overrides.map((o) => [o.segmentId, o]));
  const overrides: OverrideChange[] = [];
  for (const override of source.overrides) {
    const current = targetBySegment.get(override.segmentId);
    if (!current) {
      const weights = effectiveWeights(override.allocations).map((w) => ({ option: nameOf(names, w.optionId), percentage: w.percentageAllocation }));
      overrides.push({
        segmentId: override.segmentId,
        segment: override.segmentName,
        kind: "added",
        changes: {},
        copied: { enabled: override.enabled, value: override.value ?? null, weights },
      });
      continue;
    }
    const changes = stateChanges(current, override, names);
    if (hasChanges(changes)) overrides.push({ segmentId: override.segmentId, segment: override.segmentName, kind: "changed", changes, copied: null });
  }
  for (const override of target.overrides) {
    if (!sourceBySegment.has(override.segmentId)) {
      overrides.push({ segmentId: override.segmentId, segment: override.segmentName, kind: "removed", changes: {}, copied: null });
    }
  }
  // The order of the overrides both have: the target's now, and the source's (which it takes).
  const before = target.overrides.filter((o) => sourceBySegment.has(o.segmentId)).map((o) => o.segmentId);
  const after = source.overrides.filter((o) => targetBySegment.has(o.segmentId)).map((o) => o.segmentId);
  const reordered = before.some((segmentId, i) => segmentId !== after[i])
    ? { from: before.map((id) => targetBySegment.get(id)!.segmentName), to: after.map((id) => sourceBySegment.get(id)!.segmentName) }
    : null;
  return { defaults, overrides, reordered, identical: !hasChanges(defaults) && overrides.length === 0 && reordered === null };
}

/** A string equal for two environments exactly when `diffFeature` finds them identical. */
export function stateSignature(state: FeatureInEnvironment): string {
  const part = (s: ComparableState) => [s.enabled, s.value ?? null, effectiveWeights(s.allocations).map((w) => [w.optionId, w.percentageAllocation])];
  return JSON.stringify([part(state.defaults), state.overrides.map((o) => [o.segmentId, ...part(o)])]);
}
