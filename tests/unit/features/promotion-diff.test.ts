import { describe, expect, it } from "vitest";
import { diffFeature, stateSignature, type FeatureInEnvironment } from "../../../src/server/features/promotion-diff";

const names = new Map([
  [1, '"green"'],
  [2, '"red"'],
]);

function feature(partial: Partial<FeatureInEnvironment["defaults"]> = {}, overrides: FeatureInEnvironment["overrides"] = []): FeatureInEnvironment {
  return { defaults: { enabled: false, value: "v", allocations: [], ...partial }, overrides };
}

const override = (segmentId: number, segmentName: string, partial: Partial<FeatureInEnvironment["defaults"]> = {}) => ({
  segmentId,
  segmentName,
  enabled: true,
  value: "s" as string | number | boolean | null,
  allocations: [],
  ...partial,
});

describe("diffFeature", () => {
  it("diffFeature__sameStateDifferentZeroRowsAndIds__identicalWithEqualSignatures", () => {
    // Given two states that differ only in a 0 % allocation row
    const target = feature({ allocations: [{ optionId: 1, percentageAllocation: 30 }, { optionId: 2, percentageAllocation: 0 }] });
    const source = feature({ allocations: [{ optionId: 1, percentageAllocation: 30 }] });

    // When they are compared
    const diff = diffFeature(target, source, names);

    // Then nothing differs, and their signatures are equal
    expect(diff.identical).toBe(true);
    expect(stateSignature(target)).toBe(stateSignature(source));
  });

  it("diffFeature__enabledValueAndWeights__fromTargetToSource", () => {
    // Given a target off with "a" at green 30 %, and a source on with "b" at green 50 %, red 10 %
    const target = feature({ enabled: false, value: "a", allocations: [{ optionId: 1, percentageAllocation: 30 }] });
    const source = feature({ enabled: true, value: "b", allocations: [{ optionId: 1, percentageAllocation: 50 }, { optionId: 2, percentageAllocation: 10 }] });

    // When they are compared
    const diff = diffFeature(target, source, names);

    // Then every change reads from the target's now to the source's
    expect(diff.defaults).toEqual({
      enabled: { from: false, to: true },
      value: { from: "a", to: "b" },
      weights: [
        { option: '"green"', from: 30, to: 50 },
        { option: '"red"', from: 0, to: 10 },
      ],
    });
    expect(stateSignature(target)).not.toBe(stateSignature(source));
  });

  it("diffFeature__sameSharesInAnotherBucketOrder__weightOrderChange", () => {
    // Given the same shares listed in another order (who gets which variant changes)
    const target = feature({ allocations: [{ optionId: 1, percentageAllocation: 20 }, { optionId: 2, percentageAllocation: 20 }] });
    const source = feature({ allocations: [{ optionId: 2, percentageAllocation: 20 }, { optionId: 1, percentageAllocation: 20 }] });

    // When they are compared
    const diff = diffFeature(target, source, names);

    // Then the order is the difference
    expect(diff.defaults).toEqual({ weightOrder: true });
    expect(diff.identical).toBe(false);
  });

  it("diffFeature__overridesAddedRemovedChangedAndReordered__eachListedOnce", () => {
    // Given overrides a, b, c in the target and c, a (changed), d in the source
    const target = feature({}, [override(1, "a"), override(2, "b"), override(3, "c")]);
    const source = feature({}, [override(3, "c"), override(1, "a", { value: "changed" }), override(4, "d", { enabled: false, allocations: [{ optionId: 2, percentageAllocation: 40 }] })]);

    // When they are compared
    const diff = diffFeature(target, source, names);

    // Then a changed, d added (as copied), b removed, and the order of a and c changed
    expect(diff.overrides).toEqual([
      { segmentId: 1, segment: "a", kind: "changed", changes: { value: { from: "s", to: "changed" } }, copied: null },
      { segmentId: 4, segment: "d", kind: "added", changes: {}, copied: { enabled: false, value: "s", weights: [{ option: '"red"', percentage: 40 }] } },
      { segmentId: 2, segment: "b", kind: "removed", changes: {}, copied: null },
    ]);
    expect(diff.reordered).toEqual({ from: ["a", "c"], to: ["c", "a"] });
  });

  it("diffFeature__onlyAnAddedOverrideInBetween__notReordered", () => {
    // Given a, c in the target and a, b, c in the source
    const target = feature({}, [override(1, "a"), override(3, "c")]);
    const source = feature({}, [override(1, "a"), override(2, "b"), override(3, "c")]);

    // When they are compared
    const diff = diffFeature(target, source, names);

    // Then b is added and the others keep their order
    expect(diff.overrides.map((o) => [o.segment, o.kind])).toEqual([["b", "added"]]);
    expect(diff.reordered).toBeNull();
  });
});
