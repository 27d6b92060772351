/**
 * OFREP answers under flagd's value mapping and variant names: for every flag and context, the value and variant
 * of an OFREP evaluation are those of the environment's flagd document (flagd-core evaluating it agrees for exact
 * flags), and the reasons follow docs/ofrep.md.
 */
import { describe, expect, it } from "vitest";
import { buildEnvironmentContext, environmentDefaults, getEvaluationResult, withIdentity, type TraitValue } from "@/server/engine";
import type { EnvironmentDocument } from "@/server/engine/document";
import { TRANSLATOR_VERSION, translateEnvironment } from "@/server/flagd/translator";
import { resolve, revisionPlanOf, type Resolution } from "@/server/ofrep/flags";
import type { ServedDocument } from "@/server/serving/document-cache";
import { cond, environment, featureState, identity, rule, segment } from "../flagd/fixtures";
import { loadStrict, observe } from "../flagd/helpers";

/** A served revision of `doc` as the document cache would hold it (flagd artefacts translated from it). */
function served(doc: EnvironmentDocument, revision = 9): ServedDocument {
  const { document, diagnostics } = translateEnvironment(doc, { flagSetId: "shop/production" });
  const derived = new Map<string, unknown>();
  const entry = {
    environmentId: doc.id,
    revision,
    text: JSON.stringify(doc),
    document: doc,
    sdkExtras: { environmentId: doc.id, updatedAtEpoch: 1, flagdEnabled: true, features: {} },
    updatedAt: new Date(1000),
    updatedAtEpoch: 1,
    flagd: { document: JSON.stringify(document), etag: '"x"', diagnostics, translatorVersion: TRANSLATOR_VERSION },
    derived<T>(key: string, compute: (self: ServedDocument) => T): T {
      if (!derived.has(key)) derived.set(key, compute(entry));
      return derived.get(key) as T;
    },
  } satisfies ServedDocument;
  return entry;
}

const pro = segment(7, "pro users", rule("ANY", [cond("plan", "EQUAL", "pro")]), [featureState("banner", { value: "pro banner", priority: 1 })]);
const blocked = segment(8, "blocked", rule("ANY", [cond("country", "EQUAL", "xx")]), [featureState("beta", { enabled: false, priority: 1 })]);

const DOC = environment({
  features: [
    featureState("banner", { value: "hello" }),
    featureState("beta", { enabled: true, value: null }),
    featureState("retired", { enabled: false, value: 3 }),
    featureState("limit", { value: 10 }),
    featureState("mixed", { value: "ten" }),
    featureState("checkout", { value: "v1", mv: [{ value: "v2", weight: 50 }, { value: "v3", weight: 50 }] }),
    featureState("empty", { enabled: true, value: "x" }),
  ],
  segments: [pro, blocked, segment(9, "big", rule("ANY", [cond("plan", "EQUAL", "big")]), [featureState("mixed", { value: 10, priority: 1 })])],
  identities: [identity("vip", [featureState("banner", { value: "vip banner" }), featureState("empty", { value: null })])],
});

const CONTEXTS: Array<{ identifier: string | null; traits: Record<string, TraitValue> }> = [
  { identifier: null, traits: {} },
  { identifier: "u1", traits: {} },
  { identifier: "u2", traits: { plan: "pro" } },
  { identifier: "u3", traits: { plan: "big", country: "xx" } },
  { identifier: "vip", traits: { plan: "pro" } },
  ...Array.from({ length: 20 }, (_, i) => ({ identifier: `user-${i}`, traits: { plan: i % 2 ? "pro" : "free" } as Record<string, TraitValue> })),
];

function ofrepOf(doc: EnvironmentDocument, context: (typeof CONTEXTS)[number]): Map<string, Resolution> {
  const entry = served(doc);
  const plan = revisionPlanOf(entry);
  const environmentContext = buildEnvironmentContext(doc, { includeIdentityOverrides: false });
  const overrides = doc.identity_overrides?.find((o) => o.identifier === context.identifier)?.identity_features;
  const result =
    context.identifier === null
      ? environmentDefaults(environmentContext)
      : getEvaluationResult(withIdentity(environmentContext, { identifier: context.identifier, traits: context.traits }, overrides));
  return new Map(Object.values(result.flags).map((flag) => [flag.name, resolve(plan.byName.get(flag.name)!, flag, context.identifier === null)]));
}

describe("OFREP resolution", () => {
  it("resolve__everyFlagAndContext__valueAndVariantAsTheFlagdDocument", () => {
    // Given an environment with segment and identity overrides, a split, switch, mixed-type and disabled flags
    const entry = served(DOC);
    const flagd = JSON.parse(entry.flagd!.document);
    const core = loadStrict(flagd);
    const diagnostics = entry.flagd!.diagnostics as { features: Array<{ name: string; fidelity: string }> };
    const fidelity = new Map(diagnostics.features.map((f) => [f.name, f.fidelity]));

    // When every flag is resolved for every context, by OFREP and by flagd-core
    const differences: string[] = [];
    for (const context of CONTEXTS) {
      for (const [name, resolution] of ofrepOf(DOC, context)) {
        const flag = flagd.flags[name];
        // A value always carries the flagd variant holding that value.
        if (resolution.value !== undefined && flag.variants[resolution.variant!] !== resolution.value) differences.push(`${name}: variant ${resolution.variant} does not hold ${resolution.value}`);
        if (fidelity.get(name) !== "exact") continue;
        const observed = observe(core, flagd, name, context.identifier === null ? context.traits : { targetingKey: context.identifier, ...context.traits });
        const expected = resolution.value === undefined ? "none" : JSON.stringify(resolution.value);
        const actual = observed.kind === "value" ? JSON.stringify(observed.value) : observed.kind;
        if (expected !== actual) differences.push(`${name} ${JSON.stringify(context)}: OFREP ${expected}, flagd ${actual}`);
      }
    }

    // Then they agree everywhere
    expect(differences).toEqual([]);
  });

  it("resolve__reasons__staticTargetingSplitDefaultDisabled", () => {
    // Given the environment above
    // When contexts exercising each case are resolved
    const anonymous = ofrepOf(DOC, CONTEXTS[0]);
    const plain = ofrepOf(DOC, CONTEXTS[1]);
    const proUser = ofrepOf(DOC, CONTEXTS[2]);
    const blockedBig = ofrepOf(DOC, CONTEXTS[3]);
    const vip = ofrepOf(DOC, CONTEXTS[4]);

    // Then: one outcome for everyone is STATIC; a segment or identity override TARGETING_MATCH; a split SPLIT;
    // the default of a targeted flag DEFAULT; disabled for everyone DISABLED (no value); disabled or null for this
    // context DEFAULT without a value; identity-less DEFAULT (the environment's flags)
    expect(plain.get("limit")).toEqual({ key: "limit", value: 10, reason: "STATIC", variant: "control" });
    expect(proUser.get("banner")).toEqual({ key: "banner", value: "pro banner", reason: "TARGETING_MATCH", variant: "override_pro-users" });
    expect(vip.get("banner")).toEqual({ key: "banner", value: "vip banner", reason: "TARGETING_MATCH", variant: "override_vip" });
    expect(plain.get("banner")).toEqual({ key: "banner", value: "hello", reason: "DEFAULT", variant: "control" });
    expect(plain.get("checkout")?.reason).toMatch(/^(SPLIT|DEFAULT)$/);
    expect([...CONTEXTS.slice(5)].map((c) => ofrepOf(DOC, c).get("checkout")!.reason)).toContain("SPLIT");
    expect(plain.get("retired")).toEqual({ key: "retired", reason: "DISABLED" });
    expect(blockedBig.get("beta")).toEqual({ key: "beta", reason: "DEFAULT" });
    expect(plain.get("beta")).toEqual({ key: "beta", value: true, reason: "DEFAULT", variant: "control" });
    expect(vip.get("empty")).toEqual({ key: "empty", reason: "DEFAULT" });
    expect(blockedBig.get("mixed")).toEqual({ key: "mixed", value: "10", reason: "TARGETING_MATCH", variant: "override_big" });
    expect(anonymous.get("banner")).toEqual({ key: "banner", value: "hello", reason: "DEFAULT", variant: "control" });
    expect(anonymous.get("checkout")).toEqual({ key: "checkout", value: "v1", reason: "DEFAULT", variant: "control" });
  });

  it("revisionPlanOf__servedRevision__flagSetIdAndRevisionAsVersion", () => {
    // Given revision 9 of the environment
    // When its plan is built
    const plan = revisionPlanOf(served(DOC, 9));

    // Then it names the flag set as flagd does and the revision as the version
    expect(plan.flagSetId).toBe("shop/production");
    expect(plan.version).toBe("9");
    expect(plan.byName.get("beta")?.mapping).toBe("switch");
    expect(plan.byName.get("mixed")?.mapping).toBe("stringified");
  });
});
