/**
 * Types of the flagd flag-definition document (schema v0.2.x, `https://flagd.dev/schema/v0/flags.json`,
 * map form) and of the translator's diagnostics. See ../shared/reference/flagd.md §1.
 */

/** A JSON scalar allowed in flagd metadata. */
export type MetadataValue = string | number | boolean;
export type FlagdMetadata = Record<string, MetadataValue>;

/**
 * A JsonLogic rule object (`{"<operator>": <args>}` or `{"$ref": "<evaluator>"}`). Arguments are rules or JSON
 * primitives; the concrete shapes are built in `logic.ts`.
 */
export interface JsonLogicRule {
  [operator: string]: JsonLogicArg;
}
export type JsonLogicPrimitive = string | number | boolean | null;
export type JsonLogicArg = JsonLogicPrimitive | JsonLogicRule | readonly JsonLogicArg[];

/** Variant values of one flag all share one JSON type (flagd rejects mixed types). */
export type FlagdVariantValue = string | number | boolean;

export interface FlagdFlag {
  state: "ENABLED" | "DISABLED";
  variants: Record<string, FlagdVariantValue>;
  /** A key of `variants`, or null = "no value: the caller's code default" (flagd ≥ 0.14). */
  defaultVariant: string | null;
  /** Omitted when the flag is static (reason `STATIC`). */
  targeting?: JsonLogicRule;
  metadata?: FlagdMetadata;
}

export interface FlagdDocument {
  $schema: "https://flagd.dev/schema/v0/flags.json";
  metadata: FlagdMetadata;
  $evaluators?: Record<string, JsonLogicRule>;
  flags: Record<string, FlagdFlag>;
}

// ------------------------------------------------------------------------------------------------
// Diagnostics

export type WarningReason =
  /** A REGEX condition that is not a plain literal prefix/equality/containment/alternation. */
  | "regex_unsupported"
  /** An operator outside Flagsmith's list. Flagsmith never matches it; the condition is translated as `false`. */
  | "unknown_operator"
  /** A condition value flagd cannot evaluate like Flagsmith (e.g. unparsable, null where a string is needed). */
  | "malformed_value"
  /** More identity overrides for one feature than `identityOverrideLimit`; the excess are dropped. */
  | "identity_override_limit_exceeded"
  /** A disabled override whose outcome equals what the identity would get anyway (kept: it still pins precedence). */
  | "disabled_override_no_op"
  /** Values of more than one JSON type: every value is served as a string. */
  | "type_mismatch"
  /** An enabled outcome with a null value: flagd can only serve it as "no value" (the caller's default). */
  | "null_value"
  /** A condition property flagd cannot address (reserved context key, empty trait name, …). */
  | "unsupported_property"
  /** A segment lost conditions it cannot express: its branch was narrowed or omitted (fail closed). */
  | "segment_not_exact"
  /** A feature, segment or identity override whose data cannot be represented (e.g. invalid flag key). */
  | "skipped"
  /** Weights that do not add up like Flagsmith's (sum > 100 %, negative, too many decimals). */
  | "weights_adjusted";

export interface TranslationWarning {
  reason: WarningReason;
  detail: string;
}

/**
 * - `exact`: flagd-core returns, for every context, what Flagpost's engine returns (under the value mapping
 *   documented in translator.ts); for a context without a targetingKey that is the environment flags (engine
 *   `environmentDefaults`, what `GET /api/v1/flags/` serves), which every flag reproduces exactly.
 * - `approximate`: the same rules, but flagd may decide differently for some identities: a multivariate split or
 *   PERCENTAGE_SPLIT is in play (flagd buckets with MurmurHash3, Flagsmith with MD5: same proportions, different
 *   identities per bucket), or a comparison constant flagd cannot represent exactly (strings ordered by UTF-16 units
 *   vs code points, integers ≥ 2^53).
 * - `lossy`: something could not be represented: a condition skipped (its branch narrowed or omitted, fail closed),
 *   identity overrides beyond the limit dropped, values of mixed types served as strings, an invalid flag key.
 * `reasons` says which.
 */
export type Fidelity = "exact" | "approximate" | "lossy";

/**
 * How Flagsmith values appear in flagd (see translator.ts): `native` = as they are (null → no value), `switch` =
 * every value is null, served as `true` (enabled) or no value (disabled), `stringified` = mixed types, served as
 * strings (`String(value)`; null → no value).
 */
export type ValueMapping = "native" | "switch" | "stringified";

export interface FeatureDiagnostics {
  name: string;
  /** The Flagsmith feature id. */
  featureId: number;
  fidelity: Fidelity;
  valueMapping: ValueMapping;
  /** Why the verdict is not `exact` (empty when exact). */
  reasons: string[];
  warnings: TranslationWarning[];
}

export interface FlagdDiagnostics {
  flagSetId: string;
  translatorVersion: string;
  /** Segment-level and environment-level warnings (each reported once). */
  environmentWarnings: TranslationWarning[];
  /** Every feature of the environment, in document order. */
  features: FeatureDiagnostics[];
  summary: {
    features: number;
    exact: number;
    approximate: number;
    lossy: number;
    featuresWithWarnings: number;
    totalWarnings: number;
  };
}

export interface TranslateOptions {
  /** `<project slug>/<environment slug>` (or any stable id), published as `metadata.flagSetId`. */
  flagSetId: string;
  /** Maximum identity overrides emitted per feature; the rest are dropped with a warning. Default 100. */
  identityOverrideLimit?: number;
}

export interface TranslationResult {
  document: FlagdDocument;
  diagnostics: FlagdDiagnostics;
}
