/**
 * Builds Flagsmith's environment document (documents/types.ts) from the database. Run inside one
 * REPEATABLE READ transaction (`buildInSnapshot`), the document is exactly the environment at
 * `revision`: every query sees the same snapshot. Output is deterministic (stable ordering), so the
 * same data always serialises to the same bytes.
 */
import { sql } from "drizzle-orm";
import { getDb, type Executor } from "@/server/db/client";
import type { StoredRule } from "@/server/db/schema";
import { notFound } from "@/server/errors";
import type {
  DocFeatureState,
  DocIdentityOverride,
  DocMultivariateFeatureStateValue,
  DocRule,
  DocSegment,
  EnvironmentDocument,
  FeatureStateValue,
} from "@/server/engine/document";
import type { SdkExtras } from "./types";

export interface BuiltDocument {
  environmentId: number;
  revision: number;
  /** The environment's updated_at (ISO, microseconds). */
  updatedAt: string;
  isCreating: boolean;
  /** Any feature of the project still being created. */
  featuresCreating: number;
  document: EnvironmentDocument;
  sdkExtras: SdkExtras;
  featureStatesCount: number;
}

type EnvironmentRow = {
  id: number;
  api_key: string;
  name: string;
  allow_client_traits: boolean;
  hide_disabled_flags: boolean | null;
  use_identity_composite_key_for_hashing: boolean;
  use_identity_overrides_in_local_eval: boolean;
  hide_sensitive_data: boolean;
  is_creating: boolean;
  revision: number;
  updated_at_iso: string;
  updated_at_epoch: string;
  project_id: number;
  project_name: string;
  project_hide_disabled_flags: boolean;
  enable_realtime_updates: boolean;
  flagd_enabled: boolean;
  organisation_id: number;
  organisation_name: string;
  feature_analytics: boolean;
  stop_serving_flags: boolean;
  persist_trait_data: boolean;
};

type StateRow = {
  id: number;
  feature_id: number;
  feature_name: string;
  feature_type: "STANDARD" | "MULTIVARIATE";
  segment_id: number | null;
  identity_id: number | null;
  enabled: boolean;
  value: FeatureStateValue;
  priority: number | null;
  hashing_seed: number;
  uuid: string;
};

type MvRow = {
  id: number;
  feature_state_id: number;
  uuid: string;
  percentage_allocation: number;
  option_id: number;
  option_value: FeatureStateValue;
  option_key: string | null;
};

function mapRules(rules: StoredRule[]): DocRule[] {
  return rules.map((rule) => ({
    type: rule.type,
    conditions: rule.conditions.map((c) => ({ operator: c.operator, property_: c.property, value: c.value })),
    rules: mapRules(rule.rules ?? []),
  }));
}

/** Builds the document of `environmentId` with `executor` (use one snapshot for consistency). */
export async function buildEnvironmentDocument(executor: Executor, environmentId: number): Promise<BuiltDocument> {
  const environment = (
    await executor.execute<EnvironmentRow>(sql`
      select e.id, e.api_key, e.name, e.allow_client_traits, e.hide_disabled_flags,
             e.use_identity_composite_key_for_hashing, e.use_identity_overrides_in_local_eval,
             e.hide_sensitive_data, e.is_creating, e.revision,
             to_char(e.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') as updated_at_iso,
             extract(epoch from e.updated_at)::text as updated_at_epoch,
             p.id as project_id, p.name as project_name, p.hide_disabled_flags as project_hide_disabled_flags,
             p.enable_realtime_updates, p.flagd_enabled,
             o.id as organisation_id, o.name as organisation_name, o.feature_analytics, o.stop_serving_flags, o.persist_trait_data
        from environments e
        join projects p on p.id = e.project_id
        join organisations o on o.id = p.organisation_id
       where e.id = ${environmentId}`)
  ).rows[0];
  if (!environment) throw notFound("Environment");

  // One snapshot on one connection: the queries run one after another.
  const featureRows = await executor.execute<{ id: number; name: string; is_server_key_only: boolean; is_creating: boolean; created_at: string; description: string | null; initial_value: FeatureStateValue; default_enabled: boolean }>(sql`
      select id, name, is_server_key_only, is_creating,
             to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as created_at,
             description, initial_value, default_enabled
        from features where project_id = ${environment.project_id} order by id`);
  const stateRows = await executor.execute<StateRow>(sql`
      select s.id, s.feature_id, f.name as feature_name, f.type as feature_type, s.segment_id, s.identity_id,
             s.enabled, s.value, s.priority, s.hashing_seed, s.uuid
        from feature_states s join features f on f.id = s.feature_id
       where s.environment_id = ${environmentId} and not f.is_creating
       order by s.feature_id, s.priority nulls first, s.id`);
  const mvRows = await executor.execute<MvRow>(sql`
      select v.id, v.feature_state_id, v.uuid, v.percentage_allocation, o.id as option_id, o.value as option_value, o.key as option_key
        from multivariate_state_values v
        join feature_states s on s.id = v.feature_state_id
        join multivariate_options o on o.id = v.option_id
       where s.environment_id = ${environmentId}
       order by v.id`);
  const segmentRows = await executor.execute<{ id: number; document_id: number; name: string; rules: StoredRule[]; feature_id: number | null }>(sql`
      select g.id, coalesce(g.document_id, g.id) as document_id, g.name, g.rules, g.feature_id
        from segments g
       where g.project_id = ${environment.project_id}
         and (g.feature_id is null
              or exists (select 1 from feature_states s where s.segment_id = g.id and s.environment_id = ${environmentId}))
       order by coalesce(g.document_id, g.id), g.id`);
  type IdentityRow = { id: number; identifier: string; uuid: string; django_id: number | null; created_at: string };
  // Always read: remote evaluation applies identity overrides even when the document leaves them out.
  const identityRows: { rows: IdentityRow[] } = await executor.execute<IdentityRow>(sql`
          select i.id, i.identifier, i.uuid, i.django_id,
                 to_char(i.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') as created_at
            from identities i
           where i.environment_id = ${environmentId}
             and exists (select 1 from feature_states s where s.identity_id = i.id)
           order by i.identifier`);

  const mvByState = new Map<number, DocMultivariateFeatureStateValue[]>();
  for (const mv of mvRows.rows) {
    const list = mvByState.get(mv.feature_state_id) ?? [];
    list.push({
      id: mv.id,
      mv_fs_value_uuid: mv.uuid,
      percentage_allocation: mv.percentage_allocation,
      multivariate_feature_option: { id: mv.option_id, value: mv.option_value ?? null, key: mv.option_key },
    });
    mvByState.set(mv.feature_state_id, list);
  }

  const toDoc = (state: StateRow): DocFeatureState => ({
    feature: { id: state.feature_id, name: state.feature_name, type: state.feature_type },
    enabled: state.enabled,
    django_id: state.hashing_seed,
    featurestate_uuid: state.uuid,
    feature_state_value: state.value ?? null,
    feature_segment: state.segment_id !== null ? { priority: state.priority } : null,
    multivariate_feature_state_values: mvByState.get(state.id) ?? [],
  });

  const defaults: DocFeatureState[] = [];
  const bySegment = new Map<number, DocFeatureState[]>();
  const byIdentity = new Map<number, DocFeatureState[]>();
  const defaultStateIds = new Map<number, number>();
  const append = (map: Map<number, DocFeatureState[]>, key: number, state: StateRow) => {
    const list = map.get(key);
    if (list) list.push(toDoc(state));
    else map.set(key, [toDoc(state)]);
  };
  for (const state of stateRows.rows) {
    if (state.identity_id !== null) {
      append(byIdentity, state.identity_id, state);
    } else if (state.segment_id !== null) {
      append(bySegment, state.segment_id, state);
    } else {
      defaults.push(toDoc(state));
      defaultStateIds.set(state.feature_id, state.id);
    }
  }

  const segments: DocSegment[] = segmentRows.rows.map((segment) => ({
    id: segment.document_id,
    name: segment.name,
    rules: mapRules(segment.rules),
    feature_states: (bySegment.get(segment.id) ?? []).sort((a, b) => (a.feature_segment?.priority ?? 0) - (b.feature_segment?.priority ?? 0) || a.feature.id - b.feature.id),
  }));

  const identityOverrides: DocIdentityOverride[] = identityRows.rows.map((identity) => ({
    identifier: identity.identifier,
    environment_api_key: environment.api_key,
    created_date: identity.created_at,
    identity_uuid: identity.uuid,
    django_id: identity.django_id ?? identity.id,
    composite_key: `${environment.api_key}_${identity.identifier}`,
    dashboard_alias: null,
    identity_traits: [],
    identity_features: byIdentity.get(identity.id) ?? [],
  }));

  const liveFeatures = featureRows.rows.filter((f) => !f.is_creating);
  const document: EnvironmentDocument = {
    id: environment.id,
    api_key: environment.api_key,
    name: environment.name,
    allow_client_traits: environment.allow_client_traits,
    updated_at: environment.updated_at_iso,
    hide_sensitive_data: environment.hide_sensitive_data,
    hide_disabled_flags: environment.hide_disabled_flags,
    use_identity_composite_key_for_hashing: environment.use_identity_composite_key_for_hashing,
    use_identity_overrides_in_local_eval: environment.use_identity_overrides_in_local_eval,
    project: {
      id: environment.project_id,
      name: environment.project_name,
      hide_disabled_flags: environment.project_hide_disabled_flags,
      enable_realtime_updates: environment.enable_realtime_updates,
      server_key_only_feature_ids: liveFeatures.filter((f) => f.is_server_key_only).map((f) => f.id),
      organisation: {
        id: environment.organisation_id,
        name: environment.organisation_name,
        feature_analytics: environment.feature_analytics,
        stop_serving_flags: environment.stop_serving_flags,
        persist_trait_data: environment.persist_trait_data,
      },
      segments,
    },
    feature_states: defaults,
    // Flagsmith leaves them out of local evaluation when the environment says so.
    identity_overrides: environment.use_identity_overrides_in_local_eval ? identityOverrides : [],
  };

  const sdkExtras: SdkExtras = {
    environmentId: environment.id,
    updatedAtEpoch: Number(environment.updated_at_epoch),
    flagdEnabled: environment.flagd_enabled,
    ...(environment.use_identity_overrides_in_local_eval ? {} : { identityOverrides }),
    features: {},
  };
  for (const feature of liveFeatures) {
    const stateId = defaultStateIds.get(feature.id);
    if (stateId === undefined) continue;
    sdkExtras.features[String(feature.id)] = {
      stateId,
      createdDate: feature.created_at,
      description: feature.description,
      initialValue: feature.initial_value ?? null,
      defaultEnabled: feature.default_enabled,
    };
  }

  return {
    environmentId: environment.id,
    revision: Number(environment.revision),
    updatedAt: environment.updated_at_iso,
    isCreating: environment.is_creating,
    featuresCreating: featureRows.rows.length - liveFeatures.length,
    document,
    sdkExtras,
    featureStatesCount: stateRows.rows.length,
  };
}

/** Builds from one consistent snapshot (REPEATABLE READ, read only). */
export async function buildInSnapshot(environmentId: number): Promise<BuiltDocument> {
  return getDb().transaction((tx) => buildEnvironmentDocument(tx, environmentId), { isolationLevel: "repeatable read", accessMode: "read only" });
}
