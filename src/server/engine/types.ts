/**
 * Engine input and output types, matching Flagsmith's SDK JSON schemas
 * (`sdk/evaluation-context.json`, `sdk/evaluation-result.json`; see
 * ../shared/reference/flagsmith-compat.md §4.1).
 *
 * Contexts are plain JSON-compatible data. The evaluator caches derived data (parsed condition values,
 * compiled regexes, sorted variants) in WeakMaps keyed on the context's own objects, so a context must
 * not be mutated after it has been evaluated once: build a new object instead.
 */

/** A feature (or variant) value: string, number, boolean or none. */
export type FlagValue = string | number | boolean | null;

/** A trait value as it may appear in `identity.traits`. */
export type TraitValue = string | number | boolean | null;

/** Free-form metadata echoed into results (`metadata` on features and segments). */
export type Metadata = Record<string, unknown>;

export interface EnvironmentContext {
  /** Environment key (the client API key); seeds the default identity key `<key>_<identifier>`. */
  key: string;
  /** Human-readable name, reachable as `$.environment.name`. */
  name: string;
}

export interface IdentityContext {
  /** Reachable as `$.identity.identifier`. */
  identifier: string;
  /**
   * Hashing key for multivariate and PERCENTAGE_SPLIT bucketing (`$.identity.key`). When unset (or empty)
   * the engine uses `<environment.key>_<identifier>`.
   */
  key?: string;
  traits?: Readonly<Record<string, TraitValue>>;
}

/** A multivariate variant (the schema calls this type `FeatureValue`). */
export interface FeatureVariant {
  /** Stable variant key reported as the flag's `variant`; omitted when the option has none. */
  key?: string;
  value: FlagValue;
  /** Percentage (0–100). */
  weight: number;
  /** Variants are bucketed in ascending priority order. */
  priority: number;
}

export interface FeatureContext<FM extends Metadata = Metadata> {
  /** Multivariate hashing seed (Flagsmith: `str(django_id)`). */
  key: string;
  name: string;
  enabled: boolean;
  /** Default (control) value. */
  value: FlagValue;
  variants?: readonly FeatureVariant[];
  /** Override priority: lower wins; missing = +∞. Identity overrides use −∞. */
  priority?: number;
  metadata?: FM;
}

export const SEGMENT_CONDITION_OPERATORS = [
  "EQUAL",
  "GREATER_THAN",
  "LESS_THAN",
  "LESS_THAN_INCLUSIVE",
  "CONTAINS",
  "GREATER_THAN_INCLUSIVE",
  "NOT_CONTAINS",
  "NOT_EQUAL",
  "REGEX",
  "PERCENTAGE_SPLIT",
  "MODULO",
  "IS_SET",
  "IS_NOT_SET",
  "IN",
] as const;
export type SegmentConditionOperator = (typeof SEGMENT_CONDITION_OPERATORS)[number];

export interface SegmentCondition {
  /** A trait name, or a JSONPath into the context when it starts with `$.`; empty for a plain PERCENTAGE_SPLIT. */
  property: string;
  /** Unknown operators never match. */
  operator: SegmentConditionOperator;
  value: string;
}

/** IN is the only operator whose value may also be a list of strings (no comma splitting then). */
export interface InSegmentCondition {
  property: string;
  operator: "IN";
  value: string | readonly string[];
}

export type AnySegmentCondition = SegmentCondition | InSegmentCondition;

export type SegmentRuleType = "ALL" | "ANY" | "NONE";

export interface SegmentRule {
  type: SegmentRuleType;
  conditions?: readonly AnySegmentCondition[];
  /** Sub-rules are combined with this rule's own `type`. */
  rules?: readonly SegmentRule[];
}

export interface SegmentContext<FM extends Metadata = Metadata, SM extends Metadata = Metadata> {
  /** PERCENTAGE_SPLIT hashing key (Flagsmith: `str(segment.id)`). */
  key: string;
  name: string;
  /** The segment matches iff there is at least one rule and every rule matches. */
  rules: readonly SegmentRule[];
  overrides?: readonly FeatureContext<FM>[];
  metadata?: SM;
}

export interface EvaluationContext<FM extends Metadata = Metadata, SM extends Metadata = Metadata> {
  environment: EnvironmentContext;
  identity?: IdentityContext | null;
  /** Keyed by segment key; evaluated (and reported) in object iteration order. */
  segments?: Readonly<Record<string, SegmentContext<FM, SM>>>;
  /** Keyed by feature name. */
  features?: Readonly<Record<string, FeatureContext<FM>>>;
}

export interface FlagResult<FM extends Metadata = Metadata> {
  name: string;
  enabled: boolean;
  value: FlagValue;
  /** `DEFAULT`, `TARGETING_MATCH; segment=<name>` or `SPLIT; weight=<weight>`. */
  reason: string;
  /**
   * The multivariate variant: the chosen variant's key (null if it has none), `"control"` when the identity
   * fell in the remainder, null when no multivariate split applied.
   */
  variant: string | null;
  /** The winning feature context's metadata (shared, not copied: treat as read-only). */
  metadata?: FM;
}

export interface SegmentResult<SM extends Metadata = Metadata> {
  name: string;
  metadata?: SM;
}

export interface EvaluationResult<FM extends Metadata = Metadata, SM extends Metadata = Metadata> {
  /** Keyed by feature name, in the order of `context.features`. */
  flags: Record<string, FlagResult<FM>>;
  /** Matched segments in context order. */
  segments: SegmentResult<SM>[];
}
