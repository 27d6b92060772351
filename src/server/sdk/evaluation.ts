/**
 * Evaluation views for the admin UI: what an SDK gets for an identity (or for any identifier and
 * traits), flag by flag, with the reason — environment default, segment override, identity
 * override, split bucket — and the segments the context is in.
 *
 * Computed exactly as the SDK API answers `/api/v1/identities/`: from the environment's **stored
 * document** (the serving document cache, the same revision-checked entry and per-revision engine
 * context the SDK endpoints use), the same identity-override index and hashing key, the same trait
 * rules. Not built fresh from the database: the view then shows what applications receive now,
 * revision for revision, at no more cost than an SDK request; a change still being published
 * shows as `upToDate: false` until the worker has written its document (usually well under a
 * second), and the UI says so.
 *
 * Nothing is written: a tested identifier that does not exist is not created, given traits are
 * used for this evaluation only (as with the SDK's `"transient": true`).
 */
import { z } from "zod";
import { getLogger } from "@/server/observability/logger";
import { documentStatus } from "@/server/documents/store";
import { getEvaluationResult, withIdentity, type SdkEvaluationResult } from "@/server/engine";
import type { DocFeatureState } from "@/server/engine/document";
import type { FlagValue } from "@/server/engine/types";
import { DomainError } from "@/server/errors";
import { text } from "@/server/input";
import { getIdentity } from "@/server/identities/service";
import { MAX_TRAIT_STRING_LENGTH } from "@/server/identities/values";
import { currentDocument, type ServedDocument } from "@/server/serving/document-cache";
import { identityWithTraits } from "./identity-store";
import { contextOf, identityHashKey, overridesOf, templatesOf } from "./service";
import { markTransient, MAX_IDENTIFIER_LENGTH, MAX_TRAIT_KEY_LENGTH, planTraits, traitsForEvaluation, transientIdentifier, type IncomingTrait, type TraitPlan } from "./traits";

const log = getLogger("sdk");

/** At most this many traits in a tested context (an SDK request has no such limit; a form does). */
export const MAX_TEST_TRAITS = 100;

/** A tested context: an identifier (optional, as for the SDK) and traits, bounded as the SDK API bounds them. */
export const testContextInput = z.object({
  identifier: text()
    .max(MAX_IDENTIFIER_LENGTH, `Identifiers are limited to ${MAX_IDENTIFIER_LENGTH} characters`)
    .refine((value) => Buffer.byteLength(value, "utf8") <= MAX_IDENTIFIER_LENGTH, `Identifiers are limited to ${MAX_IDENTIFIER_LENGTH} bytes`)
    .optional(),
  traits: z
    .array(
      z.object({
        key: text()
          .max(MAX_TRAIT_KEY_LENGTH, `Trait keys are limited to ${MAX_TRAIT_KEY_LENGTH} characters`)
          .refine((value) => value.trim().length > 0, "Trait key is required"),
        // The SDK API's trait values: text (bounded), finite numbers, booleans; null removes a stored trait.
        value: z.union([
          text().max(MAX_TRAIT_STRING_LENGTH, `Trait values are limited to ${MAX_TRAIT_STRING_LENGTH} characters`),
          z.number().finite(),
          z.boolean(),
          z.null(),
        ]),
      }),
    )
    .max(MAX_TEST_TRAITS, `At most ${MAX_TEST_TRAITS} traits`)
    .default([]),
});
export type TestContextInput = z.input<typeof testContextInput>;

/** Why a flag has its state. */
export type FlagSource =
  | { kind: "default" }
  | { kind: "segment"; segmentId: number; segmentName: string }
  | { kind: "identity_override" };

export interface EvaluatedFlag {
  featureId: number;
  featureName: string;
  enabled: boolean;
  value: FlagValue;
  /** Whose state won: the environment default, a segment override, or the identity's own override. */
  source: FlagSource;
  /** The multivariate split the identity fell in (a variation's weight), or null (no split, or the control remainder). */
  splitWeight: number | null;
  /** The variation key, `"control"` (the remainder of a split), or null (no split). */
  variant: string | null;
  /** The engine's reason, as Flagsmith reports it (`DEFAULT`, `TARGETING_MATCH; segment=…`, `SPLIT; weight=…`). */
  reason: string;
  /** Served to server-side keys only. */
  serverKeyOnly: boolean;
}

export interface EvaluationView {
  environmentId: number;
  /** The document revision evaluated, and whether it is the environment's latest. */
  revision: number;
  upToDate: boolean;
  identifier: string;
  /** The stored identity evaluated (its traits and overrides apply), or null (none with this identifier). */
  identityId: number | null;
  /** The traits used: stored ones overlaid with the given ones (`given`). */
  traits: { key: string; value: Exclude<FlagValue, null>; source: "stored" | "given" }[];
  /** Segments the context is in, in document order. */
  segments: { id: number; name: string }[];
  flags: EvaluatedFlag[];
  /** Effective hide_disabled_flags: SDKs do not receive the disabled flags listed here. */
  hideDisabledFlags: boolean;
}

async function servedDocument(environmentId: number): Promise<ServedDocument> {
  const served = await currentDocument(environmentId);
  if (!served) throw new DomainError("PRECONDITION_FAILED", "This environment has not been published yet: try again in a moment");
  return served;
}

type SourceIndex = Map<object, FlagSource>;

/**
 * Which context a flag came from: the engine's result carries the winning feature context's own
 * `metadata` object (shared, not copied: engine/types.ts FlagResult.metadata), so the source is
 * looked up by that object's identity, without re-deciding priorities here.
 */
function sourcesOf(served: ServedDocument): SourceIndex {
  return served.derived("evaluation.sources", (entry) => {
    const context = contextOf(entry);
    const index: SourceIndex = new Map();
    for (const feature of Object.values(context.features ?? {})) if (feature.metadata) index.set(feature.metadata, { kind: "default" });
    for (const segment of Object.values(context.segments ?? {})) {
      const metadata = segment.metadata;
      if (metadata?.source !== "api" || typeof metadata.id !== "number") continue;
      for (const override of segment.overrides ?? []) {
        if (override.metadata) index.set(override.metadata, { kind: "segment", segmentId: metadata.id, segmentName: segment.name });
      }
    }
    return index;
  });
}

const SPLIT_REASON = /^SPLIT; weight=(.+)$/;

function toView(served: ServedDocument, result: SdkEvaluationResult, identity: { identifier: string; identityId: number | null; plan: TraitPlan }): Omit<EvaluationView, "upToDate"> {
  const sources = sourcesOf(served);
  const templates = templatesOf(served);
  const flags: EvaluatedFlag[] = [];
  for (const flag of Object.values(result.flags)) {
    const featureId = flag.metadata?.id ?? -1;
    // Anything not indexed per revision was added per request: the identity's own overrides.
    const source = (flag.metadata && sources.get(flag.metadata)) ?? { kind: "identity_override" };
    const split = SPLIT_REASON.exec(flag.reason);
    flags.push({
      featureId,
      featureName: flag.name,
      enabled: flag.enabled,
      value: flag.value,
      source,
      splitWeight: split ? Number(split[1]) : null,
      variant: flag.variant,
      reason: flag.reason,
      serverKeyOnly: templates.byFeatureId.get(featureId)?.serverKeyOnly ?? false,
    });
  }
  const segments = result.segments.flatMap((segment) =>
    segment.metadata?.source === "api" && typeof segment.metadata.id === "number" ? [{ id: segment.metadata.id, name: segment.name }] : [],
  );
  return {
    environmentId: served.environmentId,
    revision: served.revision,
    identifier: identity.identifier,
    identityId: identity.identityId,
    traits: identity.plan.effective.map((trait) => ({ key: trait.key, value: trait.value, source: trait.transient ? "given" : "stored" })),
    segments,
    flags,
    hideDisabledFlags: templates.hideDisabled,
  };
}

async function evaluate(
  served: ServedDocument,
  identity: { identifier: string; stored: { id: number; djangoId: number | null } | null; plan: TraitPlan },
): Promise<EvaluationView> {
  // Stored identities only: their overrides (from this revision's document) beat every segment.
  const overrides: readonly DocFeatureState[] | undefined = identity.stored ? overridesOf(served).get(identity.identifier) : undefined;
  const context = withIdentity(
    contextOf(served),
    { identifier: identity.identifier, key: identityHashKey(served, identity.stored), traits: traitsForEvaluation(identity.plan.effective) },
    overrides,
  );
  const result = getEvaluationResult(context);
  const status = await documentStatus(served.environmentId);
  return {
    ...toView(served, result, { identifier: identity.identifier, identityId: identity.stored?.id ?? null, plan: identity.plan }),
    upToDate: (status.environmentRevision ?? 0) <= served.revision,
  };
}

/** A stored identity's flags as the SDK gives them (its stored traits, its overrides). */
export async function evaluateIdentity(identityId: number): Promise<EvaluationView> {
  const identity = await getIdentity(identityId);
  const served = await servedDocument(identity.environmentId);
  const plan = planTraits(identity.traits, [], { persist: false });
  const view = await evaluate(served, { identifier: identity.identifier, stored: { id: identity.id, djangoId: identity.djangoId }, plan });
  log.debug("evaluation.viewed", { environment__id: identity.environmentId, identity__id: identityId });
  return view;
}

/**
 * Any identifier and traits, as `POST /api/v1/identities/` with `"transient": true` answers it: a
 * stored identity with that identifier lends its traits (overlaid by the given ones) and overrides,
 * nothing is created or written. Without an identifier, the SDK's fully transient identity: an
 * identifier derived from the traits, no stored traits, no overrides.
 */
export async function evaluateContext(environmentId: number, input: z.output<typeof testContextInput>): Promise<EvaluationView> {
  const served = await servedDocument(environmentId);
  const incoming: IncomingTrait[] = markTransient(input.traits.map((trait) => ({ key: trait.key, value: trait.value, transient: true })));
  const given = input.identifier ?? "";
  let view: EvaluationView;
  if (given === "") {
    view = await evaluate(served, { identifier: transientIdentifier(incoming), stored: null, plan: planTraits([], incoming, { persist: false }) });
  } else {
    const stored = await identityWithTraits(environmentId, given, false);
    view = await evaluate(served, { identifier: given, stored, plan: planTraits(stored?.traits ?? [], incoming, { persist: false }) });
  }
  log.debug("evaluation.tested", { environment__id: environmentId, traits__count: input.traits.length });
  return view;
}
