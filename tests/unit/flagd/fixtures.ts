/**
 * Small builders for environment documents used by the flagd translator tests, and the comparison between
 * Flagpost's engine and flagd-core.
 */
import type {
  DocCondition,
  DocFeatureState,
  DocIdentityOverride,
  DocRule,
  DocSegment,
  EnvironmentDocument,
  FeatureStateValue,
} from "@/server/engine/document";
import { buildEnvironmentContext, environmentDefaults, getEvaluationResult, withIdentity, type FlagResult, type TraitValue } from "@/server/engine";
import type { FeatureDiagnostics, FlagdDocument } from "@/server/flagd/types";
import type { FlagdCore } from "@openfeature/flagd-core";
import { observe, type FlagdObservation } from "./helpers";

let nextId = 1;
const newId = () => nextId++;

export interface FeatureStateOptions {
  enabled?: boolean;
  value?: FeatureStateValue;
  featureId?: number;
  djangoId?: number;
  /** Set for segment overrides (null = no priority). */
  priority?: number | null;
  /** Multivariate options: value, percentage and (optional) MV value id, which orders the buckets. */
  mv?: Array<{ value: FeatureStateValue; weight: number; id?: number; key?: string | null }>;
}

const featureIds = new Map<string, number>();

export function featureState(name: string, options: FeatureStateOptions = {}): DocFeatureState {
  let featureId = options.featureId ?? featureIds.get(name);
  if (featureId === undefined) {
    featureId = 10_000 + featureIds.size;
    featureIds.set(name, featureId);
  }
  return {
    feature: { id: featureId, name, type: options.mv && options.mv.length > 0 ? "MULTIVARIATE" : "STANDARD" },
    enabled: options.enabled ?? true,
    django_id: options.djangoId ?? newId(),
    featurestate_uuid: `00000000-0000-4000-8000-${String(newId()).padStart(12, "0")}`,
    feature_state_value: options.value === undefined ? null : options.value,
    feature_segment: options.priority === undefined ? null : { priority: options.priority },
    multivariate_feature_state_values: (options.mv ?? []).map((mv, i) => ({
      id: mv.id ?? newId(),
      mv_fs_value_uuid: `00000000-0000-4000-9000-${String(newId()).padStart(12, "0")}`,
      percentage_allocation: mv.weight,
      multivariate_feature_option: { id: 50_000 + i, value: mv.value, key: mv.key ?? null },
    })),
  };
}

export function cond(property: string | null, operator: string, value: string | null): DocCondition {
  return { operator, property_: property, value };
}

export function rule(type: DocRule["type"], conditions: DocCondition[], rules: DocRule[] = []): DocRule {
  return { type, conditions, rules };
}

/** A segment with the usual UI shape: an ALL root holding one child rule. */
export function segment(id: number, name: string, child: DocRule | DocRule[], overrides: DocFeatureState[] = []): DocSegment {
  return { id, name, rules: [rule("ALL", [], Array.isArray(child) ? child : [child])], feature_states: overrides };
}

export function identity(identifier: string, features: DocFeatureState[]): DocIdentityOverride {
  return {
    identifier,
    environment_api_key: "env_key",
    created_date: "2026-01-01T00:00:00+00:00",
    identity_uuid: `00000000-0000-4000-a000-${String(newId()).padStart(12, "0")}`,
    django_id: newId(),
    composite_key: `env_key_${identifier}`,
    dashboard_alias: null,
    identity_traits: [],
    identity_features: features,
  };
}

export function environment(parts: {
  features?: DocFeatureState[];
  segments?: DocSegment[];
  identities?: DocIdentityOverride[];
  name?: string;
}): EnvironmentDocument {
  return {
    id: 12,
    api_key: "env_key",
    name: parts.name ?? "Production",
    allow_client_traits: true,
    updated_at: "2026-01-02T03:04:05.000000+00:00",
    hide_sensitive_data: false,
    hide_disabled_flags: null,
    use_identity_composite_key_for_hashing: true,
    use_identity_overrides_in_local_eval: true,
    project: {
      id: 3,
      name: "Project",
      hide_disabled_flags: false,
      enable_realtime_updates: false,
      server_key_only_feature_ids: [],
      organisation: { id: 1, name: "Org", feature_analytics: false, stop_serving_flags: false, persist_trait_data: true },
      segments: parts.segments ?? [],
    },
    feature_states: parts.features ?? [],
    identity_overrides: parts.identities ?? [],
  };
}

// ------------------------------------------------------------------------------------------------
// Engine ↔ flagd comparison

/**
 * The comparable form of a Flagpost engine result, following the mapping documented in translator.ts:
 * disabled → no value; enabled with null → no value (or `true` for "switch" flags); enabled with v → v
 * (`String(v)` for "stringified" flags).
 */
export function expectedObservation(flag: Pick<FlagResult, "enabled" | "value">, diagnostics: Pick<FeatureDiagnostics, "valueMapping">): string {
  if (!flag.enabled) return "none";
  if (flag.value === null) return diagnostics.valueMapping === "switch" ? JSON.stringify(true) : "none";
  return JSON.stringify(diagnostics.valueMapping === "stringified" ? String(flag.value) : flag.value);
}

/** The comparable form of what flagd-core returned: a value (JSON), "none", or "error: …". */
export function comparable(observation: FlagdObservation): string {
  if (observation.kind === "value") return JSON.stringify(observation.value);
  if (observation.kind === "none") return "none";
  return `error: ${observation.detail}`;
}

export interface ContextCase {
  /**
   * null = no identity: Flagpost serves the environment flags (`environmentDefaults`, as `GET /api/v1/flags/`: no
   * traits, no segments); flagd gets the traits without a targetingKey.
   */
  identifier: string | null;
  traits: Record<string, TraitValue>;
}

/** Evaluates every flag of `doc` for `context` with both engines; returns [engine-expected, flagd-actual] per flag. */
export function evaluateBoth(
  doc: EnvironmentDocument,
  document: FlagdDocument,
  core: FlagdCore,
  diagnostics: ReadonlyMap<string, FeatureDiagnostics>,
  context: ContextCase,
  environmentContext = buildEnvironmentContext(doc),
): Map<string, { expected: string; actual: string; reason: string }> {
  const result =
    context.identifier === null
      ? environmentDefaults(environmentContext)
      : getEvaluationResult(withIdentity(environmentContext, { identifier: context.identifier, traits: context.traits }));
  const flagdContext = context.identifier === null ? { ...context.traits } : { targetingKey: context.identifier, ...context.traits };
  const out = new Map<string, { expected: string; actual: string; reason: string }>();
  for (const [name, flag] of Object.entries(result.flags)) {
    const diag = diagnostics.get(name);
    if (diag === undefined || document.flags[name] === undefined) continue;
    out.set(name, {
      expected: expectedObservation(flag, diag),
      actual: comparable(observe(core, document, name, flagdContext)),
      reason: flag.reason,
    });
  }
  return out;
}
