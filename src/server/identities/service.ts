/**
 * Identities (per environment), their traits, and identity overrides (feature states with
 * `identity_id`, part of the environment document's `identity_overrides`).
 *
 * Admin mutations are audited; only identity overrides change what an environment serves, so only
 * they (and deleting an identity that has some) rewrite the environment's document.
 *
 * The store functions at the end (`getOrCreateIdentity`, `loadTraits`, `upsertTraits`,
 * `deleteTraits`) are the SDK endpoints' path: plain reads/writes, no audit, no document write.
 */
import { and, asc, eq, gt, ilike, inArray, isNotNull, sql, type SQL } from "drizzle-orm";
import { getDb, type Executor } from "../db/client";
import { containsPattern } from "../db/like";
import { environments, featureStates, features, identities, projects, traits, type StoredValue } from "../db/schema";
import { commitChange } from "../audit/change";
import type { Actor } from "../auth/principal";
import { conflict, DomainError, isUniqueViolation, notFound } from "../errors";
import { applyStateChange, describeStateChange, lockState, type FeatureStateRow } from "../features/states";
import { describeValue } from "../features/values";
import { bindContext } from "../observability/context";
import { getLogger } from "../observability/logger";
import { plural } from "../text";

const log = getLogger("identities");

const IDENTIFIER_TAKEN = "An identity with this identifier already exists in this environment";
const IDENTIFIER_CONSTRAINT = "identities_environment_identifier_uq";
const OVERRIDE_TAKEN = "This identity already overrides this feature";
const OVERRIDE_CONSTRAINT = "feature_states_identity_uq";

export const MAX_IDENTIFIER_LENGTH = 2000;
export const MAX_TRAIT_KEY_LENGTH = 200;
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export type IdentityRow = typeof identities.$inferSelect;
export type TraitValue = string | number | boolean | null;

/** Trait value type as Flagsmith names it (`int`, `float`, `bool`, `unicode`), for display. */
export function traitValueType(value: StoredValue | undefined): "int" | "float" | "bool" | "unicode" | "none" {
  if (value === null || value === undefined) return "none";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  return "unicode";
}

interface IdentityContext {
  identity: IdentityRow;
  environmentName: string;
  projectId: number;
  organisationId: number;
}

/**
 * The identity with its environment and project, or NOT_FOUND. `lock` locks the identity row:
 * `update` to delete it, `key share` to add overrides to it (the two exclude each other, so an
 * override is never added to an identity being deleted, and a deletion counts every override).
 */
async function identityContext(executor: Executor, identityId: number, lock?: "update" | "key share"): Promise<IdentityContext> {
  const query = executor
    .select({ identity: identities, environmentName: environments.name, projectId: environments.projectId, organisationId: projects.organisationId })
    .from(identities)
    .innerJoin(environments, eq(environments.id, identities.environmentId))
    .innerJoin(projects, eq(projects.id, environments.projectId))
    .where(eq(identities.id, identityId));
  const [row] = lock ? await query.for(lock, { of: identities }) : await query;
  if (!row) throw notFound("Identity");
  return row;
}

function auditBase(context: IdentityContext) {
  return {
    organisationId: context.organisationId,
    projectId: context.projectId,
    environmentId: context.identity.environmentId,
  };
}

// ---------------------------------------------------------------------------------------------
// Identities
// ---------------------------------------------------------------------------------------------

export interface IdentityListQuery {
  environmentId: number;
  /** Case-insensitive substring of the identifier (a prefix matches too). */
  search?: string;
  /** The last identifier of the previous page (keyset pagination, identifiers ascending). */
  cursor?: string;
  limit?: number;
}

export async function listIdentities(query: IdentityListQuery) {
  const limit = Math.min(Math.max(query.limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
  const conditions: SQL[] = [eq(identities.environmentId, query.environmentId)];
  if (query.search) conditions.push(ilike(identities.identifier, containsPattern(query.search)));
  if (query.cursor !== undefined) conditions.push(gt(identities.identifier, query.cursor));
  const rows = await getDb()
    .select({ id: identities.id, identifier: identities.identifier, createdAt: identities.createdAt })
    .from(identities)
    .where(and(...conditions))
    .orderBy(asc(identities.identifier))
    .limit(limit + 1);
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  return { items, nextCursor: hasMore ? items[items.length - 1].identifier : null };
}

/** An identity with its traits and identity overrides. */
export async function getIdentity(identityId: number) {
  const { identity } = await identityContext(getDb(), identityId);
  const traitRows = await loadTraits(identityId);
  return {
    ...identity,
    traits: traitRows.map((t) => ({ ...t, type: traitValueType(t.value) })),
    overrides: await listIdentityOverrides(identityId),
  };
}

export async function createIdentity(actor: Actor, environmentId: number, identifier: string) {
  let created: IdentityRow;
  try {
    created = await getDb().transaction(async (tx) => {
      const [environment] = await tx
        .select({ projectId: environments.projectId, organisationId: projects.organisationId, name: environments.name })
        .from(environments)
        .innerJoin(projects, eq(projects.id, environments.projectId))
        .where(eq(environments.id, environmentId));
      if (!environment) throw notFound("Environment");
      const [row] = await tx.insert(identities).values({ environmentId, identifier }).returning();
      await commitChange(
        tx,
        actor,
        {
          organisationId: environment.organisationId,
          projectId: environment.projectId,
          environmentId,
          action: "identity.created",
          resourceType: "identity",
          resourceId: row.id,
          summary: `Identity "${identifier}" created in "${environment.name}"`,
          after: { identifier },
        },
        null,
      );
      return row;
    });
  } catch (error) {
    if (isUniqueViolation(error, IDENTIFIER_CONSTRAINT)) throw conflict(IDENTIFIER_TAKEN, "identifier");
    throw error;
  }
  log.info("identity.created", { identity__id: created.id });
  return created;
}

/**
 * The identity with exactly this identifier in the environment, created (and audited) when there is
 * none, as the SDK API does on first sight. Safe against a concurrent creation of the same identity.
 */
export async function findOrCreateIdentity(actor: Actor, environmentId: number, identifier: string): Promise<IdentityRow> {
  const find = async () =>
    (await getDb().select().from(identities).where(and(eq(identities.environmentId, environmentId), eq(identities.identifier, identifier))))[0];
  const existing = await find();
  if (existing) return existing;
  try {
    return await createIdentity(actor, environmentId, identifier);
  } catch (error) {
    const raced = error instanceof DomainError && error.code === "CONFLICT" ? await find() : undefined;
    if (raced) return raced;
    throw error;
  }
}

/** Deletes an identity with its traits and overrides (the document changes iff it had overrides). */
export async function deleteIdentity(actor: Actor, identityId: number) {
  const deleted = await getDb().transaction(async (tx) => {
    const context = await identityContext(tx, identityId, "update");
    const [{ overrides }] = await tx
      .select({ overrides: sql<number>`count(*)::int` })
      .from(featureStates)
      .where(eq(featureStates.identityId, identityId));
    await tx.delete(identities).where(eq(identities.id, identityId));
    await commitChange(
      tx,
      actor,
      {
        ...auditBase(context),
        action: "identity.deleted",
        resourceType: "identity",
        resourceId: identityId,
        summary: `Identity "${context.identity.identifier}" deleted from "${context.environmentName}"${overrides ? ` with its ${plural(overrides, "override")}` : ""}`,
        before: { identifier: context.identity.identifier, overrides },
      },
      overrides > 0 ? { environmentIds: [context.identity.environmentId] } : null,
    );
    return context.identity;
  });
  log.info("identity.deleted", { identity__id: deleted.id });
}

// ---------------------------------------------------------------------------------------------
// Traits (admin)
// ---------------------------------------------------------------------------------------------

/**
 * Sets a trait. As in Flagsmith, a null value removes the trait (audited as `trait.deleted`).
 * Returns the identity's traits.
 */
export async function setTrait(actor: Actor, identityId: number, key: string, value: TraitValue) {
  if (value === null) {
    await removeTrait(actor, identityId, key, { missingOk: true });
    return (await loadTraits(identityId)).map((t) => ({ ...t, type: traitValueType(t.value) }));
  }
  await getDb().transaction(async (tx) => {
    const context = await identityContext(tx, identityId);
    const [before] = await tx.select({ value: traits.value }).from(traits).where(and(eq(traits.identityId, identityId), eq(traits.key, key))).for("update");
    await tx
      .insert(traits)
      .values({ identityId, key, value })
      .onConflictDoUpdate({ target: [traits.identityId, traits.key], set: { value, updatedAt: new Date() } });
    await commitChange(
      tx,
      actor,
      {
        ...auditBase(context),
        action: "trait.updated",
        resourceType: "trait",
        resourceId: identityId,
        summary: before
          ? `Identity "${context.identity.identifier}": trait "${key}" ${describeValue(before.value ?? null)} → ${describeValue(value)}`
          : `Identity "${context.identity.identifier}": trait "${key}" set to ${describeValue(value)}`,
        before: before ? { key, value: before.value ?? null } : null,
        after: { key, value },
      },
      null,
    );
  });
  log.info("trait.updated", { identity__id: identityId, trait__key: key });
  return (await loadTraits(identityId)).map((t) => ({ ...t, type: traitValueType(t.value) }));
}

export async function deleteTrait(actor: Actor, identityId: number, key: string) {
  await removeTrait(actor, identityId, key, { missingOk: false });
}

async function removeTrait(actor: Actor, identityId: number, key: string, options: { missingOk: boolean }) {
  const removed = await getDb().transaction(async (tx) => {
    const context = await identityContext(tx, identityId);
    const [deleted] = await tx.delete(traits).where(and(eq(traits.identityId, identityId), eq(traits.key, key))).returning({ value: traits.value });
    if (!deleted) {
      if (options.missingOk) return false;
      throw notFound("Trait");
    }
    await commitChange(
      tx,
      actor,
      {
        ...auditBase(context),
        action: "trait.deleted",
        resourceType: "trait",
        resourceId: identityId,
        summary: `Identity "${context.identity.identifier}": trait "${key}" removed`,
        before: { key, value: deleted.value ?? null },
      },
      null,
    );
    return true;
  });
  if (removed) log.info("trait.deleted", { identity__id: identityId, trait__key: key });
}

// ---------------------------------------------------------------------------------------------
// Identity overrides
// ---------------------------------------------------------------------------------------------

export interface IdentityOverrideView {
  id: number;
  identityId: number;
  featureId: number;
  featureName: string;
  featureType: "STANDARD" | "MULTIVARIATE";
  environmentId: number;
  enabled: boolean;
  value: StoredValue;
  updatedAt: Date;
}

const overrideColumns = {
  id: featureStates.id,
  identityId: featureStates.identityId,
  featureId: featureStates.featureId,
  featureName: features.name,
  featureType: features.type,
  environmentId: featureStates.environmentId,
  enabled: featureStates.enabled,
  value: featureStates.value,
  updatedAt: featureStates.updatedAt,
};

/** The identity's overrides, by feature name. */
export async function listIdentityOverrides(identityId: number, executor: Executor = getDb()): Promise<IdentityOverrideView[]> {
  const rows = await executor
    .select(overrideColumns)
    .from(featureStates)
    .innerJoin(features, eq(features.id, featureStates.featureId))
    .where(eq(featureStates.identityId, identityId))
    .orderBy(asc(sql`lower(${features.name})`), asc(featureStates.id));
  return rows.map(toView);
}

function toView<T extends { identityId: number | null; value: StoredValue | null }>(row: T): T & { identityId: number; value: StoredValue } {
  return { ...row, identityId: row.identityId ?? 0, value: row.value ?? null };
}

export interface FeatureOverridesQuery {
  featureId: number;
  environmentId: number;
  /** Case-insensitive substring of the identifier. */
  search?: string;
  /** The last identifier of the previous page. */
  cursor?: string;
  limit?: number;
}

/** A feature's identity overrides in one environment (for the feature page), identifiers ascending. */
export async function listFeatureIdentityOverrides(query: FeatureOverridesQuery) {
  const limit = Math.min(Math.max(query.limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
  const conditions: SQL[] = [eq(featureStates.featureId, query.featureId), eq(featureStates.environmentId, query.environmentId), isNotNull(featureStates.identityId)];
  if (query.search) conditions.push(ilike(identities.identifier, containsPattern(query.search)));
  if (query.cursor !== undefined) conditions.push(gt(identities.identifier, query.cursor));
  const rows = await getDb()
    .select({ ...overrideColumns, identifier: identities.identifier })
    .from(featureStates)
    .innerJoin(features, eq(features.id, featureStates.featureId))
    .innerJoin(identities, eq(identities.id, featureStates.identityId))
    .where(and(...conditions))
    .orderBy(asc(identities.identifier))
    .limit(limit + 1);
  const hasMore = rows.length > limit;
  const items = (hasMore ? rows.slice(0, limit) : rows).map(toView);
  return { items, nextCursor: hasMore ? items[items.length - 1].identifier : null };
}

async function loadIdentityOverride(tx: Executor, featureStateId: number): Promise<FeatureStateRow & { identityId: number }> {
  const state = await lockState(tx, featureStateId);
  if (state.identityId === null) throw notFound("Identity override");
  return state as FeatureStateRow & { identityId: number };
}

async function featureName(tx: Executor, featureId: number): Promise<string> {
  const [feature] = await tx.select({ name: features.name }).from(features).where(eq(features.id, featureId));
  if (!feature) throw notFound("Feature");
  return feature.name;
}

async function overrideView(featureStateId: number): Promise<IdentityOverrideView> {
  const [row] = await getDb().select(overrideColumns).from(featureStates).innerJoin(features, eq(features.id, featureStates.featureId)).where(eq(featureStates.id, featureStateId));
  if (!row) throw notFound("Identity override");
  return toView(row);
}

export interface NewIdentityOverride {
  identityId: number;
  featureId: number;
  enabled: boolean;
  value: StoredValue;
}

export async function createIdentityOverride(actor: Actor, input: NewIdentityOverride) {
  let created: { id: number; environmentId: number };
  try {
    created = await getDb().transaction(async (tx) => {
      const context = await identityContext(tx, input.identityId, "key share");
      const [feature] = await tx.select({ id: features.id, name: features.name, projectId: features.projectId }).from(features).where(eq(features.id, input.featureId));
      if (!feature || feature.projectId !== context.projectId) throw notFound("Feature");
      const environmentId = context.identity.environmentId;
      const [existing] = await tx
        .select({ id: featureStates.id })
        .from(featureStates)
        .where(and(eq(featureStates.featureId, feature.id), eq(featureStates.environmentId, environmentId), eq(featureStates.identityId, input.identityId)));
      if (existing) throw conflict(OVERRIDE_TAKEN, "featureId");
      const [state] = await tx
        .insert(featureStates)
        .values({ featureId: feature.id, environmentId, identityId: input.identityId, enabled: input.enabled, value: input.value })
        .returning();
      await commitChange(
        tx,
        actor,
        {
          ...auditBase(context),
          featureId: feature.id,
          action: "identity_override.created",
          resourceType: "identity_override",
          resourceId: state.id,
          summary: `Feature "${feature.name}" overridden for identity "${context.identity.identifier}" in "${context.environmentName}" (${state.enabled ? "enabled" : "disabled"}, value ${describeValue(state.value ?? null)})`,
          after: { identityId: input.identityId, identifier: context.identity.identifier, enabled: state.enabled, value: state.value ?? null },
        },
        { environmentIds: [environmentId] },
      );
      return { id: state.id, environmentId };
    });
  } catch (error) {
    if (isUniqueViolation(error, OVERRIDE_CONSTRAINT)) throw conflict(OVERRIDE_TAKEN, "featureId");
    throw error;
  }
  bindContext({ "environment.id": created.environmentId });
  log.info("identity_override.created", { identity__id: input.identityId, feature__id: input.featureId, feature_state__id: created.id });
  return overrideView(created.id);
}

export async function updateIdentityOverride(actor: Actor, featureStateId: number, change: { enabled?: boolean; value?: StoredValue }) {
  const state = await getDb().transaction(async (tx) => {
    const override = await loadIdentityOverride(tx, featureStateId);
    const context = await identityContext(tx, override.identityId);
    const name = await featureName(tx, override.featureId);
    const { before, after } = await applyStateChange(tx, override, { enabled: change.enabled, value: change.value });
    await commitChange(
      tx,
      actor,
      {
        ...auditBase(context),
        featureId: override.featureId,
        action: "identity_override.updated",
        resourceType: "identity_override",
        resourceId: featureStateId,
        summary: `Feature "${name}" for identity "${context.identity.identifier}" in "${context.environmentName}": ${describeStateChange(before, after)}`,
        before: { enabled: before.enabled, value: before.value },
        after: { enabled: after.enabled, value: after.value },
      },
      { environmentIds: [override.environmentId] },
    );
    return override;
  });
  bindContext({ "environment.id": state.environmentId });
  log.info("identity_override.updated", { identity__id: state.identityId, feature__id: state.featureId, feature_state__id: featureStateId });
  return overrideView(featureStateId);
}

export async function deleteIdentityOverride(actor: Actor, featureStateId: number) {
  const state = await getDb().transaction(async (tx) => {
    const override = await loadIdentityOverride(tx, featureStateId);
    const context = await identityContext(tx, override.identityId);
    const name = await featureName(tx, override.featureId);
    await tx.delete(featureStates).where(eq(featureStates.id, featureStateId));
    await commitChange(
      tx,
      actor,
      {
        ...auditBase(context),
        featureId: override.featureId,
        action: "identity_override.deleted",
        resourceType: "identity_override",
        resourceId: featureStateId,
        summary: `Feature "${name}" override for identity "${context.identity.identifier}" in "${context.environmentName}" removed`,
        before: { identityId: override.identityId, identifier: context.identity.identifier, enabled: override.enabled, value: override.value ?? null },
      },
      { environmentIds: [override.environmentId] },
    );
    return override;
  });
  bindContext({ "environment.id": state.environmentId });
  log.info("identity_override.deleted", { identity__id: state.identityId, feature__id: state.featureId, feature_state__id: featureStateId });
}

// ---------------------------------------------------------------------------------------------
// Store functions for the SDK endpoints (no audit, no document write; callers validate input)
// ---------------------------------------------------------------------------------------------

/** The identity with this identifier in the environment, created if missing (race-safe). */
export async function getOrCreateIdentity(environmentId: number, identifier: string, executor: Executor = getDb()): Promise<IdentityRow> {
  const find = async () =>
    (await executor.select().from(identities).where(and(eq(identities.environmentId, environmentId), eq(identities.identifier, identifier))).limit(1))[0];
  const existing = await find();
  if (existing) return existing;
  const [inserted] = await executor.insert(identities).values({ environmentId, identifier }).onConflictDoNothing().returning();
  if (inserted) return inserted;
  const raced = await find();
  if (!raced) throw notFound("Identity");
  return raced;
}

/** The identity's traits, by key. */
export async function loadTraits(identityId: number, executor: Executor = getDb()): Promise<{ key: string; value: TraitValue }[]> {
  const rows = await executor.select({ key: traits.key, value: traits.value }).from(traits).where(eq(traits.identityId, identityId)).orderBy(asc(traits.key));
  return rows.map((r) => ({ key: r.key, value: r.value ?? null }));
}

/**
 * Writes traits in one statement (the last value wins when a key repeats). A null value deletes
 * the trait, as Flagsmith's SDK API does.
 */
export async function upsertTraits(identityId: number, input: readonly { key: string; value: TraitValue }[], executor: Executor = getDb()): Promise<void> {
  const latest = new Map<string, TraitValue>();
  for (const trait of input) latest.set(trait.key, trait.value);
  const removals = [...latest].filter(([, value]) => value === null).map(([key]) => key);
  const writes = [...latest].filter(([, value]) => value !== null).map(([key, value]) => ({ identityId, key, value }));
  if (removals.length > 0) await deleteTraits(identityId, removals, executor);
  if (writes.length > 0) {
    await executor
      .insert(traits)
      .values(writes)
      .onConflictDoUpdate({ target: [traits.identityId, traits.key], set: { value: sql`excluded.value`, updatedAt: sql`now()` } });
  }
}

export async function deleteTraits(identityId: number, keys: readonly string[], executor: Executor = getDb()): Promise<void> {
  if (keys.length === 0) return;
  await executor.delete(traits).where(and(eq(traits.identityId, identityId), inArray(traits.key, [...keys])));
}
