/**
 * The environment as the translator reads it: the engine's own context (features and segments, mapped by the
 * engine's mapper), the identity-less flags (the environment flags), segment and identity overrides indexed by
 * feature name in the engine's precedence order, environment-level warnings, and each segment's translation (made
 * once, when a flag first needs it).
 */
import { parseInList } from "@/server/engine/conditions";
import {
  environmentDefaults,
  mapFeatureState,
  mapIdentityOverridesToSegments,
  mapSegment,
  type EvaluationContext,
  type FeatureContext,
  type FlagResult,
  type SegmentContext,
} from "@/server/engine";
import type { EnvironmentDocument } from "@/server/engine/document";
import type { Translated } from "./operators";
import type { PropertyEnvironment } from "./properties";
import { translateSegment } from "./segments";
import type { TranslationWarning } from "./types";

export interface SegmentInfo {
  context: SegmentContext;
  /** Position in the engine's iteration order (ties in priority go to the earlier segment). */
  order: number;
  translated?: Translated;
}

export interface SegmentOverrideRef {
  segment: SegmentInfo;
  override: FeatureContext;
}

export interface IdentityOverrideRef {
  identifiers: string[];
  override: FeatureContext;
  /** First identifier, for naming. */
  label: string;
}

export interface EnvironmentIndex {
  /** The engine's context: features keyed by name (the last state of a name wins), segments keyed by id. */
  context: EvaluationContext;
  features: Record<string, FeatureContext>;
  /** Segments in the engine's iteration order (ascending id). */
  segments: SegmentInfo[];
  /** What a context without an identity gets, per feature name (the environment flags). */
  identityLessFlags: Record<string, FlagResult>;
  /** Segment overrides per feature name, in engine iteration order. */
  segmentOverrides: Map<string, SegmentOverrideRef[]>;
  /** Identity overrides per feature name, in engine precedence order. */
  identityOverrides: Map<string, IdentityOverrideRef[]>;
}

/** Builds the engine context of the document and indexes its overrides by feature name. */
export function indexEnvironment(doc: EnvironmentDocument): EnvironmentIndex {
  const { context, features, segmentRecord } = engineContext(doc);
  const segments: SegmentInfo[] = Object.values(segmentRecord).map((segment, order) => ({ context: segment, order }));
  return {
    context,
    features,
    segments,
    identityLessFlags: identityLessFlags(context),
    segmentOverrides: segmentOverridesByFeature(segments),
    identityOverrides: identityOverridesByFeature(doc),
  };
}

/**
 * The engine's own view of the document (its mapper, without deep-freezing: nothing here mutates it): features
 * keyed by name (the last state of a name wins), segments keyed by id (iterated in ascending id order).
 */
function engineContext(doc: EnvironmentDocument): {
  context: EvaluationContext;
  features: Record<string, FeatureContext>;
  segmentRecord: Record<string, SegmentContext>;
} {
  const features: Record<string, FeatureContext> = {};
  for (const fs of doc.feature_states) features[fs.feature.name] = mapFeatureState(fs, fs.feature_segment?.priority);
  const segmentRecord: Record<string, SegmentContext> = {};
  for (const s of doc.project.segments) segmentRecord[String(s.id)] = mapSegment(s);
  return { context: { environment: { key: doc.api_key, name: doc.name }, features, segments: segmentRecord }, features, segmentRecord };
}

/**
 * What a context without an identity gets, decided now by the engine's one rule for it (`environmentDefaults`:
 * the environment's feature states, exactly what `GET /api/v1/flags/` serves; no segment, no split).
 */
function identityLessFlags(context: EvaluationContext): Record<string, FlagResult> {
  return environmentDefaults(context).flags;
}

/** Segment overrides per feature name, in engine iteration order. */
function segmentOverridesByFeature(segments: readonly SegmentInfo[]): Map<string, SegmentOverrideRef[]> {
  const byFeature = new Map<string, SegmentOverrideRef[]>();
  for (const segment of segments) {
    for (const override of segment.context.overrides ?? []) {
      let list = byFeature.get(override.name);
      if (list === undefined) byFeature.set(override.name, (list = []));
      list.push({ segment, override });
    }
  }
  return byFeature;
}

/**
 * Identity overrides per feature name, in the engine's precedence order. The engine groups identities with
 * identical override sets into synthetic segments (first group first; within a group the first override of a
 * feature wins). Group order only matters when an identifier appears more than once, so the (costly) grouping is
 * only reproduced then; otherwise each identity's first override of a feature is its override.
 */
function identityOverridesByFeature(doc: EnvironmentDocument): Map<string, IdentityOverrideRef[]> {
  const byFeature = new Map<string, IdentityOverrideRef[]>();
  const add = (identifiers: string[], override: FeatureContext) => {
    let list = byFeature.get(override.name);
    if (list === undefined) byFeature.set(override.name, (list = []));
    list.push({ identifiers, override, label: identifiers[0] ?? "identity" });
  };
  const overrides = doc.identity_overrides ?? [];
  const identifiers = new Set(overrides.map((o) => o.identifier));
  if (identifiers.size === overrides.length) {
    for (const identity of overrides) {
      const seen = new Set<string>();
      for (const fs of identity.identity_features ?? []) {
        if (seen.has(fs.feature.name)) continue;
        seen.add(fs.feature.name);
        add([identity.identifier], mapFeatureState(fs, -Infinity));
      }
    }
    return byFeature;
  }
  for (const group of Object.values(mapIdentityOverridesToSegments(overrides))) {
    const value = group.rules[0]?.conditions?.[0]?.value ?? [];
    const members = parseInList(value);
    const seen = new Set<string>();
    for (const override of group.overrides ?? []) {
      if (seen.has(override.name)) continue;
      seen.add(override.name);
      add(members, override);
    }
  }
  return byFeature;
}

/** Warnings about the environment as a whole: overrides of features it does not have, features listed twice. */
export function environmentLevelWarnings(doc: EnvironmentDocument, index: EnvironmentIndex): TranslationWarning[] {
  const warnings: TranslationWarning[] = [];
  for (const [name, refs] of index.segmentOverrides) {
    if (index.features[name] !== undefined) continue;
    const where = refs.map((ref) => `"${ref.segment.context.name}" (${ref.segment.context.key})`).join(", ");
    warnings.push({ reason: "skipped", detail: `segment ${where} overrides feature "${name}", which the environment does not have: ignored (as in Flagsmith)` });
  }
  for (const [name, refs] of index.identityOverrides) {
    if (index.features[name] !== undefined) continue;
    const count = refs.reduce((sum, ref) => sum + ref.identifiers.length, 0);
    warnings.push({ reason: "skipped", detail: `${count} identity override(s) of feature "${name}", which the environment does not have: ignored (as in Flagsmith)` });
  }
  const seenNames = new Set<string>();
  for (const fs of doc.feature_states) {
    if (seenNames.has(fs.feature.name)) {
      warnings.push({ reason: "skipped", detail: `feature "${fs.feature.name}" appears more than once; the last state is used (as in Flagsmith)` });
    }
    seenNames.add(fs.feature.name);
  }
  return warnings;
}

/** Where segment translations report: the properties they resolve against and the environment-level warnings. */
export interface SegmentTranslationSink {
  env: PropertyEnvironment;
  environmentWarnings: TranslationWarning[];
}

/** The document's environment as condition translation sees it. */
export function propertyEnvironment(doc: EnvironmentDocument): PropertyEnvironment {
  return { apiKey: doc.api_key, name: doc.name, compositeIdentityKey: doc.use_identity_composite_key_for_hashing !== false };
}

/** A segment's translation, made on first use (its warnings reported once, environment-level) and kept on `info`. */
export function segmentTranslation(info: SegmentInfo, sink: SegmentTranslationSink): Translated {
  if (info.translated === undefined) {
    info.translated = translateSegment(info.context, sink.env);
    for (const warning of info.translated.warnings) {
      sink.environmentWarnings.push({ reason: warning.reason, detail: `segment "${info.context.name}" (${info.context.key}): ${warning.detail}` });
    }
  }
  return info.translated;
}
