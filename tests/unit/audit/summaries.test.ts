/**
 * Wording of audit summaries built from pure helpers: singular/plural counts and feature-state
 * changes that name multivariate options (never their internal ids).
 */
import { describe, expect, it } from "vitest";
import { optionLabel } from "@/server/audit/summary";
import { describeAllocationChange, describeStateChange, nameOption, type StateSnapshot } from "@/server/features/states";
import { plural } from "@/server/text";

describe("plural", () => {
  it("plural__oneAndOthers__singularOnlyForExactlyOne", () => {
    // Given counts of 0, 1 and 2
    // When they are worded with regular and irregular nouns
    const words = [plural(0, "segment"), plural(1, "segment"), plural(2, "segment"), plural(1, "identity", "identities"), plural(3, "identity", "identities")];
    // Then only exactly one is singular
    expect(words).toEqual(["0 segments", "1 segment", "2 segments", "1 identity", "3 identities"]);
  });
});

describe("feature-state summaries", () => {
  const snapshot = (allocations: StateSnapshot["allocations"], enabled = true, value: StateSnapshot["value"] = "control"): StateSnapshot => ({ enabled, value, allocations });
  const names = new Map([
    [3, optionLabel({ value: "green", key: null })],
    [4, optionLabel({ value: "red", key: "red_variant" })],
  ]);

  it("describeStateChange__allocationsChanged__namesOptionsWithBeforeAndAfter", () => {
    // Given a split of green 30% / red 20% changed to green 40% / red 20%
    const before = snapshot([
      { optionId: 3, percentageAllocation: 30 },
      { optionId: 4, percentageAllocation: 20 },
    ]);
    const after = snapshot([
      { optionId: 3, percentageAllocation: 40 },
      { optionId: 4, percentageAllocation: 20 },
    ]);
    // When the change is described
    const summary = describeStateChange(before, after, names);
    // Then only green is mentioned, by value, with its old and new share (no "#3")
    expect(summary).toBe('allocations "green" 30% → 40%');
    expect(summary).not.toContain("#");
  });

  it("describeStateChange__toggleValueAndKeyedOption__allPartsInOrder", () => {
    // Given a state switched on, its value changed and a keyed option's share set from nothing
    const before = snapshot([], false, "a");
    const after = snapshot([{ optionId: 4, percentageAllocation: 10 }], true, "b");
    // When the change is described
    const summary = describeStateChange(before, after, names);
    // Then the option is named by its key, its missing share counted as 0%
    expect(summary).toBe('enabled, value "a" → "b", allocations "red_variant" 0% → 10%');
  });

  it("describeStateChange__sameSharesInAnotherOrder__noChange", () => {
    // Given the same allocations listed in another order
    const before = snapshot([
      { optionId: 3, percentageAllocation: 30 },
      { optionId: 4, percentageAllocation: 20 },
    ]);
    const after = snapshot([
      { optionId: 4, percentageAllocation: 20 },
      { optionId: 3, percentageAllocation: 30 },
    ]);
    // When the change is described
    // Then nothing changed
    expect(describeStateChange(before, after, names)).toBe("no change");
  });

  it("describeAllocationChange__unknownOption__saysRemovedVariationNotItsId", () => {
    // Given an allocation of an option that no longer exists (no name)
    // When it is described
    const text = describeAllocationChange([{ optionId: 99, percentageAllocation: 5 }], [], names);
    // Then it is named without its internal id
    expect(text).toBe("a removed variation 5% → 0%");
    expect(nameOption(names, 99)).toBe("a removed variation");
  });
});
