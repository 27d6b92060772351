/**
 * Features (per project), their multivariate options, and their per-environment default states.
 */
import { and, asc, eq, ilike, inArray, sql, type SQL } from "drizzle-orm";
import { getDb, type Executor } from "@/server/db/client";
import { containsPattern } from "@/server/db/like";
import { featureStates, features, multivariateOptions, multivariateStateValues, type StoredValue } from "@/server/db/schema";
import { commitChange, organisationOfProject } from "@/server/audit/change";
import { environmentsChanged } from "@/server/documents/changes";
import type { Actor } from "@/server/auth/principal";
import { badInput, conflict, isUniqueViolation, notFound, requireSomeChange } from "@/server/errors";
import { bindContext } from "@/server/observability/context";
import { getLogger } from "@/server/observability/logger";
import { insertMissingStatesForFeature, seedFeature, type SeedOptions } from "./seeding";
import { applyStateChange, auditState, describeStateChange, lockState, optionNames, type StateChange } from "./states";
import { checkAllocations } from "./values";
import { describeValue } from "@/server/audit/summary";

const log = getLogger("features");

const NAME_TAKEN = "A feature with this name already exists in this project";

export type FeatureRow = typeof features.$inferSelect;

async function loadFeature(executor: Executor, featureId: number, lock = false): Promise<FeatureRow> {
  const query = executor.select().from(features).where(eq(features.id, featureId));
  const [feature] = lock ? await query.for("update") : await query;
  if (!feature) throw notFound("Feature");
  return feature;
}

export interface FeatureListQuery {
  projectId: number;
  /** Include each feature's default state in this environment. */
  environmentId?: number;
  search?: string;
  tag?: string;
  archived?: boolean;
}

export async function listFeatures(query: FeatureListQuery) {
  const conditions: SQL[] = [eq(features.projectId, query.projectId), eq(features.isCreating, false)];
  if (query.search) conditions.push(ilike(features.name, containsPattern(query.search)));
  if (query.tag) conditions.push(sql`${query.tag} = any(${features.tags})`);
  if (query.archived !== undefined) conditions.push(eq(features.isArchived, query.archived));
  const rows = await getDb().select().from(features).where(and(...conditions)).orderBy(asc(sql`lower(${features.name})`));
  if (query.environmentId === undefined || rows.length === 0) return rows.map((f) => ({ ...f, state: null }));
  const states = await getDb()
    .select()
    .from(featureStates)
    .where(
      and(
        eq(featureStates.environmentId, query.environmentId),
        inArray(featureStates.featureId, rows.map((f) => f.id)),
        sql`${featureStates.segmentId} is null and ${featureStates.identityId} is null`,
      ),
    );
  const byFeature = new Map(states.map((s) => [s.featureId, s]));
  const overrides = await getDb().execute<{ feature_id: number; segments: number; identities: number }>(sql`
    select feature_id, count(segment_id)::int as segments, count(identity_id)::int as identities
      from feature_states
     where environment_id = ${query.environmentId} and (segment_id is not null or identity_id is not null)
     group by feature_id`);
  const counts = new Map(overrides.rows.map((r) => [r.feature_id, r]));
  return rows.map((f) => {
    const state = byFeature.get(f.id);
    const count = counts.get(f.id);
    return {
      ...f,
      state: state ? { id: state.id, enabled: state.enabled, value: state.value ?? null } : null,
      segmentOverrides: count?.segments ?? 0,
      identityOverrides: count?.identities ?? 0,
    };
  });
}

export async function getFeature(featureId: number) {
  const feature = await loadFeature(getDb(), featureId);
  const options = await getDb().select().from(multivariateOptions).where(eq(multivariateOptions.featureId, featureId)).orderBy(asc(multivariateOptions.id));
  return { ...feature, options };
}

export interface NewOption {
  value: StoredValue;
  key?: string | null;
  defaultPercentageAllocation: number;
}

export interface NewFeature {
  name: string;
  description?: string | null;
  type?: "STANDARD" | "MULTIVARIATE";
  defaultEnabled?: boolean;
  initialValue?: StoredValue;
  isServerKeyOnly?: boolean;
  tags?: string[];
  options?: NewOption[];
}

function checkOptions(options: NewOption[]): void {
  const problem = checkAllocations(options.map((o) => o.defaultPercentageAllocation));
  if (problem) throw badInput(problem, "options");
  const keys = options.map((o) => o.key).filter((k): k is string => !!k);
  if (new Set(keys).size !== keys.length) throw badInput("Variant keys must be unique", "options");
}

/**
 * Creates a feature and its state in every environment of the project: the feature row
 * (`is_creating`), options and audit row first; then the states in batches; then a plain UPDATE
 * clearing `is_creating` with the document writes that publish it. A failed seeding removes the feature.
 */
export async function createFeature(actor: Actor, projectId: number, input: NewFeature, seedOptions: SeedOptions = {}) {
  const options = input.options ?? [];
  checkOptions(options);
  const type = options.length > 0 ? "MULTIVARIATE" : (input.type ?? "STANDARD");
  let feature: FeatureRow;
  try {
    feature = await getDb().transaction(async (tx) => {
      const organisationId = await organisationOfProject(tx, projectId);
      const [created] = await tx
        .insert(features)
        .values({
          projectId,
          name: input.name,
          description: input.description ?? null,
          type,
          defaultEnabled: input.defaultEnabled ?? false,
          initialValue: input.initialValue ?? null,
          isServerKeyOnly: input.isServerKeyOnly ?? false,
          tags: normaliseTags(input.tags ?? []),
          isCreating: true,
        })
        .returning();
      if (options.length > 0) {
        await tx.insert(multivariateOptions).values(
          options.map((o) => ({ featureId: created.id, value: o.value, key: o.key || null, defaultPercentageAllocation: o.defaultPercentageAllocation })),
        );
      }
      await commitChange(
        tx,
        actor,
        {
          organisationId,
          projectId,
          featureId: created.id,
          action: "feature.created",
          resourceType: "feature",
          resourceId: created.id,
          summary: `Feature "${created.name}" created (${type.toLowerCase()}, ${created.defaultEnabled ? "enabled" : "disabled"} by default, value ${describeValue(created.initialValue)})`,
          after: { name: created.name, type, defaultEnabled: created.defaultEnabled, initialValue: created.initialValue, options: options.length },
        },
        // Nothing is served while `is_creating`: the documents are written when it clears (below).
        null,
      );
      return created;
    });
  } catch (error) {
    if (isUniqueViolation(error, "features_project_name_lower_uq")) throw conflict(NAME_TAKEN, "name");
    if (isUniqueViolation(error, "multivariate_options_feature_key_uq")) throw badInput("Variant keys must be unique", "options");
    throw error;
  }
  try {
    await seedFeature(feature.id, seedOptions);
  } catch (error) {
    // Nothing half-created stays: the feature goes, and the log says why its creation is not there.
    await getDb().transaction(async (tx) => {
      await tx.delete(features).where(eq(features.id, feature.id));
      await commitChange(
        tx,
        actor,
        {
          organisationId: await organisationOfProject(tx, projectId),
          projectId,
          featureId: feature.id,
          action: "feature.creation_failed",
          resourceType: "feature",
          resourceId: feature.id,
          summary: `Feature "${feature.name}" could not be created (seeding its states failed); removed`,
        },
        null,
      );
    });
    log.error("feature.creation_failed", { feature__id: feature.id, error });
    throw error;
  }
  await getDb().transaction(async (tx) => {
    // Environments created while this feature was seeding may have missed it.
    await insertMissingStatesForFeature(tx, feature.id);
    await tx.update(features).set({ isCreating: false }).where(eq(features.id, feature.id));
    await environmentsChanged(tx, { projectId }, "feature.creation_finished");
  });
  log.info("feature.created", { feature__id: feature.id });
  return { ...feature, isCreating: false };
}

function normaliseTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter(Boolean))].sort();
}

export interface FeatureChanges {
  name?: string;
  description?: string | null;
  defaultEnabled?: boolean;
  initialValue?: StoredValue;
  isServerKeyOnly?: boolean;
  tags?: string[];
  isArchived?: boolean;
}

const SERVED_FEATURE_FIELDS = new Set<keyof FeatureChanges>(["name", "isServerKeyOnly", "description", "initialValue", "defaultEnabled"]);

export async function updateFeature(actor: Actor, featureId: number, changes: FeatureChanges) {
  try {
    return await getDb().transaction(async (tx) => {
      const before = await loadFeature(tx, featureId, true);
      const set: Partial<typeof features.$inferInsert> = { ...changes, updatedAt: new Date() };
      if (changes.tags) set.tags = normaliseTags(changes.tags);
      const [after] = await tx.update(features).set(set).where(eq(features.id, featureId)).returning();
      const changed = (Object.keys(changes) as (keyof FeatureChanges)[]).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
      const summary =
        changes.name && changes.name !== before.name
          ? `Feature "${before.name}" renamed to "${after.name}"`
          : changes.isArchived !== undefined && changes.isArchived !== before.isArchived
            ? `Feature "${after.name}" ${after.isArchived ? "archived" : "unarchived"}`
            : `Feature "${after.name}" updated (${changed.join(", ") || "no change"})`;
      // Served: name and server-key-only (document), description, initial value and default enabled
      // (the SDK's flag objects, from the stored document's extras). Tags and archiving are admin metadata.
      const servesDifferently = changed.some((k) => SERVED_FEATURE_FIELDS.has(k));
      await commitChange(
        tx,
        actor,
        {
          organisationId: await organisationOfProject(tx, before.projectId),
          projectId: before.projectId,
          featureId,
          action: "feature.updated",
          resourceType: "feature",
          resourceId: featureId,
          summary,
          before: Object.fromEntries(changed.map((k) => [k, before[k]])),
          after: Object.fromEntries(changed.map((k) => [k, after[k]])),
        },
        servesDifferently ? { projectId: before.projectId } : null,
      );
      log.info("feature.updated", { feature__id: featureId });
      return after;
    });
  } catch (error) {
    if (isUniqueViolation(error, "features_project_name_lower_uq")) throw conflict(NAME_TAKEN, "name");
    throw error;
  }
}

export async function deleteFeature(actor: Actor, featureId: number) {
  await getDb().transaction(async (tx) => {
    const feature = await loadFeature(tx, featureId, true);
    await tx.delete(features).where(eq(features.id, featureId));
    await commitChange(
      tx,
      actor,
      {
        organisationId: await organisationOfProject(tx, feature.projectId),
        projectId: feature.projectId,
        featureId,
        action: "feature.deleted",
        resourceType: "feature",
        resourceId: featureId,
        summary: `Feature "${feature.name}" deleted`,
        before: { name: feature.name },
      },
      { projectId: feature.projectId },
    );
  });
  log.info("feature.deleted", { feature__id: featureId });
}

/** The environment default state of a feature in every environment of its project. */
export async function listFeatureStates(featureId: number) {
  const rows = await getDb().execute<{
    id: number;
    environment_id: number;
    environment_name: string;
    enabled: boolean;
    value: StoredValue;
  }>(sql`
    select s.id, s.environment_id, e.name as environment_name, s.enabled, s.value
      from feature_states s join environments e on e.id = s.environment_id
     where s.feature_id = ${featureId} and s.segment_id is null and s.identity_id is null
     order by e.id`);
  const ids = rows.rows.map((r) => r.id);
  const allocations = ids.length
    ? await getDb()
        .select({ featureStateId: multivariateStateValues.featureStateId, optionId: multivariateStateValues.optionId, percentageAllocation: multivariateStateValues.percentageAllocation })
        .from(multivariateStateValues)
        .where(inArray(multivariateStateValues.featureStateId, ids))
        .orderBy(asc(multivariateStateValues.id))
    : [];
  return rows.rows.map((r) => ({
    id: r.id,
    environmentId: r.environment_id,
    environmentName: r.environment_name,
    enabled: r.enabled,
    value: r.value ?? null,
    allocations: allocations.filter((a) => a.featureStateId === r.id).map(({ optionId, percentageAllocation }) => ({ optionId, percentageAllocation })),
  }));
}

async function defaultStateId(executor: Executor, featureId: number, environmentId: number): Promise<number> {
  const [state] = await executor
    .select({ id: featureStates.id })
    .from(featureStates)
    .where(and(eq(featureStates.featureId, featureId), eq(featureStates.environmentId, environmentId), sql`${featureStates.segmentId} is null and ${featureStates.identityId} is null`));
  if (!state) throw notFound("Feature state");
  return state.id;
}

/** Toggle / value / allocations of a feature's default state in one environment, now. */
export async function updateEnvironmentState(actor: Actor, featureId: number, environmentId: number, change: StateChange) {
  const result = await getDb().transaction(async (tx) => {
    const feature = await loadFeature(tx, featureId);
    const state = await lockState(tx, await defaultStateId(tx, featureId, environmentId));
    const { before, after } = await applyStateChange(tx, state, change);
    const names = await optionNames(tx, [...before.allocations, ...after.allocations]);
    await commitChange(
      tx,
      actor,
      {
        organisationId: await organisationOfProject(tx, feature.projectId),
        projectId: feature.projectId,
        environmentId,
        featureId,
        action: "feature_state.updated",
        resourceType: "feature_state",
        resourceId: state.id,
        summary: `Feature "${feature.name}": ${describeStateChange(before, after, names)}`,
        before: auditState(before, names),
        after: auditState(after, names),
      },
      { environmentIds: [environmentId] },
    );
    return { id: state.id, ...after };
  });
  bindContext({ "environment.id": environmentId });
  log.info("feature_state.updated", { feature__id: featureId, feature_state__id: result.id });
  return result;
}

export async function addOption(actor: Actor, featureId: number, option: NewOption) {
  try {
    const created = await getDb().transaction(async (tx) => {
      const feature = await loadFeature(tx, featureId, true);
      // Lock the environment defaults too (after the feature, as deleteFeature does), so that no
      // concurrent allocation change (updateState, scheduled change) slips between the check and the insert.
      await tx.execute(sql`
        select id from feature_states
         where feature_id = ${featureId} and segment_id is null and identity_id is null
         order by id
           for update`);
      const [row] = await tx
        .insert(multivariateOptions)
        .values({ featureId, value: option.value, key: option.key || null, defaultPercentageAllocation: option.defaultPercentageAllocation })
        .returning();
      // Every environment default gets the option with its default allocation; no state may exceed 100%.
      const over = await tx.execute<{ environment_id: number; total: number }>(sql`
        select s.environment_id, coalesce(sum(v.percentage_allocation), 0) + ${option.defaultPercentageAllocation} as total
          from feature_states s
          left join multivariate_state_values v on v.feature_state_id = s.id
         where s.feature_id = ${featureId} and s.segment_id is null and s.identity_id is null
         group by s.environment_id
        having coalesce(sum(v.percentage_allocation), 0) + ${option.defaultPercentageAllocation} > 100.000000001`);
      if (over.rows.length > 0) {
        throw badInput(`This allocation would take an environment to ${Math.round(over.rows[0].total * 1000) / 1000}%, more than 100%`, "defaultPercentageAllocation");
      }
      await tx.execute(sql`
        insert into multivariate_state_values (feature_state_id, option_id, percentage_allocation)
        select s.id, ${row.id}, ${option.defaultPercentageAllocation}
          from feature_states s
         where s.feature_id = ${featureId} and s.segment_id is null and s.identity_id is null
         order by s.id
        on conflict do nothing`);
      if (feature.type !== "MULTIVARIATE") await tx.update(features).set({ type: "MULTIVARIATE" }).where(eq(features.id, featureId));
      await commitChange(
        tx,
        actor,
        {
          organisationId: await organisationOfProject(tx, feature.projectId),
          projectId: feature.projectId,
          featureId,
          action: "multivariate_option.created",
          resourceType: "multivariate_option",
          resourceId: row.id,
          summary: `Feature "${feature.name}": variation ${describeValue(row.value)}${row.key ? ` (${row.key})` : ""} added at ${row.defaultPercentageAllocation}%`,
          after: { value: row.value, key: row.key, defaultPercentageAllocation: row.defaultPercentageAllocation },
        },
        { projectId: feature.projectId },
      );
      return row;
    });
    log.info("multivariate_option.created", { feature__id: featureId, option__id: created.id });
    return created;
  } catch (error) {
    if (isUniqueViolation(error, "multivariate_options_feature_key_uq")) throw conflict("Another variation of this feature has this key", "key");
    throw error;
  }
}

export async function updateOption(actor: Actor, optionId: number, changes: { value?: StoredValue; key?: string | null; defaultPercentageAllocation?: number }) {
  requireSomeChange(changes);
  try {
    return await getDb().transaction(async (tx) => {
      // Lock order feature → option (as addOption and deleteFeature), so concurrent option edits
      // cannot both pass the ≤ 100 % check.
      const [owner] = await tx.select({ featureId: multivariateOptions.featureId }).from(multivariateOptions).where(eq(multivariateOptions.id, optionId));
      if (!owner) throw notFound("Variation");
      const feature = await loadFeature(tx, owner.featureId, true);
      const [before] = await tx.select().from(multivariateOptions).where(eq(multivariateOptions.id, optionId)).for("update");
      if (!before) throw notFound("Variation");
      if (changes.defaultPercentageAllocation !== undefined) {
        const [others] = await tx
          .select({ total: sql<number>`coalesce(sum(${multivariateOptions.defaultPercentageAllocation}), 0)` })
          .from(multivariateOptions)
          .where(and(eq(multivariateOptions.featureId, before.featureId), sql`${multivariateOptions.id} <> ${optionId}`));
        const problem = checkAllocations([Number(others.total), changes.defaultPercentageAllocation]);
        if (problem) throw badInput(problem, "defaultPercentageAllocation");
      }
      const [after] = await tx
        .update(multivariateOptions)
        .set({ ...changes, key: changes.key === undefined ? undefined : changes.key || null })
        .where(eq(multivariateOptions.id, optionId))
        .returning();
      await commitChange(
        tx,
        actor,
        {
          organisationId: await organisationOfProject(tx, feature.projectId),
          projectId: feature.projectId,
          featureId: feature.id,
          action: "multivariate_option.updated",
          resourceType: "multivariate_option",
          resourceId: optionId,
          summary: `Feature "${feature.name}": variation ${describeValue(before.value)} → ${describeValue(after.value)}${after.key ? ` (${after.key})` : ""}`,
          before: { value: before.value, key: before.key, defaultPercentageAllocation: before.defaultPercentageAllocation },
          after: { value: after.value, key: after.key, defaultPercentageAllocation: after.defaultPercentageAllocation },
        },
        // The option's value and key are served; its default allocation only seeds new environments.
        { projectId: feature.projectId },
      );
      return after;
    });
  } catch (error) {
    if (isUniqueViolation(error, "multivariate_options_feature_key_uq")) throw conflict("Another variation of this feature has this key", "key");
    throw error;
  }
}

export async function deleteOption(actor: Actor, optionId: number) {
  await getDb().transaction(async (tx) => {
    const [option] = await tx.delete(multivariateOptions).where(eq(multivariateOptions.id, optionId)).returning();
    if (!option) throw notFound("Variation");
    const feature = await loadFeature(tx, option.featureId);
    await commitChange(
      tx,
      actor,
      {
        organisationId: await organisationOfProject(tx, feature.projectId),
        projectId: feature.projectId,
        featureId: feature.id,
        action: "multivariate_option.deleted",
        resourceType: "multivariate_option",
        resourceId: optionId,
        summary: `Feature "${feature.name}": variation ${describeValue(option.value)} removed`,
        before: { value: option.value, key: option.key },
      },
      { projectId: feature.projectId },
    );
  });
}
