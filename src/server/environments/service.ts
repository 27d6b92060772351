import { and, asc, desc, eq, isNull } from "drizzle-orm";
import { getDb, type Executor, type Tx } from "@/server/db/client";
import { environmentApiKeys, environments, projects } from "@/server/db/schema";
import { commitChange } from "@/server/audit/change";
import type { Actor } from "@/server/auth/principal";
import { keyPrefix, newClientKey, newServerKey, sha256 } from "@/server/auth/crypto";
import { environmentsChanged } from "@/server/documents/changes";
import { conflict, isUniqueViolation, notFound, requireSomeChange } from "@/server/errors";
import { bindContext } from "@/server/observability/context";
import { getLogger } from "@/server/observability/logger";
import { pick } from "@/server/projects/service";
import { copyEnvironmentStates, insertMissingStatesForEnvironment, seedEnvironment, type SeedOptions } from "@/server/features/seeding";

const log = getLogger("environments");

const NAME_TAKEN = "An environment with this name already exists in this project";

export async function listEnvironments(projectId: number) {
  return getDb().select().from(environments).where(eq(environments.projectId, projectId)).orderBy(asc(environments.id));
}

export async function getEnvironment(environmentId: number, executor: Executor = getDb()) {
  const [environment] = await executor.select().from(environments).where(eq(environments.id, environmentId)).limit(1);
  if (!environment) throw notFound("Environment");
  return environment;
}

/** The environment, locked against deletion until the transaction ends (NOT_FOUND when already gone). */
async function lockEnvironment(tx: Tx, environmentId: number) {
  const [environment] = await tx.select().from(environments).where(eq(environments.id, environmentId)).for("key share");
  if (!environment) throw notFound("Environment");
  return environment;
}

async function organisationOf(executor: Executor, projectId: number): Promise<number> {
  const [project] = await executor.select({ organisationId: projects.organisationId }).from(projects).where(eq(projects.id, projectId));
  if (!project) throw notFound("Project");
  return project.organisationId;
}

/**
 * Creates an environment in three steps: (1) the row with `is_creating = true`, its audit row and
 * a (deferred) document write; (2) seeding its feature states, in batches; (3) a plain UPDATE
 * clearing `is_creating`, which enqueues the write that publishes it. A failure in (2) removes the
 * half-created environment.
 */
export async function createEnvironment(
  actor: Actor,
  projectId: number,
  input: { name: string; description?: string | null },
  seedOptions: SeedOptions = {},
) {
  let environment: typeof environments.$inferSelect;
  try {
    environment = await getDb().transaction(async (tx) => {
      const organisationId = await organisationOf(tx, projectId);
      const [created] = await tx
        .insert(environments)
        .values({ projectId, name: input.name, description: input.description ?? null, apiKey: newClientKey(), isCreating: true })
        .returning();
      await commitChange(
        tx,
        actor,
        {
          organisationId,
          projectId,
          environmentId: created.id,
          action: "environment.created",
          resourceType: "environment",
          resourceId: created.id,
          summary: `Environment "${created.name}" created`,
          after: { name: created.name },
        },
        { environmentIds: [created.id] },
      );
      return created;
    });
  } catch (error) {
    if (isUniqueViolation(error, "environments_project_name_lower_uq")) throw conflict(NAME_TAKEN, "name");
    throw error;
  }
  bindContext({ "environment.id": environment.id });
  await finishCreation(environment.id, () => seedEnvironment(environment.id, seedOptions));
  log.info("environment.created", { environment__id: environment.id });
  return { ...environment, isCreating: false };
}

/**
 * Clones an environment: a new environment (new client key, same settings) holding copies of the
 * source's default states, segment overrides and identity overrides, hashing seeds included;
 * `is_creating` is held until the copy is complete.
 */
export async function cloneEnvironment(actor: Actor, sourceId: number, input: { name: string; description?: string | null }, seedOptions: SeedOptions = {}) {
  let environment: typeof environments.$inferSelect;
  try {
    environment = await getDb().transaction(async (tx) => {
      const source = await getEnvironment(sourceId, tx);
      const organisationId = await organisationOf(tx, source.projectId);
      const [created] = await tx
        .insert(environments)
        .values({
          projectId: source.projectId,
          name: input.name,
          description: input.description ?? source.description,
          apiKey: newClientKey(),
          allowClientTraits: source.allowClientTraits,
          hideDisabledFlags: source.hideDisabledFlags,
          useIdentityCompositeKeyForHashing: source.useIdentityCompositeKeyForHashing,
          useIdentityOverridesInLocalEval: source.useIdentityOverridesInLocalEval,
          hideSensitiveData: source.hideSensitiveData,
          isProtected: source.isProtected,
          isCreating: true,
        })
        .returning();
      await commitChange(
        tx,
        actor,
        {
          organisationId,
          projectId: source.projectId,
          environmentId: created.id,
          action: "environment.cloned",
          resourceType: "environment",
          resourceId: created.id,
          summary: `Environment "${created.name}" cloned from "${source.name}"`,
          after: { name: created.name, sourceEnvironmentId: sourceId },
        },
        { environmentIds: [created.id] },
      );
      return created;
    });
  } catch (error) {
    if (isUniqueViolation(error, "environments_project_name_lower_uq")) throw conflict(NAME_TAKEN, "name");
    throw error;
  }
  bindContext({ "environment.id": environment.id });
  await finishCreation(environment.id, async () => {
    await copyEnvironmentStates(sourceId, environment.id, seedOptions);
    // Features created during the copy are seeded with their defaults.
    await seedEnvironment(environment.id, seedOptions);
  });
  log.info("environment.cloned", { environment__id: environment.id, source_environment__id: sourceId });
  return { ...environment, isCreating: false };
}

/**
 * Runs the seeding step of a creation, then clears `is_creating` (publishing the environment);
 * if seeding fails, deletes the half-created environment and rethrows.
 */
export async function finishCreation(environmentId: number, seed: () => Promise<void>): Promise<void> {
  try {
    await seed();
  } catch (error) {
    await getDb().delete(environments).where(eq(environments.id, environmentId));
    log.error("environment.creation_failed", { environment__id: environmentId, error });
    throw error;
  }
  await getDb().transaction(async (tx) => {
    // Features created while this environment was seeding may have missed it.
    await insertMissingStatesForEnvironment(tx, environmentId);
    await tx.update(environments).set({ isCreating: false }).where(eq(environments.id, environmentId));
    await environmentsChanged(tx, { environmentIds: [environmentId] }, "environment.creation_finished");
  });
}

export interface EnvironmentSettings {
  name?: string;
  description?: string | null;
  allowClientTraits?: boolean;
  hideDisabledFlags?: boolean | null;
  useIdentityCompositeKeyForHashing?: boolean;
  useIdentityOverridesInLocalEval?: boolean;
  hideSensitiveData?: boolean;
  /** Admin-only: the UI confirms toggles and value changes in a protected environment. */
  isProtected?: boolean;
}

/** Settings no document carries: changing only these bumps no revision and writes no document. */
const ADMIN_ONLY_SETTINGS: ReadonlySet<string> = new Set(["isProtected"]);

function updateSummary(before: { name: string }, after: { name: string; isProtected: boolean }, changes: EnvironmentSettings, changed: string[]): string {
  if (changes.name && changes.name !== before.name) return `Environment "${before.name}" renamed to "${changes.name}"`;
  if (changed.length === 1 && changed[0] === "isProtected") {
    return after.isProtected ? `Environment "${after.name}" protected: changes ask for confirmation` : `Environment "${after.name}" no longer protected`;
  }
  return `Environment "${after.name}" settings updated (${changed.join(", ") || "no change"})`;
}

export async function updateEnvironment(actor: Actor, environmentId: number, changes: EnvironmentSettings) {
  requireSomeChange(changes);
  try {
    return await getDb().transaction(async (tx) => {
      const [before] = await tx.select().from(environments).where(eq(environments.id, environmentId)).for("update");
      if (!before) throw notFound("Environment");
      const [after] = await tx.update(environments).set(changes).where(eq(environments.id, environmentId)).returning();
      const changed = Object.keys(changes).filter((k) => before[k as keyof typeof before] !== after[k as keyof typeof after]);
      await commitChange(
        tx,
        actor,
        {
          organisationId: await organisationOf(tx, before.projectId),
          projectId: before.projectId,
          environmentId,
          action: "environment.updated",
          resourceType: "environment",
          resourceId: environmentId,
          summary: updateSummary(before, after, changes, changed),
          before: pick(before, changed),
          after: pick(after, changed),
        },
        // What SDKs and flagd read changes only with the other settings (and the name).
        changed.length > 0 && changed.every((key) => ADMIN_ONLY_SETTINGS.has(key)) ? null : { environmentIds: [environmentId] },
      );
      log.info("environment.updated", { environment__id: environmentId });
      return after;
    });
  } catch (error) {
    if (isUniqueViolation(error, "environments_project_name_lower_uq")) throw conflict(NAME_TAKEN, "name");
    throw error;
  }
}

export async function deleteEnvironment(actor: Actor, environmentId: number) {
  await getDb().transaction(async (tx) => {
    const [deleted] = await tx.delete(environments).where(eq(environments.id, environmentId)).returning();
    if (!deleted) throw notFound("Environment");
    await commitChange(
      tx,
      actor,
      {
        organisationId: await organisationOf(tx, deleted.projectId),
        projectId: deleted.projectId,
        environmentId,
        action: "environment.deleted",
        resourceType: "environment",
        resourceId: environmentId,
        summary: `Environment "${deleted.name}" deleted`,
        before: { name: deleted.name },
      },
      null,
    );
  });
  log.info("environment.deleted", { environment__id: environmentId });
}

export async function listServerKeys(environmentId: number) {
  return getDb()
    .select({
      id: environmentApiKeys.id,
      name: environmentApiKeys.name,
      prefix: environmentApiKeys.prefix,
      active: environmentApiKeys.active,
      expiresAt: environmentApiKeys.expiresAt,
      createdAt: environmentApiKeys.createdAt,
    })
    .from(environmentApiKeys)
    .where(and(eq(environmentApiKeys.environmentId, environmentId), isNull(environmentApiKeys.revokedAt)))
    .orderBy(desc(environmentApiKeys.createdAt));
}

/**
 * Creates a server-side key (`ser.…`), returned once; only its sha256 is stored. `key` lets
 * operators provision a known value (bootstrap scripts); it must start with `ser.`.
 */
export async function createServerKey(actor: Actor, environmentId: number, name: string, key: string = newServerKey()) {
  try {
    const row = await getDb().transaction(async (tx) => {
      const environment = await lockEnvironment(tx, environmentId);
      const [created] = await tx
        .insert(environmentApiKeys)
        .values({ environmentId, name, prefix: keyPrefix(key), keyHash: sha256(key) })
        .returning({ id: environmentApiKeys.id, name: environmentApiKeys.name, prefix: environmentApiKeys.prefix, createdAt: environmentApiKeys.createdAt });
      await commitChange(
        tx,
        actor,
        {
          organisationId: await organisationOf(tx, environment.projectId),
          projectId: environment.projectId,
          environmentId,
          action: "server_key.created",
          resourceType: "server_key",
          resourceId: created.id,
          summary: `Server-side key "${name}" created`,
        },
        null,
      );
      return created;
    });
    log.info("server_key.created", { environment__id: environmentId, server_key__id: row.id });
    return { ...row, key };
  } catch (error) {
    if (isUniqueViolation(error, "environment_api_keys_hash_uq")) throw conflict("This key already exists", "key");
    throw error;
  }
}

export async function revokeServerKey(actor: Actor, environmentId: number, serverKeyId: number) {
  await getDb().transaction(async (tx) => {
    const environment = await lockEnvironment(tx, environmentId);
    const [revoked] = await tx
      .update(environmentApiKeys)
      .set({ active: false, revokedAt: new Date() })
      .where(and(eq(environmentApiKeys.id, serverKeyId), eq(environmentApiKeys.environmentId, environmentId), isNull(environmentApiKeys.revokedAt)))
      .returning({ name: environmentApiKeys.name });
    if (!revoked) throw notFound("Server-side key");
    await commitChange(
      tx,
      actor,
      {
        organisationId: await organisationOf(tx, environment.projectId),
        projectId: environment.projectId,
        environmentId,
        action: "server_key.revoked",
        resourceType: "server_key",
        resourceId: serverKeyId,
        summary: `Server-side key "${revoked.name}" revoked`,
      },
      null,
    );
  });
  log.info("server_key.revoked", { environment__id: environmentId, server_key__id: serverKeyId });
}
