import { LocalFileHandler } from "flagsmith-nodejs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GATE_NAMES, GATES } from "@/server/rollouts/gates";
import { describeDiff, diffFlags } from "@/server/rollouts/sync";
import { shippedFlags } from "../../support/flags-files";

describe("shipped flags file", () => {
  it("shippedFile__loadedByFlagsmithNodejs__definesEveryGateOnByDefault", () => {
    // Given the environment document shipped in the repository
    const file = path.resolve(__dirname, "../../../config/flagpost-flags.json");

    // When the official SDK loads it for offline evaluation
    const environment = new LocalFileHandler(file).getEnvironment();

    // Then it defines one feature per gate, each on (the gates' documented defaults)
    const features = new Map(environment.featureStates.map((state) => [state.feature.name, state.enabled]));
    for (const gate of GATE_NAMES) {
      expect(features.get(gate), gate).toBe(true);
      expect(GATES[gate].fallback).toBe(true);
    }
  });
});

describe("flags:sync diff", () => {
  it("diffFlags__featuresAndSegmentsChanged__listedWithMissingGates", () => {
    // Given the shipped document and a downloaded one that turns a gate off, drops one, adds a feature and a segment
    const before = shippedFlags();
    const after = shippedFlags();
    after.feature_states = after.feature_states.filter((state) => state.feature.name !== "flagd_grpc_sync");
    after.feature_states.find((state) => state.feature.name === "ofrep_api")!.enabled = false;
    after.feature_states.push({ ...after.feature_states[0], feature: { id: 99, name: "new_gate", type: "STANDARD" } });
    after.project.segments.push({ id: 7, name: "beta organisations", rules: [], feature_states: [] });

    // When they are compared
    const diff = diffFlags(before, after);

    // Then every change is named, and the gate without a feature is a warning
    expect(diff.added).toEqual(["new_gate"]);
    expect(diff.removed).toEqual(["flagd_grpc_sync"]);
    expect(diff.changed).toEqual(["ofrep_api: on null → off null"]);
    expect(diff.segmentsAdded).toEqual(["beta organisations"]);
    expect(diff.missingGates).toEqual(["flagd_grpc_sync"]);
    expect(describeDiff(diff)).toContain("warning: no feature for gate(s) flagd_grpc_sync (they fall back to their defaults)");
    expect(describeDiff(diffFlags(before, before))).toEqual(["no changes"]);
  });
});
