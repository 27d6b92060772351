/**
 * Feature-state changes shared by environment defaults, segment overrides, identity overrides and
 * scheduled changes: enabled, typed value, and multivariate allocations (validated: options of the
 * feature, each 0–100, sum ≤ 100).
 */
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Executor } from "@/server/db/client";
import { featureStates, multivariateOptions, multivariateStateValues, type StoredValue } from "@/server/db/schema";
import { badInput, notFound } from "@/server/errors";
import { checkAllocations } from "./values";
import { describeValue, optionLabel } from "@/server/audit/summary";
import { auditAllocations } from "@/server/audit/readable";

export interface Allocation {
  optionId: number;
  percentageAllocation: number;
}

export interface StateChange {
  enabled?: boolean;
  value?: StoredValue;
  /** Allocations to set; options not listed keep theirs. */
  allocations?: Allocation[];
}

export interface StateSnapshot {
  enabled: boolean;
  value: StoredValue;
  allocations: Allocation[];
}

export type FeatureStateRow = typeof featureStates.$inferSelect;

export async function snapshotState(tx: Executor, stateId: number): Promise<StateSnapshot> {
  const [state] = await tx.select().from(featureStates).where(eq(featureStates.id, stateId));
  if (!state) throw notFound("Feature state");
  const allocations = await tx
    .select({ optionId: multivariateStateValues.optionId, percentageAllocation: multivariateStateValues.percentageAllocation })
    .from(multivariateStateValues)
    .where(eq(multivariateStateValues.featureStateId, stateId))
    .orderBy(asc(multivariateStateValues.id));
  return { enabled: state.enabled, value: state.value ?? null, allocations };
}

/** Locks and returns a state row (FOR UPDATE), or NOT_FOUND. */
export async function lockState(tx: Executor, stateId: number): Promise<FeatureStateRow> {
  const [state] = await tx.select().from(featureStates).where(eq(featureStates.id, stateId)).for("update");
  if (!state) throw notFound("Feature state");
  return state;
}

/**
 * Applies `change` to a state (already locked by the caller) and returns before/after snapshots.
 * Throws BAD_REQUEST (field `allocations`) for foreign options or totals over 100.
 */
export async function applyStateChange(
  tx: Executor,
  state: FeatureStateRow,
  change: StateChange,
): Promise<{ before: StateSnapshot; after: StateSnapshot }> {
  const before = await snapshotState(tx, state.id);
  if (change.allocations && change.allocations.length > 0) {
    const optionIds = change.allocations.map((a) => a.optionId);
    if (new Set(optionIds).size !== optionIds.length) throw badInput("Each option can be allocated once", "allocations");
    const options = await tx
      .select({ id: multivariateOptions.id })
      .from(multivariateOptions)
      .where(and(eq(multivariateOptions.featureId, state.featureId), inArray(multivariateOptions.id, optionIds)));
    if (options.length !== optionIds.length) throw badInput("Unknown multivariate option for this feature", "allocations");
    const merged = new Map(before.allocations.map((a) => [a.optionId, a.percentageAllocation]));
    for (const allocation of change.allocations) merged.set(allocation.optionId, allocation.percentageAllocation);
    const problem = checkAllocations([...merged.values()]);
    if (problem) throw badInput(problem, "allocations");
    for (const allocation of change.allocations) {
      await tx
        .insert(multivariateStateValues)
        .values({ featureStateId: state.id, optionId: allocation.optionId, percentageAllocation: allocation.percentageAllocation })
        .onConflictDoUpdate({
          target: [multivariateStateValues.featureStateId, multivariateStateValues.optionId],
          set: { percentageAllocation: allocation.percentageAllocation },
        });
    }
  }
  const set: Partial<typeof featureStates.$inferInsert> = { updatedAt: new Date() };
  if (change.enabled !== undefined) set.enabled = change.enabled;
  if (change.value !== undefined) set.value = change.value;
  await tx.update(featureStates).set(set).where(eq(featureStates.id, state.id));
  return { before, after: await snapshotState(tx, state.id) };
}

/** Summary names of the options `allocations` mention (no query when there are none). */
export async function optionNames(tx: Executor, allocations: readonly Allocation[]): Promise<Map<number, string>> {
  const ids = [...new Set(allocations.map((a) => a.optionId))];
  if (ids.length === 0) return new Map();
  const rows = await tx
    .select({ id: multivariateOptions.id, value: multivariateOptions.value, key: multivariateOptions.key })
    .from(multivariateOptions)
    .where(inArray(multivariateOptions.id, ids));
  return new Map(rows.map((row) => [row.id, optionLabel({ value: row.value ?? null, key: row.key })]));
}

/**
 * A state as audit rows store it (the audit log's before/after): options by name, never by id
 * (`auditAllocations`); no allocations listed for a feature without options.
 */
export function auditState(snapshot: StateSnapshot, names: ReadonlyMap<number, string>): { enabled: boolean; value: StoredValue; allocations?: Record<string, number> } {
  return {
    enabled: snapshot.enabled,
    value: snapshot.value,
    ...(snapshot.allocations.length > 0 ? { allocations: auditAllocations(snapshot.allocations, names) } : {}),
  };
}

/** An option in a summary: its name, or "a removed variation" (never its internal id). */
export function nameOption(names: ReadonlyMap<number, string>, optionId: number): string {
  return names.get(optionId) ?? "a removed variation";
}

/** `"green" 30% → 40%, "red" 20% → 10%`: the options whose share changed (an option not listed has 0%). */
export function describeAllocationChange(before: readonly Allocation[], after: readonly Allocation[], names: ReadonlyMap<number, string>): string {
  const was = new Map(before.map((a) => [a.optionId, a.percentageAllocation]));
  const now = new Map(after.map((a) => [a.optionId, a.percentageAllocation]));
  const ids = [...new Set([...before, ...after].map((a) => a.optionId))];
  return ids
    .filter((id) => (was.get(id) ?? 0) !== (now.get(id) ?? 0))
    .map((id) => `${nameOption(names, id)} ${was.get(id) ?? 0}% → ${now.get(id) ?? 0}%`)
    .join(", ");
}

/**
 * `enabled, value "a" → "b", allocations "green" 30% → 40%`. `names` (from `optionNames`) names the
 * options whose allocation changed.
 */
export function describeStateChange(before: StateSnapshot, after: StateSnapshot, names: ReadonlyMap<number, string> = new Map()): string {
  const parts: string[] = [];
  if (before.enabled !== after.enabled) parts.push(after.enabled ? "enabled" : "disabled");
  if (JSON.stringify(before.value) !== JSON.stringify(after.value)) parts.push(`value ${describeValue(before.value)} → ${describeValue(after.value)}`);
  const allocations = describeAllocationChange(before.allocations, after.allocations, names);
  if (allocations) parts.push(`allocations ${allocations}`);
  return parts.length ? parts.join(", ") : "no change";
}

/**
 * Gives new states their feature's multivariate options with the options' default allocations, in
 * option order (so bucket order follows option creation).
 */
export async function seedAllocations(tx: Executor, stateIds: number[]): Promise<void> {
  if (stateIds.length === 0) return;
  await tx.execute(sql`
    insert into multivariate_state_values (feature_state_id, option_id, percentage_allocation)
    select s.id, o.id, o.default_percentage_allocation
      from feature_states s
      join multivariate_options o on o.feature_id = s.feature_id
     where s.id = any(${idArray(stateIds)})
     order by s.id, o.id
    on conflict do nothing`);
}

/** A bigint[] parameter. */
export function idArray(ids: number[]) {
  return sql`${`{${ids.map((id) => Math.trunc(Number(id))).join(",")}}`}::bigint[]`;
}
