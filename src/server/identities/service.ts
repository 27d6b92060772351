/**
 * Identities (per environment) and their traits. Identity overrides (feature states with
 * `identity_id`, part of the environment document's `identity_overrides`) are feature states:
 * features/identity-overrides.ts.
 *
 * Admin mutations are audited; only identity overrides change what an environment serves, so only
 * they (and deleting an identity that has some) rewrite the environment's document. Every admin
 * mutation also NOTIFYs `identity_admin_changes` with the environment's id (on commit): what the
 * SDK API and OFREP answer for that identifier may have changed without a new document, and the
 * event streams of every web process tell their clients to fetch again (streams/hub.ts). The SDK
 * endpoints' own trait writes do not: every client of an environment would re-fetch after each of
 * them.
 *
 * The store functions at the end (`getOrCreateIdentity`, `loadTraits`, `upsertTraits`,
 * `deleteTraits`) are the SDK endpoints' path: plain reads/writes, no audit, no document write.
 */
import { and, asc, eq, gt, ilike, inArray, sql, type SQL } from "drizzle-orm";
import { getDb, type Executor } from "@/server/db/client";
import { containsPattern } from "@/server/db/like";
import { environments, featureStates, identities, projects, traits, type StoredValue } from "@/server/db/schema";
import { auditScope, commitChange } from "@/server/audit/change";
import type { Actor } from "@/server/auth/principal";
import { conflict, DomainError, isUniqueViolation, notFound } from "@/server/errors";
import { describeValue } from "@/server/audit/summary";
import { getLogger } from "@/server/observability/logger";
import { plural } from "@/server/text";

const log = getLogger("identities");

/** Channel of the admin UI's identity and trait changes; payload: the environment id. */
export const IDENTITY_ADMIN_CHANNEL = "identity_admin_changes";

/** Announces an admin change of an identity of `environmentId` (delivered when `tx` commits, after the `identity_changes` its writes caused). */
async function announceIdentityChange(tx: Executor, environmentId: number): Promise<void> {
  await tx.execute(sql`select pg_notify(${IDENTITY_ADMIN_CHANNEL}, ${String(environmentId)})`);
}

const IDENTIFIER_TAKEN = "An identity with this identifier already exists in this environment";
const IDENTIFIER_CONSTRAINT = "identities_environment_identifier_uq";

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

export interface IdentityContext {
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
export async function identityContext(executor: Executor, identityId: number, lock?: "update" | "key share"): Promise<IdentityContext> {
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

export function auditBase(context: IdentityContext) {
  return auditScope({ ...context, environmentId: context.identity.environmentId });
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

/** An identity with its traits (with its overrides: features/identity-overrides.ts). */
export async function getIdentity(identityId: number) {
  const { identity } = await identityContext(getDb(), identityId);
  const traitRows = await loadTraits(identityId);
  return {
    ...identity,
    traits: traitRows.map((t) => ({ ...t, type: traitValueType(t.value) })),
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
      await announceIdentityChange(tx, environmentId);
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
    await announceIdentityChange(tx, context.identity.environmentId);
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
    await announceIdentityChange(tx, context.identity.environmentId);
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
    await announceIdentityChange(tx, context.identity.environmentId);
    return true;
  });
  if (removed) log.info("trait.deleted", { identity__id: identityId, trait__key: key });
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
