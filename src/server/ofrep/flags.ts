/**
 * OFREP's view of a document revision: every flag's value mapping, variant names and shape, taken
 * from the environment's flagd document (docs/flagd.md), so that an OFREP answer and flagd's agree
 * on values and variant names for every context; and the resolution of one engine result into an
 * OFREP evaluation.
 *
 * Flagsmith evaluates to (enabled, value); OFREP (like flagd) serves one value or none:
 *
 *   engine result                       OFREP evaluation
 *   ----------------------------------  -------------------------------------------------------------
 *   enabled, value v                    `value` = v under the flag's mapping (`switch` flags: true;
 *                                       mixed-type flags: v as a string), `variant` = flagd's name of it
 *   enabled, value null (not `switch`)  no `value` (reason DEFAULT): the caller's code default
 *   disabled                            no `value`: reason DISABLED when the flag is disabled for every
 *                                       context (flagd `state: DISABLED`), else DEFAULT
 *
 * Reasons of a value: STATIC when the flag serves the same to every context (no flagd targeting);
 * without an identity, DEFAULT (the environment's flags); otherwise from the engine: SPLIT (a
 * multivariate split chose it), TARGETING_MATCH (a segment or identity override), DEFAULT (the
 * environment default).
 */
import type { FlagResult } from "@/server/engine";
import { flagdOf } from "@/server/flagd/sync";
import { representationKey, representValue } from "@/server/flagd/outcomes";
import type { FlagdDiagnostics, FlagdDocument, FlagdVariantValue, ValueMapping } from "@/server/flagd/types";
import type { ServedDocument } from "@/server/serving/document-cache";

export type OfrepReason = "STATIC" | "TARGETING_MATCH" | "SPLIT" | "DISABLED" | "DEFAULT";

export interface FlagPlan {
  name: string;
  featureId: number;
  mapping: ValueMapping;
  /** The same outcome for every context (no flagd targeting). */
  isStatic: boolean;
  /** Disabled for every context (flagd `state: DISABLED`). */
  disabledForEveryone: boolean;
  /** Served value (`representationKey`) → flagd's variant name. */
  variants: ReadonlyMap<string, string>;
}

export interface RevisionPlan {
  /** `<project slug>/<environment slug>` (flagd's `metadata.flagSetId`). */
  flagSetId: string;
  /** The document revision, as OFREP metadata's `version`. */
  version: string;
  byName: ReadonlyMap<string, FlagPlan>;
}

/** One evaluation as OFREP answers it (`value` absent: the caller's code default). */
export interface Resolution {
  key: string;
  value?: FlagdVariantValue;
  reason: OfrepReason;
  variant?: string;
}

/** The plan of a revision, built once per revision from its flagd artefacts (stored, or translated again after an upgrade). */
export function revisionPlanOf(served: ServedDocument): RevisionPlan {
  return served.derived("ofrep.plan", (entry) => {
    const flagd = flagdOf(entry);
    const document = JSON.parse(flagd.document) as FlagdDocument;
    const diagnostics = flagd.diagnostics as FlagdDiagnostics;
    const byName = new Map<string, FlagPlan>();
    for (const feature of diagnostics.features) {
      const flag = document.flags[feature.name];
      const variants = new Map<string, string>();
      if (flag && flag.state === "ENABLED") for (const [name, value] of Object.entries(flag.variants)) variants.set(representationKey(value), name);
      byName.set(feature.name, {
        name: feature.name,
        featureId: feature.featureId,
        mapping: feature.valueMapping,
        isStatic: flag !== undefined && flag.state === "ENABLED" && flag.targeting === undefined,
        disabledForEveryone: flag !== undefined && flag.state === "DISABLED",
        variants,
      });
    }
    const flagSetId = typeof document.metadata.flagSetId === "string" ? document.metadata.flagSetId : diagnostics.flagSetId;
    return { flagSetId, version: String(entry.revision), byName };
  });
}

function reasonOfEngine(reason: string): OfrepReason {
  if (reason.startsWith("SPLIT")) return "SPLIT";
  if (reason.startsWith("TARGETING_MATCH")) return "TARGETING_MATCH";
  return "DEFAULT";
}

/** The OFREP evaluation of one engine result (`identityLess`: evaluated without an identity). */
export function resolve(plan: FlagPlan, flag: Pick<FlagResult, "enabled" | "value" | "reason">, identityLess: boolean): Resolution {
  if (!flag.enabled) return { key: plan.name, reason: plan.disabledForEveryone ? "DISABLED" : "DEFAULT" };
  const value = representValue(plan.mapping, flag.value);
  if (value === null) return { key: plan.name, reason: "DEFAULT" };
  const reason: OfrepReason = plan.isStatic ? "STATIC" : identityLess ? "DEFAULT" : reasonOfEngine(flag.reason);
  const variant = plan.variants.get(representationKey(value));
  return variant === undefined ? { key: plan.name, value, reason } : { key: plan.name, value, reason, variant };
}
