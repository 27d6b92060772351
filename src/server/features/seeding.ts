/**
 * Seeding per-environment feature states when a feature or an environment is created, and copying
 * them when an environment is cloned. Each batch is its own transaction (large projects never hold
 * one long transaction); the creator's row carries `is_creating` meanwhile, which keeps document
 * writes for the project's environments deferred (creation guard). Every insert is
 * `on conflict do nothing`, so concurrent creations of features and environments fill each other's
 * gaps: whichever finishes last sees both rows.
 */
import { sql, type SQL } from "drizzle-orm";
import { settings } from "@/server/config";
import { getDb, type Executor } from "@/server/db/client";
import { idArray, seedAllocations } from "./states";

export interface SeedOptions {
  batchSize?: number;
  /** Called after each committed batch (tests observe `is_creating` from another connection here). */
  onBatch?: (batch: number) => Promise<void> | void;
}

function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function inBatches(ids: number[], options: SeedOptions, work: (tx: Executor, batch: number[]) => Promise<void>): Promise<void> {
  let index = 0;
  for (const batch of batches(ids, Math.max(1, options.batchSize ?? settings().seedBatchSize))) {
    await getDb().transaction((tx) => work(tx, batch));
    await options.onBatch?.(index++);
  }
}

/** Default states of every environment (of the feature's project) that lacks one for `featureId`. */
export async function insertMissingStatesForFeature(tx: Executor, featureId: number, environmentIds?: number[]): Promise<void> {
  await insertMissingStates(tx, sql`f.id = ${featureId} ${environmentIds ? sql`and e.id = any(${idArray(environmentIds)})` : sql``}`);
}

/** Default states in `environmentId` for every feature of its project that lacks one. */
export async function insertMissingStatesForEnvironment(tx: Executor, environmentId: number, featureIds?: number[]): Promise<void> {
  await insertMissingStates(tx, sql`e.id = ${environmentId} ${featureIds ? sql`and f.id = any(${idArray(featureIds)})` : sql``}`);
}

/** Default states (and their allocations) for the feature × environment pairs matching `where` that lack one. */
async function insertMissingStates(tx: Executor, where: SQL): Promise<void> {
  const result = await tx.execute<{ id: number }>(sql`
    insert into feature_states (feature_id, environment_id, enabled, value)
    select f.id, e.id, f.default_enabled, f.initial_value
      from features f
      join environments e on e.project_id = f.project_id
     where ${where}
     order by f.id, e.id
    on conflict do nothing
    returning id`);
  await seedAllocations(tx, result.rows.map((r) => r.id));
}

async function projectEnvironmentIds(featureId: number): Promise<number[]> {
  const result = await getDb().execute<{ id: number }>(
    sql`select e.id from environments e join features f on f.project_id = e.project_id where f.id = ${featureId} order by e.id`,
  );
  return result.rows.map((r) => r.id);
}

async function projectFeatureIds(environmentId: number): Promise<number[]> {
  const result = await getDb().execute<{ id: number }>(
    sql`select f.id from features f join environments e on e.project_id = f.project_id where e.id = ${environmentId} order by f.id`,
  );
  return result.rows.map((r) => r.id);
}

export async function seedFeature(featureId: number, options: SeedOptions = {}): Promise<void> {
  await inBatches(await projectEnvironmentIds(featureId), options, (tx, batch) => insertMissingStatesForFeature(tx, featureId, batch));
}

export async function seedEnvironment(environmentId: number, options: SeedOptions = {}): Promise<void> {
  await inBatches(await projectFeatureIds(environmentId), options, (tx, batch) => insertMissingStatesForEnvironment(tx, environmentId, batch));
}

/**
 * Copies the source environment's default states, segment overrides (with priorities) and identity
 * overrides (with their identities) into `targetId`, keeping hashing seeds so that every identity
 * keeps its multivariate bucket. Batched by feature.
 */
export async function copyEnvironmentStates(sourceId: number, targetId: number, options: SeedOptions = {}): Promise<void> {
  await getDb().execute(sql`
    insert into identities (environment_id, identifier, django_id)
    select ${targetId}, i.identifier, i.django_id
      from identities i
     where i.environment_id = ${sourceId}
       and exists (select 1 from feature_states s where s.identity_id = i.id)
    on conflict do nothing`);
  await inBatches(await projectFeatureIds(sourceId), options, async (tx, batch) => {
    const features = idArray(batch);
    // One statement per kind of state; the "match" joins pair each source state with its copy.
    await tx.execute(sql`
      insert into feature_states (feature_id, environment_id, segment_id, identity_id, enabled, value, priority, hashing_seed)
      select s.feature_id, ${targetId}, s.segment_id, ti.id, s.enabled, s.value, s.priority, s.hashing_seed
        from feature_states s
        left join identities si on si.id = s.identity_id
        left join identities ti on ti.environment_id = ${targetId} and ti.identifier = si.identifier
       where s.environment_id = ${sourceId}
         and s.feature_id = any(${features})
       order by s.id
      on conflict do nothing`);
    await tx.execute(sql`
      insert into multivariate_state_values (feature_state_id, option_id, percentage_allocation)
      select t.id, v.option_id, v.percentage_allocation
        from feature_states s
        join multivariate_state_values v on v.feature_state_id = s.id
        left join identities si on si.id = s.identity_id
        join feature_states t
          on t.environment_id = ${targetId}
         and t.feature_id = s.feature_id
         and t.segment_id is not distinct from s.segment_id
         and (t.identity_id is null) = (s.identity_id is null)
         and (s.identity_id is null or t.identity_id = (select id from identities where environment_id = ${targetId} and identifier = si.identifier))
       where s.environment_id = ${sourceId}
         and s.feature_id = any(${features})
       order by v.id
      on conflict do nothing`);
  });
}
