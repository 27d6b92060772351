/**
 * The audit log's before/after as people read them: variations by name, segment-override priorities
 * from 1, override order by segment name — for rows written now, and for rows stored earlier with
 * internal ids (translated when read).
 */
import { describe, expect, it } from "vitest";
import { auditAllocations, auditPriorities, legacyAuditIds, readableAuditValue, type AuditNames } from "@/server/audit/readable";
import { auditState } from "@/server/features/states";

const names: AuditNames = {
  options: new Map([
    [3, '"green"'],
    [4, '"red_variant"'],
  ]),
  segments: new Map([
    [7, "beta"],
    [8, "vip"],
  ]),
};

describe("readable audit values, written", () => {
  it("auditState__multivariateState__allocationsByVariationNameNoIds", () => {
    // Given a state with a split over options 3 and 4
    const snapshot = { enabled: true, value: "control", allocations: [{ optionId: 3, percentageAllocation: 30 }, { optionId: 4, percentageAllocation: 20 }] };
    // When it is put in an audit row
    const stored = auditState(snapshot, names.options);
    // Then each share is under its variation's name, and no option id is left
    expect(stored).toEqual({ enabled: true, value: "control", allocations: { '"green"': 30, '"red_variant"': 20 } });
    expect(JSON.stringify(stored)).not.toContain("optionId");
  });

  it("auditState__standardFeature__noAllocationsListed", () => {
    // Given a state of a feature without variations
    // When it is put in an audit row
    // Then it has no (empty) allocations field
    expect(auditState({ enabled: false, value: 1, allocations: [] }, new Map())).toEqual({ enabled: false, value: 1 });
  });

  it("auditAllocations__sameNameTwiceOrUnknownOption__toldApart", () => {
    // Given two options named alike and one whose name is unknown (deleted)
    const same = new Map([
      [1, '"a"'],
      [2, '"a"'],
    ]);
    // When the split is named
    const named = auditAllocations(
      [
        { optionId: 1, percentageAllocation: 10 },
        { optionId: 2, percentageAllocation: 20 },
        { optionId: 9, percentageAllocation: 5 },
      ],
      same,
    );
    // Then none overwrites another, and the unknown one says what it is
    expect(named).toEqual({ '"a"': 10, '"a" (2)': 20, "a removed variation": 5 });
  });

  it("auditPriorities__order__segmentNamesStrongestFirst", () => {
    // Given an override order by segment id, one segment since deleted
    // When it is named
    // Then it lists the names in order
    expect(auditPriorities([8, 7, 99], names.segments)).toEqual(["vip", "beta", "a deleted segment"]);
  });
});

describe("readable audit values, rows stored with ids", () => {
  it("legacyAuditIds__oldStateAndReorderRows__optionAndSegmentIdsFound", () => {
    // Given an old state change (allocations by option id), an old scheduled change and an old reorder
    const values = [
      { enabled: true, allocations: [{ optionId: 3, percentageAllocation: 30 }] },
      { change: { allocations: [{ optionId: 4, percentageAllocation: 10 }] }, liveFrom: "2026-01-01T00:00:00.000Z" },
      { segmentIds: [8, 7] },
      null,
    ];
    // When the ids to name are collected
    const ids = legacyAuditIds(values);
    // Then every option and segment id is listed once
    expect(ids.optionIds.sort()).toEqual([3, 4]);
    expect(ids.segmentIds.sort()).toEqual([7, 8]);
  });

  it("readableAuditValue__oldStateChange__allocationsNamed", () => {
    // Given an old feature_state.updated "after" and an old scheduled change
    const after = { enabled: true, value: "a", allocations: [{ optionId: 3, percentageAllocation: 40 }, { optionId: 4, percentageAllocation: 20 }] };
    const scheduled = { change: { allocations: [{ optionId: 3, percentageAllocation: 50 }] }, liveFrom: "x" };
    // When they are read
    // Then the shares are under the variations' names
    expect(readableAuditValue("feature_state.updated", after, names)).toEqual({ enabled: true, value: "a", allocations: { '"green"': 40, '"red_variant"': 20 } });
    expect(readableAuditValue("scheduled_change.created", scheduled, names)).toEqual({ change: { allocations: { '"green"': 50 } }, liveFrom: "x" });
  });

  it("readableAuditValue__oldReorder__segmentNamesInOrder", () => {
    // Given an old reorder's before
    // When it is read
    // Then it is the order of segment names, not ids
    expect(readableAuditValue("segment_override.reordered", { segmentIds: [7, 8] }, names)).toEqual({ priorities: ["beta", "vip"] });
  });

  it("readableAuditValue__oldOverrideCreatedAndDeleted__priorityFromOneAndSegmentNamed", () => {
    // Given an old creation (0-based priority and segmentName) and an old deletion (0-based priority)
    const created = { enabled: true, value: "b", allocations: [], priority: 0, segmentName: "beta" };
    const deleted = { enabled: true, value: "b", allocations: [], priority: 2 };
    // When they are read
    // Then priorities count from 1, and the creation names its segment
    expect(readableAuditValue("segment_override.created", created, names)).toEqual({ segment: "beta", priority: 1, enabled: true, value: "b", allocations: [] });
    expect(readableAuditValue("segment_override.deleted", deleted, names)).toEqual({ priority: 3, enabled: true, value: "b", allocations: [] });
  });

  it("readableAuditValue__newRows__unchanged", () => {
    // Given rows written in the readable form (a new override creation, a new reorder, an unrelated change)
    const created = { segment: "beta", priority: 1, enabled: true, value: "b" };
    const reorder = { priorities: ["vip", "beta"] };
    const rename = { name: "x" };
    // When they are read
    // Then they come back as they are (a 1-based priority is not counted up again)
    expect(readableAuditValue("segment_override.created", created, names)).toEqual(created);
    expect(readableAuditValue("segment_override.reordered", reorder, names)).toEqual(reorder);
    expect(readableAuditValue("project.updated", rename, names)).toEqual(rename);
    expect(readableAuditValue("project.updated", null, names)).toBeNull();
  });
});
