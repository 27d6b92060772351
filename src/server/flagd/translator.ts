/**
 * Flagsmith environment document → OpenFeature flagd flag-definition document (+ diagnostics). Pure: no I/O.
 *
 * ============================================================================================================
 * How Flagsmith's (enabled, value) maps to flagd
 * ============================================================================================================
 * Flagsmith evaluates every feature to a pair (enabled, value); flagd serves one value per flag (or none) and has
 * no per-evaluation "enabled". The mapping, applied to every outcome of a flag (the environment default, each
 * segment override, each identity override, each multivariate bucket):
 *
 *   Flagsmith outcome                      flagd resolution
 *   -------------------------------------  ---------------------------------------------------------------------
 *   enabled, value v (not null)            value v, variant = its key, reason TARGETING_MATCH (or STATIC)
 *   enabled, value null                    no value (reason DEFAULT, no variant: the caller's default)      [1]
 *   disabled (any value)                   no value: reason DISABLED when the flag is disabled for everyone
 *                                          (`state: DISABLED`), otherwise reason DEFAULT without a variant
 *
 *   [1] except "switch" flags, whose values are all null (plain on/off features): they become boolean flags
 *       with the single variant `control: true`, so enabled → true and disabled → the caller's default.
 *
 * So for a flagd consumer: "a value was returned" ⇔ "the feature is enabled for this context (with a value)".
 * Per-branch enabled/disabled is encoded by returning a variant key or `null` from the targeting; a flag with any
 * "no value" outcome therefore has `defaultVariant: null` (flagd ≥ 0.14; older daemons answer FLAG_NOT_FOUND).
 * The value of a disabled Flagsmith flag is not exposed (as OpenFeature providers treat disabled flags).
 *
 * Value types: flagd requires all variants of a flag to share one JSON type. Flags whose served values are all
 * strings, all numbers or all booleans keep them; flags mixing types (Flagsmith types values by content, so "foo"
 * and 42 can coexist) are served as strings ("42", "true") with a `type_mismatch` warning and a `lossy` verdict.
 *
 * ============================================================================================================
 * Document anatomy
 * ============================================================================================================
 * - `$schema`, `metadata` {flagSetId, version (= document `updated_at`), flagpost.environmentId,
 *   flagpost.translatorVersion}, `flags` keyed by feature name, `$evaluators` for segments used by ≥ 2 flags.
 * - Per flag: `state`, `variants` (`control` = environment default value, `variant_N` = multivariate options in
 *   Flagsmith's bucket order, `override_<slug>` = override values not equal to an existing variant), `defaultVariant`,
 *   `targeting` (omitted when static) and `metadata` {flagpost.featureId, flagpost.fidelity}.
 * - Targeting (one flat `if`), in Flagsmith's precedence:
 *     1. no `targetingKey` → the environment flag, computed at export time by the engine's `environmentDefaults`:
 *        exactly what `GET /api/v1/flags/` serves (the environment default state, enabled and value; no segment
 *        is evaluated and no multivariate split applies, as in Flagsmith without an identity);
 *     2. identity overrides: `{"in": [{"var": "targetingKey"}, [identifiers…]]}`, grouped by outcome, capped;
 *     3. segment overrides by priority (lower number first; ties: segment id order, as the engine iterates);
 *     4. the environment default: a fixed variant, or a `fractional` split for multivariate features.
 *    Trailing branches that yield the same as the default are dropped; a segment branch that is always true ends
 *    the chain. Segments whose rules cannot all be expressed keep only their exactly expressible part (never
 *    broader than in Flagsmith) or disappear ("fail closed"), and the flag is reported `lossy`.
 * - Buckets: `fractional` keyed by `{"cat": ["<feature state key>", ",", {"var": "targetingKey"}]}` (never null;
 *   the key is Flagsmith's lineage-stable `django_id`, and a segment/identity override with its own allocation
 *   has its own split), PERCENTAGE_SPLIT by `{"cat": ["<segment id>", ",", <value>]}` (independent per segment,
 *   identical across flags using the segment, as in Flagsmith); integer weights scaled by a common 10^k so they sum
 *   to exactly 100 × 10^k; a split with a single non-empty bucket is a fixed variant (exact).
 * - Identity overrides: one membership test per distinct outcome; at most `identityOverrideLimit` (default 100)
 *   identities per flag, in document order, the rest dropped (`identity_override_limit_exceeded`, `lossy`).
 *   Numeric identifiers follow Flagsmith's IN semantics ("012" matches an override of "12").
 *
 * Consumer contract: send `targetingKey` = the Flagsmith identity identifier and the traits as top-level context
 * attributes. A context without a (non-empty) targetingKey is identity-less: it gets the environment flags (as the
 * SDK API's `/flags/`) and its other attributes are ignored, as Flagsmith has no traits without an identity. Custom
 * identity hashing keys are not supported.
 *
 * Steps: environment-index.ts (the engine's context, overrides indexed by feature, environment warnings, segment
 * translations), feature-plan.ts (one feature → its flag, branches and diagnostics), outcomes.ts (outcomes, value
 * mapping, variants); this file plans every feature, extracts `$evaluators` and assembles document and diagnostics.
 *
 * Fidelity verdicts are defined in types.ts (`Fidelity`); the operator table is in operators.ts. Exactness is
 * verified against @openfeature/flagd-core 4.0.1 (compiled and interpreted JsonLogic) by the unit tests.
 */
import type { EnvironmentDocument } from "@/server/engine/document";
import { environmentLevelWarnings, indexEnvironment, propertyEnvironment, type SegmentInfo } from "./environment-index";
import { planFeature, type FeaturePlan, type PlanInputs } from "./feature-plan";
import { isConst, not, TARGETING_KEY } from "./logic";
import { NameAllocator, slugify } from "./names";
import type { FlagdDiagnostics, FlagdDocument, FlagdFlag, JsonLogicArg, JsonLogicRule, TranslateOptions, TranslationResult, TranslationWarning } from "./types";

/** Stored documents of another version are translated again once per revision (sync.ts). v2: identity-less = environment flags. */
export const TRANSLATOR_VERSION = "v2";
export const FLAGD_SCHEMA_URL = "https://flagd.dev/schema/v0/flags.json";
export const DEFAULT_IDENTITY_OVERRIDE_LIMIT = 100;

/**
 * Translates every feature of the environment. See the header comment for the mapping and document anatomy.
 */
export function translateEnvironment(doc: EnvironmentDocument, options: TranslateOptions): TranslationResult {
  const index = indexEnvironment(doc);
  const environmentWarnings = environmentLevelWarnings(doc, index);
  const inputs: PlanInputs = {
    index,
    segments: { env: propertyEnvironment(doc), environmentWarnings },
    identityOverrideLimit: identityOverrideLimit(options),
  };
  const plans = planFeatures(doc, inputs);
  const evaluators = extractEvaluators(plans, index.segments);
  return {
    document: assembleDocument(doc, options, plans, evaluators),
    diagnostics: assembleDiagnostics(options, environmentWarnings, plans),
  };
}

/** The identity override cap per flag: the option (a non-negative integer) or the default. */
function identityOverrideLimit(options: TranslateOptions): number {
  return Math.max(0, Math.floor(options.identityOverrideLimit ?? DEFAULT_IDENTITY_OVERRIDE_LIMIT));
}

/** One plan per feature name, in document order (of a name's first state; its last state is the one evaluated). */
function planFeatures(doc: EnvironmentDocument, inputs: PlanInputs): FeaturePlan[] {
  const plans: FeaturePlan[] = [];
  const planned = new Set<string>();
  for (const fs of doc.feature_states) {
    const name = fs.feature.name;
    if (planned.has(name)) continue;
    planned.add(name);
    const feature = inputs.index.features[name];
    if (feature === undefined) continue;
    const featureId = typeof feature.metadata?.id === "number" ? feature.metadata.id : fs.feature.id;
    plans.push(planFeature(name, featureId, feature, inputs));
  }
  return plans;
}

/** The `$evaluators` section and the evaluator name of each segment placed there. */
interface Evaluators {
  rules: Record<string, JsonLogicRule>;
  /** Segment key → evaluator name. */
  names: Map<string, string>;
}

/** `$evaluators`: segments whose (non-constant) branch appears in two or more flags; the others stay inline. */
function extractEvaluators(plans: readonly FeaturePlan[], segments: readonly SegmentInfo[]): Evaluators {
  const usage = new Map<string, number>();
  for (const plan of plans) {
    const seen = new Set<string>();
    for (const branch of plan.branches) {
      if (branch.segmentKey !== undefined && !isConst(branch.condition) && !seen.has(branch.segmentKey)) {
        seen.add(branch.segmentKey);
        usage.set(branch.segmentKey, (usage.get(branch.segmentKey) ?? 0) + 1);
      }
    }
  }
  const rules: Record<string, JsonLogicRule> = {};
  const names = new Map<string, string>();
  const allocator = new NameAllocator();
  for (const info of segments) {
    const key = info.context.key;
    if ((usage.get(key) ?? 0) < 2 || info.translated === undefined) continue;
    const name = allocator.allocate(slugify(info.context.name, `segment-${key}`));
    names.set(key, name);
    rules[name] = info.translated.lower as JsonLogicRule;
  }
  return { rules, names };
}

/**
 * A flag's targeting: one flat `if` — no targetingKey → the identity-less result, then each branch (a segment
 * placed in `$evaluators` by reference), then the fallback. Undefined for static flags.
 */
function flagTargeting(plan: FeaturePlan, evaluatorNames: ReadonlyMap<string, string>): JsonLogicRule | undefined {
  if (plan.flag.state !== "ENABLED" || !plan.hasGuard) return undefined;
  const args: JsonLogicArg[] = [not(TARGETING_KEY) as JsonLogicRule, plan.anonymous];
  for (const branch of plan.branches) {
    const ref = branch.segmentKey !== undefined ? evaluatorNames.get(branch.segmentKey) : undefined;
    args.push(ref !== undefined ? { $ref: ref } : (branch.condition as JsonLogicRule), branch.outcome);
  }
  args.push(plan.fallback);
  return { if: args };
}

/** The flagd document: schema, metadata, `$evaluators` (when any) and every exported flag with its targeting. */
function assembleDocument(doc: EnvironmentDocument, options: TranslateOptions, plans: readonly FeaturePlan[], evaluators: Evaluators): FlagdDocument {
  const flags: Record<string, FlagdFlag> = {};
  for (const plan of plans) {
    if (!plan.exported) continue;
    const targeting = flagTargeting(plan, evaluators.names);
    if (targeting !== undefined) plan.flag.targeting = targeting;
    flags[plan.name] = plan.flag;
  }
  const document: FlagdDocument = {
    $schema: FLAGD_SCHEMA_URL,
    metadata: {
      flagSetId: options.flagSetId,
      version: doc.updated_at,
      "flagpost.environmentId": doc.id,
      "flagpost.translatorVersion": TRANSLATOR_VERSION,
    },
    flags,
  };
  if (Object.keys(evaluators.rules).length > 0) document.$evaluators = evaluators.rules;
  return document;
}

/** The diagnostics: environment warnings, every feature's verdict and warnings, and their summary. */
function assembleDiagnostics(options: TranslateOptions, environmentWarnings: TranslationWarning[], plans: readonly FeaturePlan[]): FlagdDiagnostics {
  const features = plans.map((plan) => plan.diagnostics);
  const featureWarningCount = features.reduce((sum, f) => sum + f.warnings.length, 0);
  return {
    flagSetId: options.flagSetId,
    translatorVersion: TRANSLATOR_VERSION,
    environmentWarnings,
    features,
    summary: {
      features: features.length,
      exact: features.filter((f) => f.fidelity === "exact").length,
      approximate: features.filter((f) => f.fidelity === "approximate").length,
      lossy: features.filter((f) => f.fidelity === "lossy").length,
      featuresWithWarnings: features.filter((f) => f.warnings.length > 0).length,
      totalWarnings: environmentWarnings.length + featureWarningCount,
    },
  };
}
