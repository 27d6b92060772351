/**
 * Flagpost's Flagsmith-compatible evaluation engine (pure: no I/O, no database, no logging).
 *
 * Typical SDK-endpoint use:
 *
 *   const envCtx = buildEnvironmentContext(doc, { includeIdentityOverrides: false }); // once per revision
 *   const ctx = withIdentity(envCtx, { identifier, traits }, overridesOfThisIdentity);  // per request
 *   const flags = toSdkFlags(getEvaluationResult(ctx));
 *
 * Semantics follow Flagsmith's Python engine (the engine-test-data conformance cases), with these deliberate
 * choices where JavaScript cannot tell, or where the sources disagree:
 * - JSON numbers: an integral JS number is treated as a Python int (so IN compares `"2"`, PERCENTAGE_SPLIT and
 *   REGEX see `"2"`), but a typed comparison whose value is not an int literal falls back to float (`2.0 < "2.1"`
 *   matches, as ETD requires). A Python float trait `2.0` therefore hashes as `"2"`, not `"2.0"`.
 * - MODULO never matches booleans (Python's isinstance would let True/False through as 1/0).
 * - PERCENTAGE_SPLIT on a property that resolves to nothing never matches (no identity-key fallback).
 * - Segments are evaluated without an identity too (NODE returns no segments then). What Flagpost *serves* without
 *   an identity is `environmentDefaults(context)` instead: the environment's feature states, as Flagsmith's
 *   `/api/v1/flags/` (no segments, no split); every identity-less protocol answer uses it.
 * - REGEX: Python `re.match` semantics (anchored at the start), Python syntax translated to RE2 and evaluated in
 *   linear time (regex.ts); `\d`, `\w`, `\b` stay ASCII. Invalid patterns, and patterns RE2 cannot express
 *   (backreferences, lookarounds, …), never match.
 * - JSONPath filter selectors are accepted as valid but select nothing.
 * - Segment order = JS object iteration order of `context.segments` (integer-like keys ascend, as in NODE).
 */
export * from "./types";
export { getEvaluationResult, createEvaluator, isContextInSegment, getIdentityKey, CONTROL_VARIANT } from "./evaluator";
export { environmentDefaults } from "./environment-defaults";
export { getHashedPercentageForObjectIds, getHashedPercentageForPair } from "./hashing";
export {
  buildEnvironmentContext,
  withIdentity,
  environmentDocumentToContext,
  indexIdentityOverrides,
  mapFeatureState,
  mapSegment,
  mapIdentityOverridesToSegments,
  mapTraits,
  toSdkFlags,
  IDENTITY_OVERRIDE_SEGMENT_NAME,
  SINGLE_IDENTITY_OVERRIDE_SEGMENT_KEY,
} from "./mappers";
export type {
  BuildEnvironmentContextOptions,
  IdentityInput,
  SdkEvaluationContext,
  SdkEvaluationResult,
  SdkFeatureContext,
  SdkFeatureMetadata,
  SdkFlag,
  SdkSegmentContext,
  SdkSegmentMetadata,
} from "./mappers";
