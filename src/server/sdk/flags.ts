/**
 * Flagsmith's SDK flag objects and their filters (pure: no I/O).
 *
 * Flag object (`/flags/`; identity flags add `variant`), keys in Flagsmith's order:
 *
 *   {"id": <environment default state id>, "feature": {"id", "name", "created_date", "description",
 *    "initial_value", "default_enabled", "type"}, "feature_state_value": <typed value>,
 *    "environment": <environment id>, "identity": null, "feature_segment": null, "enabled": <bool>}
 *
 * Responses are assembled from per-revision string templates (everything but the evaluated value,
 * `enabled`, `identity` and `variant` is fixed per revision), so a request only concatenates.
 *
 * Filters: a flag is hidden when the effective `hide_disabled_flags` (the environment's when not
 * null, else the project's) is on and the flag is disabled, and from client keys when its feature is
 * server-key-only. Both filters always apply (Flagsmith's `/flags/` skips the server-key-only filter
 * when hiding disabled flags, which exposes enabled server-side-only features to client keys; we do
 * not reproduce that).
 */
import type { EnvironmentDocument, FeatureStateValue } from "@/server/engine/document";
import type { SdkExtras } from "@/server/documents/types";
import type { KeyKind } from "@/server/serving/key-cache";
import type { EffectiveTrait } from "./traits";


export interface FlagTemplate {
  featureId: number;
  featureName: string;
  serverKeyOnly: boolean;
  /** `{"id":…,"feature":{…},"feature_state_value":` */
  head: string;
  /** `,"environment":…,"identity":` */
  middle: string;
}

export interface FlagTemplates {
  byFeatureId: Map<number, FlagTemplate>;
  /** Effective hide_disabled_flags of the environment. */
  hideDisabled: boolean;
  /** Environment `hide_sensitive_data`: ids and feature metadata are null, identity traits are not returned. */
  sensitive: boolean;
}

export interface FlagOutcome {
  enabled: boolean;
  value: FeatureStateValue;
  /** The identity whose override won (`identity` of the flag object); null otherwise. */
  identityId?: number | null;
  /** Identity flags only: the multivariate variant key, `"control"`, or null. */
  variant?: string | null;
}

/** The environment's `hide_disabled_flags` when not null, else the project's. */
export function effectiveHideDisabledFlags(doc: Pick<EnvironmentDocument, "hide_disabled_flags" | "project">): boolean {
  return doc.hide_disabled_flags ?? doc.project.hide_disabled_flags ?? false;
}

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** Templates for every feature of the document (compute once per revision). */
export function buildFlagTemplates(doc: EnvironmentDocument, extras: SdkExtras | null | undefined): FlagTemplates {
  const sensitive = doc.hide_sensitive_data === true;
  const serverKeyOnly = new Set(doc.project.server_key_only_feature_ids ?? []);
  const byFeatureId = new Map<number, FlagTemplate>();
  const environmentId = sensitive ? null : doc.id;
  for (const fs of doc.feature_states) {
    const feature = fs.feature;
    const meta = extras?.features?.[String(feature.id)];
    const featureJson =
      `{"id":${json(feature.id)},"name":${json(feature.name)}` +
      `,"created_date":${json(sensitive ? null : (meta?.createdDate ?? null))}` +
      `,"description":${json(sensitive ? null : (meta?.description ?? null))}` +
      `,"initial_value":${json(sensitive ? null : (meta?.initialValue ?? null))}` +
      `,"default_enabled":${json(sensitive ? null : (meta?.defaultEnabled ?? null))}` +
      `,"type":${json(feature.type)}}`;
    byFeatureId.set(feature.id, {
      featureId: feature.id,
      featureName: feature.name,
      serverKeyOnly: serverKeyOnly.has(feature.id),
      head: `{"id":${json(sensitive ? null : (meta?.stateId ?? null))},"feature":${featureJson},"feature_state_value":`,
      middle: `,"environment":${json(environmentId)},"identity":`,
    });
  }
  return { byFeatureId, hideDisabled: effectiveHideDisabledFlags(doc), sensitive };
}

/** Whether a flag is left out of a response for this key kind. */
export function isHidden(template: Pick<FlagTemplate, "serverKeyOnly">, enabled: boolean, kind: KeyKind, hideDisabled: boolean): boolean {
  return (hideDisabled && !enabled) || (kind === "client" && template.serverKeyOnly);
}

/** One flag object; `withVariant` adds the identity-flag `variant` field. */
export function renderFlag(template: FlagTemplate, outcome: FlagOutcome, sensitive: boolean, withVariant: boolean): string {
  const identity = sensitive || outcome.identityId === null || outcome.identityId === undefined ? "null" : String(outcome.identityId);
  let out =
    template.head +
    json(outcome.value) +
    template.middle +
    identity +
    ',"feature_segment":null,"enabled":' +
    (outcome.enabled ? "true" : "false");
  if (withVariant) out += ',"variant":' + json(outcome.variant ?? null);
  return out + "}";
}

export interface EvaluatedFlag {
  featureId: number;
  enabled: boolean;
  value: FeatureStateValue;
  variant: string | null;
}

export interface RenderedFlags {
  /** The JSON array of visible flags. */
  list: string;
  /** Feature name → the JSON object of that visible flag (for `?feature=`). */
  byName: Map<string, string>;
}

/**
 * Renders evaluated flags for one key kind: filters applied, in evaluation (document) order.
 * `identity` (identity flags): the identity's id and the features it overrides (their flags carry
 * `identity`), and `variant` fields are added.
 */
export function renderFlags(
  templates: FlagTemplates,
  flags: readonly EvaluatedFlag[],
  kind: KeyKind,
  identity?: { id: number | null; overriddenFeatureIds: ReadonlySet<number> },
  options: { byName?: boolean } = {},
): RenderedFlags {
  const parts: string[] = [];
  const byName = new Map<string, string>();
  for (const flag of flags) {
    const template = templates.byFeatureId.get(flag.featureId);
    if (!template || isHidden(template, flag.enabled, kind, templates.hideDisabled)) continue;
    const identityId = identity && identity.overriddenFeatureIds.has(flag.featureId) ? identity.id : null;
    const rendered = renderFlag(template, { enabled: flag.enabled, value: flag.value, identityId, variant: flag.variant }, templates.sensitive, identity !== undefined);
    parts.push(rendered);
    if (options.byName) byName.set(template.featureName, rendered);
  }
  return { list: "[" + parts.join(",") + "]", byName };
}

/** A trait of an identity response (`id` is not exposed: null, as for Flagsmith's unsaved traits). */
export function renderTrait(trait: EffectiveTrait): string {
  return `{"id":null,"trait_key":${json(trait.key)},"trait_value":${json(trait.value)},"transient":${trait.transient ? "true" : "false"}}`;
}

/** `{"identifier", "traits", "flags"}`; traits are `[]` when the environment hides sensitive data. */
export function renderIdentityResponse(identifier: string, traits: readonly EffectiveTrait[], flagsJson: string, sensitive: boolean): string {
  const traitsJson = sensitive ? "[]" : "[" + traits.map(renderTrait).join(",") + "]";
  return `{"identifier":${json(identifier)},"traits":${traitsJson},"flags":${flagsJson}}`;
}
