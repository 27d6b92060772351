/**
 * Segment rules → JsonLogic (identity present), with Flagsmith's membership semantics (engine `ruleMatches`):
 * a segment matches iff it has at least one rule and every rule matches; a rule's conditions are combined with
 * its quantifier, its sub-rules with the same quantifier, and both results are ANDed; empty lists match.
 * ALL = and, ANY = or, NONE = not(or). Unknown rule types never match.
 *
 * Bounds propagate: and/or keep lower/upper, not swaps them. A segment whose lower bound differs from its upper
 * bound lost conditions; its branch uses the lower bound (never broader than Flagsmith's segment) or disappears
 * when that is `false`.
 */
import type { AnySegmentCondition, SegmentContext, SegmentRule } from "@/server/engine/types";
import { and, not, or, type Logic } from "./logic";
import { translateCondition, type ConditionEnvironment, type Translated } from "./operators";

function combine(parts: Translated[], op: (...items: Logic[]) => Logic): Translated {
  return {
    lower: op(...parts.map((p) => p.lower)),
    upper: op(...parts.map((p) => p.upper)),
    exact: parts.every((p) => p.exact),
    approximate: parts.some((p) => p.approximate),
    notes: parts.flatMap((p) => p.notes),
    warnings: parts.flatMap((p) => p.warnings),
  };
}

function negate(part: Translated): Translated {
  return { ...part, lower: not(part.upper), upper: not(part.lower) };
}

const TRUE: Translated = { lower: true, upper: true, exact: true, approximate: false, notes: [], warnings: [] };
const FALSE: Translated = { lower: false, upper: false, exact: true, approximate: false, notes: [], warnings: [] };

function quantify(type: SegmentRule["type"], parts: Translated[]): Translated {
  if (parts.length === 0) return TRUE;
  if (type === "ALL") return combine(parts, and);
  if (type === "ANY") return combine(parts, or);
  return negate(combine(parts, or));
}

function translateRule(rule: SegmentRule, segmentKey: string, env: ConditionEnvironment): Translated {
  const type = rule.type;
  if (type !== "ALL" && type !== "ANY" && type !== "NONE") return FALSE;
  const conditions = (rule.conditions ?? []).map((c: AnySegmentCondition) => translateCondition(c, segmentKey, env));
  const rules = (rule.rules ?? []).map((r) => translateRule(r, segmentKey, env));
  return combine([quantify(type, conditions), quantify(type, rules)], and);
}

export function translateSegment(segment: Pick<SegmentContext, "key" | "rules">, env: ConditionEnvironment): Translated {
  if (!segment.rules || segment.rules.length === 0) return FALSE;
  const result = combine(
    segment.rules.map((rule) => translateRule(rule, segment.key, env)),
    and,
  );
  // Notes/approximation of parts folded away by constants do not matter.
  if (typeof result.lower === "boolean" && typeof result.upper === "boolean" && result.lower === result.upper) {
    return { ...result, exact: true, approximate: false, notes: [] };
  }
  return result;
}
