/**
 * Flagsmith's environment document, exactly as served by `GET /api/v1/environment-document/`
 * (field names are part of the wire contract: see ../shared/reference/flagsmith-compat.md §3).
 *
 * Flagpost stores one of these per environment (the document store) and serves every SDK and flagd
 * request from it. Arrays documented as "always present" are never omitted.
 */

/** A typed feature-state value: string, integer (or float for imported data), boolean or none. */
export type FeatureStateValue = string | number | boolean | null;

export type FeatureType = "STANDARD" | "MULTIVARIATE";
export type RuleType = "ALL" | "ANY" | "NONE";

/** Every Flagsmith condition operator (the engine's list). */
export { SEGMENT_CONDITION_OPERATORS as SEGMENT_OPERATORS } from "./types";
import type { SegmentConditionOperator } from "./types";
export type SegmentOperator = SegmentConditionOperator;

export interface DocFeature {
  id: number;
  name: string;
  type: FeatureType;
}

export interface DocMultivariateOption {
  id: number;
  value: FeatureStateValue;
  /** Option key, reported as the `variant` of identity flags; null when the option has none. */
  key?: string | null;
}

export interface DocMultivariateFeatureStateValue {
  /** Orders the variants (ascending) when allocating buckets. */
  id: number;
  mv_fs_value_uuid: string;
  /** 0–100, float; the sum per feature state is ≤ 100. */
  percentage_allocation: number;
  multivariate_feature_option: DocMultivariateOption;
}

export interface DocFeatureState {
  feature: DocFeature;
  enabled: boolean;
  /** Lineage-stable multivariate hashing seed (Flagsmith's `mv_hashing_seed`). */
  django_id: number;
  featurestate_uuid: string;
  feature_state_value: FeatureStateValue;
  /** Set on segment overrides only; lower priority number = stronger. */
  feature_segment: { priority: number | null } | null;
  multivariate_feature_state_values: DocMultivariateFeatureStateValue[];
}

export interface DocCondition {
  operator: string;
  property_: string | null;
  value: string | null;
}

export interface DocRule {
  type: RuleType;
  conditions: DocCondition[];
  rules: DocRule[];
}

export interface DocSegment {
  /** Also the PERCENTAGE_SPLIT hashing key (`str(id)`): stable for the segment's lifetime and kept on import. */
  id: number;
  name: string;
  rules: DocRule[];
  /** This environment's segment overrides, each with `feature_segment.priority`. */
  feature_states: DocFeatureState[];
}

export interface DocOrganisation {
  id: number;
  name: string;
  feature_analytics: boolean;
  stop_serving_flags: boolean;
  persist_trait_data: boolean;
}

export interface DocProject {
  id: number;
  name: string;
  hide_disabled_flags: boolean;
  enable_realtime_updates: boolean;
  server_key_only_feature_ids: number[];
  organisation: DocOrganisation;
  segments: DocSegment[];
}

export interface DocIdentityTrait {
  trait_key: string;
  trait_value: FeatureStateValue;
}

export interface DocIdentityOverride {
  identifier: string;
  environment_api_key: string;
  created_date: string;
  identity_uuid: string;
  django_id: number | null;
  composite_key: string;
  dashboard_alias: string | null;
  identity_traits: DocIdentityTrait[];
  identity_features: DocFeatureState[];
}

export interface EnvironmentDocument {
  id: number;
  api_key: string;
  name: string;
  allow_client_traits: boolean;
  updated_at: string;
  hide_sensitive_data: boolean;
  /** null = use the project's setting. */
  hide_disabled_flags: boolean | null;
  use_identity_composite_key_for_hashing: boolean;
  use_identity_overrides_in_local_eval: boolean;
  project: DocProject;
  feature_states: DocFeatureState[];
  identity_overrides: DocIdentityOverride[];
}
