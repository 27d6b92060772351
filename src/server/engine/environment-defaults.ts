/**
 * The one answer for a context without an identity: the environment's own feature states (Flagsmith's
 * `GET /api/v1/flags/`, ../shared/reference/flagsmith-compat.md §2.1). Without an identity Flagsmith has no traits,
 * so no segment is evaluated, and no identity to hash, so a multivariate feature serves its control value. Every
 * identity-less protocol answer uses this: the SDK's `/flags/`, flagd's no-`targetingKey` branch (and OFREP
 * without a targetingKey).
 */
import { getEvaluationResult } from "./evaluator";
import type { EvaluationContext, EvaluationResult, Metadata } from "./types";

/**
 * Every feature of the context as its environment default: `enabled` and value of the feature state, reason
 * `DEFAULT`, variant null, metadata echoed. The context's segments and identity (if any) are ignored.
 */
export function environmentDefaults<FM extends Metadata = Metadata, SM extends Metadata = Metadata>(
  context: EvaluationContext<FM, SM>,
): EvaluationResult<FM, SM> {
  return getEvaluationResult<FM, SM>({ environment: context.environment, features: context.features });
}
