/**
 * The synthetic environment generator (shared with benchmarks): deterministic, and its reference size
 * (1,000 features / 200 segments / 1,000 identity overrides) translates to a valid, loadable document.
 * Speed is measured by benchmarks, not asserted here.
 */
import { describe, expect, it } from "vitest";
import { generateSyntheticEnvironment, generateSyntheticIdentities } from "@/server/flagd/synthetic";
import { translateEnvironment } from "@/server/flagd/translator";
import { loadStrict } from "./helpers";

describe("synthetic environments", () => {
  it("generator__sameSeed__identicalDocumentsAndContexts", () => {
    // Given the same options twice
    // When generating
    const a = generateSyntheticEnvironment({ features: 50, segments: 10, identityOverrides: 20, seed: 42 });
    const b = generateSyntheticEnvironment({ features: 50, segments: 10, identityOverrides: 20, seed: 42 });
    // Then the documents (and contexts) are identical, and a different seed differs
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(generateSyntheticIdentities(30, { seed: 1 }))).toBe(JSON.stringify(generateSyntheticIdentities(30, { seed: 1 })));
    expect(JSON.stringify(generateSyntheticEnvironment({ features: 50, segments: 10, identityOverrides: 20, seed: 43 }))).not.toBe(JSON.stringify(a));
  });

  it("translator__referenceSizeEnvironment__validLoadableDocumentWithEveryFeature", () => {
    // Given the reference size used by the performance budget
    const doc = generateSyntheticEnvironment({ features: 1000, segments: 200, identityOverrides: 1000 });
    // When translated
    const { document, diagnostics } = translateEnvironment(doc, { flagSetId: "synthetic/production" });
    // Then the document is schema-valid, loads strictly, and every feature has a verdict
    loadStrict(document);
    expect(diagnostics.features).toHaveLength(1000);
    expect(diagnostics.summary.exact + diagnostics.summary.approximate + diagnostics.summary.lossy).toBe(1000);
    expect(Object.keys(document.$evaluators ?? {}).length).toBeGreaterThan(0);
  }, 120_000); // schema validation of an ~800 KB document: not a speed assertion, generous for loaded CI machines

  it("translator__sameDocumentTwice__byteIdenticalOutput", () => {
    // Given one environment document
    const doc = generateSyntheticEnvironment({ features: 200, segments: 50, identityOverrides: 100, seed: 8 });
    // When translated twice
    const first = JSON.stringify(translateEnvironment(doc, { flagSetId: "s/p" }));
    const second = JSON.stringify(translateEnvironment(doc, { flagSetId: "s/p" }));
    // Then the output is deterministic (a content-derived ETag stays stable)
    expect(second).toBe(first);
  });
});
