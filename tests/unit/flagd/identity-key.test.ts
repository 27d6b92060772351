import { describe, expect, it } from "vitest";
import { translateEnvironment } from "@/server/flagd/translator";
import { cond, environment, featureState, rule, segment } from "./fixtures";
import { loadStrict, schemaErrors } from "./helpers";

function translate(composite: boolean) {
  const doc = environment({
    features: [featureState("keyed", { value: "default" })],
    segments: [segment(7, "by key", rule("ALL", [cond("$.identity.key", "EQUAL", "env_key_user-1")]), [featureState("keyed", { value: "matched", priority: 0 })])],
  });
  doc.use_identity_composite_key_for_hashing = composite;
  return translateEnvironment(doc, { flagSetId: "p/e" });
}

describe("$.identity.key in flagd", () => {
  it("identityKeyCondition__compositeKeyHashing__exactAsApiKeyPlusTargetingKey", () => {
    // Given an environment hashing identities by "<api key>_<identifier>"
    // When a segment on $.identity.key is translated
    const { document, diagnostics } = translate(true);

    // Then flagd evaluates it exactly, from the targeting key
    expect(diagnostics.features.find((f) => f.name === "keyed")?.fidelity).toBe("exact");
    const core = loadStrict(document);
    expect(core.resolveStringEvaluation("keyed", "none", { targetingKey: "user-1" }).value).toBe("matched");
    expect(core.resolveStringEvaluation("keyed", "none", { targetingKey: "user-2" }).value).toBe("default");
  });

  it("identityKeyCondition__compositeKeyHashingOff__reportedLossyNotClaimedExact", () => {
    // Given an environment whose identity key is the identity's internal id
    // When the same segment is translated
    const { document, diagnostics } = translate(false);

    // Then it is not claimed exact, the reason is reported, and the document stays valid
    const keyed = diagnostics.features.find((f) => f.name === "keyed");
    expect(keyed?.fidelity).toBe("lossy");
    expect(JSON.stringify(keyed)).toContain("internal id");
    expect(schemaErrors(document)).toEqual([]);
  });
});
