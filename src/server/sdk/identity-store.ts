/**
 * The SDK API's identity read: the identity (found, or created for persisted requests) and its
 * traits, from the process's identity cache (identity-cache.ts) or in ONE database round trip — this
 * is on the path of every `POST /api/v1/identities/`. A named (prepared) statement on the shared
 * pool. Writes go through the identities service's store functions (`upsertTraits`).
 */
import { getPool } from "@/server/db/client";
import type { StoredValue } from "@/server/db/schema";
import { listeningGeneration } from "@/server/serving/listener";
import { getOrCreateIdentity, loadTraits } from "@/server/identities/service";
import { boundCounter } from "@/server/observability/metrics";
import { identityCache, type CachedIdentity, type IdentityWithTraits } from "./identity-cache";
import { identityCacheLookups } from "./metrics";

export type { IdentityWithTraits } from "./identity-cache";

const cacheHits = boundCounter(identityCacheLookups, { result: "hit" });
const cacheMisses = boundCounter(identityCacheLookups, { result: "miss" });

const IDENTIFY = `
  with found as (
    select id, django_id from identities where environment_id = $1 and identifier = $2
  ), inserted as (
    insert into identities (environment_id, identifier)
    select $1, $2 where $3::boolean and not exists (select 1 from found)
    on conflict do nothing
    returning id, django_id
  ), identity as (
    select id, django_id from found union all select id, django_id from inserted
  )
  select i.id, i.django_id,
         coalesce(json_agg(json_build_object('key', t.key, 'value', t.value) order by t.key) filter (where t.key is not null), '[]') as traits
    from identity i left join traits t on t.identity_id = i.id
   group by i.id, i.django_id`;

/**
 * The identity `identifier` of the environment with its traits (sorted by key); created when
 * `create` (persisted requests), else null when it does not exist (`"transient": true` requests
 * never create one). A `CachedIdentity` when it is (now) in the process's cache.
 */
export async function identityWithTraits(environmentId: number, identifier: string, create: boolean): Promise<IdentityWithTraits | CachedIdentity | null> {
  return cachedIdentityWithTraits(environmentId, identifier) ?? readIdentityWithTraits(environmentId, identifier, create);
}

/** The identity from this process's cache, when it may be trusted (synchronous: no promise on the hot path). */
export function cachedIdentityWithTraits(environmentId: number, identifier: string): CachedIdentity | undefined {
  const cached = identityCache().get(environmentId, identifier, listeningGeneration(), Date.now());
  if (cached) cacheHits.inc();
  return cached;
}

/** The identity read from the database (and cached when it may be), created when `create`. */
export async function readIdentityWithTraits(environmentId: number, identifier: string, create: boolean): Promise<IdentityWithTraits | CachedIdentity | null> {
  const cache = identityCache();
  const generation = listeningGeneration();
  cacheMisses.inc();
  const started = cache.begin();
  const found = await readIdentity(environmentId, identifier, create);
  if (!found) return null;
  return cache.store(started, generation, environmentId, identifier, found, Date.now()) ?? found;
}

async function readIdentity(environmentId: number, identifier: string, create: boolean): Promise<IdentityWithTraits | null> {
  const result = await getPool().query<{ id: number; django_id: number | null; traits: { key: string; value: StoredValue }[] }>({
    name: "sdk_identity_with_traits",
    text: IDENTIFY,
    values: [environmentId, identifier, create],
  });
  const row = result.rows[0];
  if (row) return { id: Number(row.id), djangoId: row.django_id === null ? null : Number(row.django_id), traits: row.traits };
  if (!create) return null;
  // Another request created it between our snapshot and our insert: read it the ordinary way.
  const identity = await getOrCreateIdentity(environmentId, identifier);
  return { id: identity.id, djangoId: identity.djangoId, traits: await loadTraits(identity.id) };
}
