import { and, asc, eq, isNotNull } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { auditLog, environments, featureStates, multivariateStateValues } from "../../../src/server/db/schema";
import { buildEnvironmentDocument } from "../../../src/server/documents/build";
import { environmentDocumentToContext, getEvaluationResult, type TraitValue } from "../../../src/server/engine";
import { captureLogs, expectTrpcError, projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { commitOnceBlocked, failAuditOf, openTransaction } from "./helpers";

const RULES = [{ type: "ALL", conditions: [{ operator: "IS_SET", property: "email" }], rules: [] }];

type Revisions = Map<number, number>;

async function revisions(projectId: number): Promise<Revisions> {
  const rows = await getDb().select().from(environments).where(eq(environments.projectId, projectId)).orderBy(asc(environments.id));
  return new Map(rows.map((r) => [r.id, r.revision]));
}

async function auditActions(organisationId: number): Promise<string[]> {
  return (await getDb().select().from(auditLog).where(eq(auditLog.organisationId, organisationId)).orderBy(asc(auditLog.id))).map((r) => r.action);
}

async function overrideRows(featureId: number) {
  return getDb().select().from(featureStates).where(and(eq(featureStates.featureId, featureId), isNotNull(featureStates.segmentId))).orderBy(asc(featureStates.id));
}

/** A project (Development, Production), a standard feature and segments named `names`. */
async function setup(user: TestUser, names: string[] = ["Beta", "Staff"]) {
  const { project, environments: [dev, prod] } = await projectWithEnvironments(user, ["Development", "Production"]);
  const feature = await user.caller.features.create({ projectId: project.id, name: `banner_${names.length}`, initialValue: "off" });
  const segments = [];
  for (const name of names) segments.push(await user.caller.segments.create({ projectId: project.id, name, rules: RULES }));
  return { project, dev, prod, feature, segments };
}

/** A multivariate feature with options a (30 %) and b (20 %). */
async function multivariate(user: TestUser, projectId: number) {
  const feature = await user.caller.features.create({
    projectId,
    name: "colour",
    initialValue: "control",
    options: [
      { value: "red", key: "red", defaultPercentageAllocation: 30 },
      { value: "blue", key: "blue", defaultPercentageAllocation: 20 },
    ],
  });
  const { options } = await user.caller.features.get({ featureId: feature.id });
  return { feature, options };
}

describe("segment overrides", () => {
  it("createOverride__twoSegments__appendedLastAuditedAndOnlyThatEnvironmentBumped", async () => {
    // Given a feature and two segments
    const user = await signUpUser();
    const { project, dev, prod, feature, segments: [beta, staff] } = await setup(user);
    const before = await revisions(project.id);

    // When overrides for Beta then Staff are added in Production
    const first = await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: true, value: "beta" });
    const afterFirst = await revisions(project.id);
    await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: staff.id, enabled: false, value: 7 });
    const listed = await user.caller.segmentOverrides.list({ featureId: feature.id, environmentId: prod.id });

    // Then the newer one comes last, each creation bumped Production only, and both were audited with their ids
    expect(first).toMatchObject({ segmentId: beta.id, segmentName: "Beta", priority: 0, enabled: true, value: "beta", allocations: [] });
    expect(listed.map((o) => [o.segmentName, o.priority, o.enabled, o.value])).toEqual([
      ["Beta", 0, true, "beta"],
      ["Staff", 1, false, 7],
    ]);
    expect(afterFirst.get(prod.id)).toBe(before.get(prod.id)! + 1);
    expect(afterFirst.get(dev.id)).toBe(before.get(dev.id));
    expect(await user.caller.segmentOverrides.list({ featureId: feature.id, environmentId: dev.id })).toEqual([]);
    const rows = await getDb().select().from(auditLog).where(and(eq(auditLog.action, "segment_override.created"), eq(auditLog.organisationId, user.organisationId))).orderBy(asc(auditLog.id));
    expect(rows.map((r) => [r.featureId, r.segmentId, r.environmentId, r.projectId])).toEqual([
      [feature.id, beta.id, prod.id, project.id],
      [feature.id, staff.id, prod.id, project.id],
    ]);
  });

  it("createOverride__afterAGapInPriorities__summaryGivesItsPositionCountedFromOne", async () => {
    // Given overrides for A, B and C of which A (the first) was removed: priorities 1 and 2 remain
    const user = await signUpUser();
    const { prod, feature, segments: [a, b, c] } = await setup(user, ["A", "B", "C"]);
    for (const segment of [a, b, c]) await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: segment.id, enabled: true, value: segment.name });
    await user.caller.segmentOverrides.delete({ featureStateId: (await user.caller.segmentOverrides.list({ featureId: feature.id, environmentId: prod.id }))[0].id });

    // When A is added again (last)
    await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: a.id, enabled: false, value: null });

    // Then the summaries give each override's place in the list as the UI shows it (1, 2, 3, then 3 again for A)
    const rows = await getDb().select().from(auditLog).where(and(eq(auditLog.action, "segment_override.created"), eq(auditLog.organisationId, user.organisationId))).orderBy(asc(auditLog.id));
    expect(rows.map((r) => r.summary.match(/priority (\d+)\)$/)?.[1])).toEqual(["1", "2", "3", "3"]);
    // …and so do their audit "after"s, with the segment by name (not the stored priority 0..3)
    expect(rows.map((r) => r.after)).toEqual([
      { segment: "A", priority: 1, enabled: true, value: "A" },
      { segment: "B", priority: 2, enabled: true, value: "B" },
      { segment: "C", priority: 3, enabled: true, value: "C" },
      { segment: "A", priority: 3, enabled: false, value: null },
    ]);
    expect(rows.at(-1)?.summary).toBe(`Feature "${feature.name}" in "Production": override for segment "A" added (disabled, value none, priority 3)`);
    // …and the segment pages give the same places, 1 to 3 (not the stored priority + 1: 2 to 4)
    const places = await Promise.all([b, c, a].map(async (segment) => (await user.caller.segments.get({ segmentId: segment.id })).overrides.map((o) => [o.priority, o.position])));
    expect(places).toEqual([[[1, 1]], [[2, 2]], [[3, 3]]]);
  });

  it("createOverride__sameSegmentTwice__conflictAndNothingWritten", async () => {
    // Given an override for Beta
    const user = await signUpUser();
    const { project, prod, feature, segments: [beta] } = await setup(user);
    await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: true, value: "x" });
    const audit = await auditActions(user.organisationId);
    const before = await revisions(project.id);

    // When a second override for Beta is added
    const call = user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: false, value: "y" });

    // Then it is a conflict on segmentId and nothing changed
    const error = await expectTrpcError(call, "CONFLICT");
    expect(error.message).toBe("This segment already overrides this feature in this environment");
    expect(await overrideRows(feature.id)).toHaveLength(1);
    expect(await auditActions(user.organisationId)).toEqual(audit);
    expect(await revisions(project.id)).toEqual(before);
  });

  it("createOverride__segmentDeletedConcurrently__waitsThenNotFoundNothingWritten", async () => {
    // Given a segment, and another connection deleting it in an open transaction
    const user = await signUpUser();
    const { project, prod, feature, segments: [beta] } = await setup(user, ["Beta"]);
    const audit = await auditActions(user.organisationId);
    const before = await revisions(project.id);
    const other = await openTransaction();
    await other.query("delete from segments where id = $1", [beta.id]);

    // When an override for it is created meanwhile, and the deletion commits once the creation waits for it
    const creating = commitOnceBlocked(other, user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: true, value: "x" }));

    // Then the creation is a plain NOT_FOUND (not a foreign-key failure), and nothing was written, audited or bumped
    const error = await expectTrpcError(creating, "NOT_FOUND");
    expect(error.message).toBe("Segment not found");
    expect(await overrideRows(feature.id)).toEqual([]);
    expect(await auditActions(user.organisationId)).toEqual(audit);
    expect(await revisions(project.id)).toEqual(before);
  });

  it("createOverride__featureSpecificSegments__ownFeatureAllowedOtherFeatureRefused", async () => {
    // Given two features and a segment specific to each
    const user = await signUpUser();
    const { project, prod, feature } = await setup(user, []);
    const other = await user.caller.features.create({ projectId: project.id, name: "other" });
    const mine = await user.caller.segments.create({ projectId: project.id, featureId: feature.id, name: "Mine", rules: RULES });
    const theirs = await user.caller.segments.create({ projectId: project.id, featureId: other.id, name: "Theirs", rules: RULES });

    // When each is used to override the first feature
    const allowed = await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: mine.id, enabled: true, value: null });
    const refused = user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: theirs.id, enabled: true, value: null });

    // Then the feature's own segment works and the other feature's is bad input on segmentId
    expect(allowed.segmentFeatureId).toBe(feature.id);
    const error = await expectTrpcError(refused, "BAD_REQUEST");
    expect(error.message).toBe("This segment is specific to another feature");
    expect(await overrideRows(feature.id)).toHaveLength(1);
  });

  it("createOverride__multivariateWithoutAllocations__copiesEnvironmentDefault", async () => {
    // Given a multivariate feature whose Production default is red 30 / blue 20
    const user = await signUpUser();
    const { prod, project, segments: [beta] } = await setup(user, ["Beta"]);
    const { feature, options } = await multivariate(user, project.id);

    // When an override is added without allocations
    const created = await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: true, value: "control" });

    // Then it has its own copy of the default's allocations, in option order
    expect(created.allocations).toEqual([
      { optionId: options[0].id, percentageAllocation: 30 },
      { optionId: options[1].id, percentageAllocation: 20 },
    ]);
    const rows = await getDb().select().from(multivariateStateValues).where(eq(multivariateStateValues.featureStateId, created.id));
    expect(rows).toHaveLength(2);
  });

  it("createOverride__multivariateWithAllocations__ownAllocationsUnlistedZero", async () => {
    // Given a multivariate feature
    const user = await signUpUser();
    const { prod, project, segments: [beta] } = await setup(user, ["Beta"]);
    const { feature, options } = await multivariate(user, project.id);

    // When an override is added with blue at 100 %
    const created = await user.caller.segmentOverrides.create({
      featureId: feature.id,
      environmentId: prod.id,
      segmentId: beta.id,
      enabled: true,
      value: "control",
      allocations: [{ optionId: options[1].id, percentageAllocation: 100 }],
    });

    // Then red gets 0 and blue 100 on the override, and the default keeps its own
    expect(created.allocations).toEqual([
      { optionId: options[0].id, percentageAllocation: 0 },
      { optionId: options[1].id, percentageAllocation: 100 },
    ]);
    const [defaultState] = (await user.caller.features.states({ featureId: feature.id })).filter((s) => s.environmentId === prod.id);
    expect(defaultState.allocations.map((a) => a.percentageAllocation)).toEqual([30, 20]);
  });

  it("createOverride__allocationsOver100OrForeignOption__badRequestNothingWrittenNoAudit", async () => {
    // Given a multivariate feature, a standard feature and another multivariate feature's option
    const user = await signUpUser();
    const { prod, project, feature: standard, segments: [beta] } = await setup(user, ["Beta"]);
    const { feature, options } = await multivariate(user, project.id);
    const foreign = await user.caller.features.create({ projectId: project.id, name: "other_mv", options: [{ value: "x", defaultPercentageAllocation: 10 }] });
    const [foreignOption] = (await user.caller.features.get({ featureId: foreign.id })).options;
    const audit = await auditActions(user.organisationId);
    const before = await revisions(project.id);
    const create = (featureId: number, allocations: { optionId: number; percentageAllocation: number }[]) =>
      user.caller.segmentOverrides.create({ featureId, environmentId: prod.id, segmentId: beta.id, enabled: true, value: "v", allocations });

    // When overrides are created with a total over 100 (checked after the state row is inserted), one over 100,
    // a foreign option, a repeated option, and allocations on a standard feature
    const total = await expectTrpcError(
      create(feature.id, [
        { optionId: options[0].id, percentageAllocation: 60 },
        { optionId: options[1].id, percentageAllocation: 50 },
      ]),
      "BAD_REQUEST",
    );
    await expectTrpcError(create(feature.id, [{ optionId: options[0].id, percentageAllocation: 101 }]), "BAD_REQUEST");
    const foreignError = await expectTrpcError(create(feature.id, [{ optionId: foreignOption.id, percentageAllocation: 10 }]), "BAD_REQUEST");
    await expectTrpcError(
      create(feature.id, [
        { optionId: options[0].id, percentageAllocation: 10 },
        { optionId: options[0].id, percentageAllocation: 10 },
      ]),
      "BAD_REQUEST",
    );
    const standardError = await expectTrpcError(create(standard.id, [{ optionId: options[0].id, percentageAllocation: 10 }]), "BAD_REQUEST");

    // Then each is bad input, and no override, allocation, audit row or document bump was left behind
    expect(total.message).toBe("Allocations add up to 110%, more than 100%");
    expect(foreignError.message).toBe("Unknown multivariate option for this feature");
    expect(standardError.message).toBe("Only multivariate features have allocations");
    expect(await overrideRows(feature.id)).toEqual([]);
    expect(await overrideRows(standard.id)).toEqual([]);
    expect(await auditActions(user.organisationId)).toEqual(audit);
    expect(await revisions(project.id)).toEqual(before);
  });

  it("createOverride__valueOfWrongType__badRequestOnValue", async () => {
    // Given a feature and a segment
    const user = await signUpUser();
    const { prod, feature, segments: [beta] } = await setup(user, ["Beta"]);
    const audit = await auditActions(user.organisationId);

    // When overrides with a float and an object value are created
    const float = user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: true, value: 1.5 });
    const object = user.caller.segmentOverrides.create({
      featureId: feature.id,
      environmentId: prod.id,
      segmentId: beta.id,
      enabled: true,
      value: { a: 1 } as unknown as string,
    });

    // Then both are refused and nothing was written
    // (awaited together: a rejection nobody awaits yet would be reported as unhandled)
    await Promise.all([expectTrpcError(float, "BAD_REQUEST"), expectTrpcError(object, "BAD_REQUEST")]);
    expect(await overrideRows(feature.id)).toEqual([]);
    expect(await auditActions(user.organisationId)).toEqual(audit);
  });

  it("updateOverride__toggleValueAndAllocations__appliedAuditedAndBumped", async () => {
    // Given an override of a multivariate feature
    const user = await signUpUser();
    const { prod, project, segments: [beta] } = await setup(user, ["Beta"]);
    const { feature, options } = await multivariate(user, project.id);
    const override = await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: false, value: "a" });
    const before = await revisions(project.id);

    // When it is enabled, its value changed and red raised to 50
    const updated = await user.caller.segmentOverrides.update({
      featureStateId: override.id,
      enabled: true,
      value: "b",
      allocations: [{ optionId: options[0].id, percentageAllocation: 50 }],
    });

    // Then the change is applied, Production bumped and the audit row carries before/after
    expect(updated).toMatchObject({ id: override.id, enabled: true, value: "b" });
    expect(updated.allocations.map((a) => a.percentageAllocation)).toEqual([50, 20]);
    expect((await revisions(project.id)).get(prod.id)).toBe(before.get(prod.id)! + 1);
    const [row] = await getDb().select().from(auditLog).where(and(eq(auditLog.action, "segment_override.updated"), eq(auditLog.organisationId, user.organisationId)));
    expect(row).toMatchObject({ featureId: feature.id, segmentId: beta.id, environmentId: prod.id, projectId: project.id, resourceId: String(override.id) });
    // (its split by variation name, never by internal option id)
    expect(row.before).toEqual({ enabled: false, value: "a", allocations: { '"red"': 30, '"blue"': 20 } });
    expect(row.after).toEqual({ enabled: true, value: "b", allocations: { '"red"': 50, '"blue"': 20 } });
    // …and a summary naming the option by its key, with its old and new share (not its internal id)
    expect(row.summary).toBe('Feature "colour" in "Production", segment "Beta": enabled, value "a" → "b", allocations "red" 30% → 50%');
  });

  it("auditList__rowsStoredWithInternalIds__readWithNamesAndPrioritiesFromOne", async () => {
    // Given rows written before the audit log stored names: a split by option id, a reorder by
    // segment id and an override creation with its 0-based stored priority
    const user = await signUpUser();
    const { prod, project, segments: [beta, staff] } = await setup(user, ["Beta", "Staff"]);
    const { feature, options } = await multivariate(user, project.id);
    const scope = { organisationId: user.organisationId, projectId: project.id, environmentId: prod.id, featureId: feature.id, actorLabel: "old", summary: "old row" };
    await getDb()
      .insert(auditLog)
      .values([
        {
          ...scope,
          action: "feature_state.updated",
          resourceType: "feature_state",
          before: { enabled: true, value: "control", allocations: [{ optionId: options[0].id, percentageAllocation: 30 }, { optionId: options[1].id, percentageAllocation: 20 }] },
          after: { enabled: true, value: "control", allocations: [{ optionId: options[0].id, percentageAllocation: 40 }, { optionId: options[1].id, percentageAllocation: 20 }] },
        },
        { ...scope, action: "segment_override.reordered", resourceType: "segment_override", before: { segmentIds: [beta.id, staff.id] }, after: { segmentIds: [staff.id, beta.id] } },
        { ...scope, action: "segment_override.created", resourceType: "segment_override", after: { enabled: true, value: "x", allocations: [], priority: 0, segmentName: "Beta" } },
      ]);

    // When the log is read
    const { items } = await user.caller.audit.list({ projectId: project.id, featureId: feature.id, limit: 10 });

    // Then their before/after name the variations and segments, priorities count from 1, and no id is left
    const read = (action: string) => items.find((item) => item.action === action && item.actorLabel === "old")!;
    expect(read("feature_state.updated")).toMatchObject({ before: { allocations: { '"red"': 30, '"blue"': 20 } }, after: { allocations: { '"red"': 40, '"blue"': 20 } } });
    expect(read("segment_override.reordered")).toMatchObject({ before: { priorities: ["Beta", "Staff"] }, after: { priorities: ["Staff", "Beta"] } });
    expect(read("segment_override.created").after).toEqual({ segment: "Beta", priority: 1, enabled: true, value: "x", allocations: [] });
    expect(JSON.stringify(items.map((item) => [item.before, item.after]))).not.toMatch(/optionId|segmentIds/);
  });

  it("updateOverride__allocationsOver100OrDefaultState__refusedAndUnchanged", async () => {
    // Given an override of a multivariate feature (red 30, blue 20)
    const user = await signUpUser();
    const { prod, project, segments: [beta] } = await setup(user, ["Beta"]);
    const { feature, options } = await multivariate(user, project.id);
    const override = await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: false, value: "a" });
    const [defaultState] = (await user.caller.features.states({ featureId: feature.id })).filter((s) => s.environmentId === prod.id);
    const audit = await auditActions(user.organisationId);

    // When red is raised to 90 (total 110) together with a toggle, and the default state is addressed as an override
    const over = await expectTrpcError(
      user.caller.segmentOverrides.update({ featureStateId: override.id, enabled: true, allocations: [{ optionId: options[0].id, percentageAllocation: 90 }] }),
      "BAD_REQUEST",
    );
    await expectTrpcError(user.caller.segmentOverrides.update({ featureStateId: defaultState.id, enabled: true }), "NOT_FOUND");
    await expectTrpcError(user.caller.segmentOverrides.delete({ featureStateId: defaultState.id }), "NOT_FOUND");

    // Then nothing changed
    expect(over.message).toContain("more than 100%");
    const [listed] = await user.caller.segmentOverrides.list({ featureId: feature.id, environmentId: prod.id });
    expect(listed).toMatchObject({ enabled: false, value: "a" });
    expect(listed.allocations.map((a) => a.percentageAllocation)).toEqual([30, 20]);
    expect(await auditActions(user.organisationId)).toEqual(audit);
  });

  it("reorderOverrides__exactSet__prioritiesRewrittenInGivenOrder", async () => {
    // Given overrides for A, B and C (in that order)
    const user = await signUpUser();
    const { project, prod, feature, segments: [a, b, c] } = await setup(user, ["A", "B", "C"]);
    for (const segment of [a, b, c]) await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: segment.id, enabled: true, value: segment.name });
    await user.caller.segmentOverrides.delete({ featureStateId: (await user.caller.segmentOverrides.list({ featureId: feature.id, environmentId: prod.id }))[0].id });
    await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: a.id, enabled: true, value: "A" });
    const before = await revisions(project.id);

    // When they are reordered C, A, B
    const reordered = await user.caller.segmentOverrides.reorder({ featureId: feature.id, environmentId: prod.id, segmentIds: [c.id, a.id, b.id] });

    // Then the priorities are 0..2 in that order, Production was bumped and the order change audited
    expect(reordered.map((o) => [o.segmentName, o.priority])).toEqual([
      ["C", 0],
      ["A", 1],
      ["B", 2],
    ]);
    expect((await revisions(project.id)).get(prod.id)).toBe(before.get(prod.id)! + 1);
    const [row] = await getDb().select().from(auditLog).where(and(eq(auditLog.action, "segment_override.reordered"), eq(auditLog.organisationId, user.organisationId)));
    expect(row).toMatchObject({ featureId: feature.id, environmentId: prod.id, projectId: project.id });
    expect(row.before).toEqual({ priorities: ["B", "C", "A"] });
    expect(row.after).toEqual({ priorities: ["C", "A", "B"] });
    expect(row.summary).toContain('"C" > "A" > "B"');
  });

  it("reorderOverrides__notTheExactSet__badRequestOnSegmentIdsAndUnchanged", async () => {
    // Given overrides for A and B, and a segment C without an override
    const user = await signUpUser();
    const { prod, feature, segments: [a, b, c] } = await setup(user, ["A", "B", "C"]);
    for (const segment of [a, b]) await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: segment.id, enabled: true, value: null });
    const audit = await auditActions(user.organisationId);

    // When reordering with a missing, an extra, a duplicated and an unknown segment
    const attempts = [[b.id], [b.id, a.id, c.id], [b.id, b.id], [b.id, c.id]];
    const errors = [];
    for (const segmentIds of attempts) errors.push(await expectTrpcError(user.caller.segmentOverrides.reorder({ featureId: feature.id, environmentId: prod.id, segmentIds }), "BAD_REQUEST"));

    // Then each is refused and the order is unchanged
    expect(errors.every((e) => e.message === "List every segment override of this feature in this environment exactly once")).toBe(true);
    expect((await user.caller.segmentOverrides.list({ featureId: feature.id, environmentId: prod.id })).map((o) => o.segmentName)).toEqual(["A", "B"]);
    expect(await auditActions(user.organisationId)).toEqual(audit);
  });

  it("overrideIds__nestedIdsBeyondSerialRange__badRequestNotInternalError", async () => {
    // Given a multivariate feature with an override for Beta
    const user = await signUpUser();
    const { prod, project, segments: [beta, staff] } = await setup(user);
    const { feature } = await multivariate(user, project.id);
    const override = await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: true, value: "control" });
    const huge = 2 ** 31;

    // When allocations and a reorder name ids no int4 row can have
    const calls = [
      () =>
        user.caller.segmentOverrides.create({
          featureId: feature.id,
          environmentId: prod.id,
          segmentId: staff.id,
          enabled: true,
          value: "v",
          allocations: [{ optionId: huge, percentageAllocation: 5 }],
        }),
      () => user.caller.segmentOverrides.update({ featureStateId: override.id, allocations: [{ optionId: huge, percentageAllocation: 5 }] }),
      () => user.caller.segmentOverrides.reorder({ featureId: feature.id, environmentId: prod.id, segmentIds: [huge] }),
    ];

    // Then each is bad input (not a database error), and nothing changed
    for (const call of calls) await expectTrpcError(call(), "BAD_REQUEST");
    expect((await user.caller.segmentOverrides.list({ featureId: feature.id, environmentId: prod.id })).map((o) => o.segmentName)).toEqual(["Beta"]);
  });

  it("reorderOverrides__auditFailsAfterPriorityWrites__orderUnchanged", async () => {
    // Given overrides for A and B, and an audit log that refuses reorders
    const user = await signUpUser();
    const { project, prod, feature, segments: [a, b] } = await setup(user, ["A", "B"]);
    for (const segment of [a, b]) await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: segment.id, enabled: true, value: null });
    const before = await revisions(project.id);

    // When they are swapped
    const call = failAuditOf("segment_override.reordered", () => user.caller.segmentOverrides.reorder({ featureId: feature.id, environmentId: prod.id, segmentIds: [b.id, a.id] }));

    // Then the priority writes rolled back with the failed audit row
    await expectTrpcError(call, "INTERNAL_SERVER_ERROR");
    expect((await user.caller.segmentOverrides.list({ featureId: feature.id, environmentId: prod.id })).map((o) => [o.segmentName, o.priority])).toEqual([
      ["A", 0],
      ["B", 1],
    ]);
    expect(await revisions(project.id)).toEqual(before);
  });

  it("deleteOverride__andDeleteSegment__overridesGoneAuditedAndBumped", async () => {
    // Given overrides for Beta and Staff in Production, and for Staff in Development
    const user = await signUpUser();
    const { project, dev, prod, feature, segments: [beta, staff] } = await setup(user);
    const betaOverride = await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: true, value: "b" });
    await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: staff.id, enabled: true, value: "s" });
    await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: dev.id, segmentId: staff.id, enabled: true, value: "s" });
    const before = await revisions(project.id);

    // When Beta's override is deleted, then the Staff segment itself
    await user.caller.segmentOverrides.delete({ featureStateId: betaOverride.id });
    const afterOverride = await revisions(project.id);
    const segmentView = await user.caller.segments.get({ segmentId: staff.id });
    await user.caller.segments.delete({ segmentId: staff.id });
    const afterSegment = await revisions(project.id);

    // Then Beta's override is gone (Production bumped), the segment page listed Staff's two overrides,
    // and deleting Staff removed them everywhere (both environments bumped)
    expect(afterOverride.get(prod.id)).toBe(before.get(prod.id)! + 1);
    expect(afterOverride.get(dev.id)).toBe(before.get(dev.id));
    expect(segmentView.overrides.map((o) => o.environmentName)).toEqual(["Development", "Production"]);
    expect(await overrideRows(feature.id)).toEqual([]);
    expect(afterSegment.get(prod.id)).toBeGreaterThan(afterOverride.get(prod.id)!);
    expect(afterSegment.get(dev.id)).toBeGreaterThan(afterOverride.get(dev.id)!);
    const [deleted] = await getDb().select().from(auditLog).where(and(eq(auditLog.action, "segment_override.deleted"), eq(auditLog.organisationId, user.organisationId)));
    expect(deleted).toMatchObject({ featureId: feature.id, segmentId: beta.id, environmentId: prod.id, projectId: project.id });
    expect(deleted.before).toMatchObject({ segment: "Beta", enabled: true, value: "b", priority: 1 });
    const [segmentDeleted] = await getDb().select().from(auditLog).where(and(eq(auditLog.action, "segment.deleted"), eq(auditLog.organisationId, user.organisationId)));
    expect(segmentDeleted.summary).toBe('Segment "Staff" deleted with its 2 overrides');
  });

  it("overrideMutations__createUpdateReorderDelete__loggedWithIds", async () => {
    // Given a feature and a segment, and captured logs
    const user = await signUpUser();
    const { prod, feature, segments: [beta] } = await setup(user, ["Beta"]);
    const logs = captureLogs();

    try {
      // When an override is created, updated, reordered and deleted
      const override = await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: true, value: null });
      await user.caller.segmentOverrides.update({ featureStateId: override.id, enabled: false });
      await user.caller.segmentOverrides.reorder({ featureId: feature.id, environmentId: prod.id, segmentIds: [beta.id] });
      await user.caller.segmentOverrides.delete({ featureStateId: override.id });

      // Then each event names the feature (and segment/state) and carries the environment
      for (const event of ["segment_override.created", "segment_override.updated", "segment_override.deleted"]) {
        expect(logs.events(event)[0], event).toMatchObject({ logger: "segments", "feature.id": feature.id, "segment.id": beta.id, "feature_state.id": override.id, "environment.id": prod.id });
      }
      expect(logs.events("segment_override.reordered")[0]).toMatchObject({ "feature.id": feature.id, "environment.id": prod.id });
    } finally {
      logs.stop();
    }
  });

  it("servedDocument__segmentAndIdentityOverrides__priorityOrderDecidesAndIdentityWins", async () => {
    // Given segments Pro (plan = pro) and Corp (email matches a Python-style regex), overriding a feature in
    // that order, and an identity override for "vip"
    const user = await signUpUser();
    const { project, prod, feature } = await setup(user, []);
    const pro = await user.caller.segments.create({
      projectId: project.id,
      name: "Pro",
      rules: [{ type: "ALL", conditions: [], rules: [{ type: "ANY", conditions: [{ operator: "EQUAL", property: "plan", value: "pro" }], rules: [] }] }],
    });
    const corp = await user.caller.segments.create({
      projectId: project.id,
      name: "Corp",
      rules: [{ type: "ALL", conditions: [{ operator: "REGEX", property: "email", value: "(?i).*@corp\\.com\\Z" }], rules: [] }],
    });
    await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: pro.id, enabled: true, value: "pro" });
    await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: corp.id, enabled: true, value: "corp" });
    const vip = await user.caller.identities.create({ environmentId: prod.id, identifier: "vip" });
    await user.caller.identities.createOverride({ identityId: vip.id, featureId: feature.id, enabled: false, value: "vip" });
    const valueFor = async (identifier: string, traits: Record<string, TraitValue>) => {
      const { document } = await buildEnvironmentDocument(getDb(), prod.id);
      const result = getEvaluationResult(environmentDocumentToContext(document, { identifier, traits }));
      return result.flags[feature.name].value;
    };
    const both = { plan: "pro", email: "Ann@CORP.com" };

    // When identities are evaluated against the built document, before and after Corp is moved first
    const beforeReorder = [await valueFor("ann", both), await valueFor("bob", { email: "bob@corp.com" }), await valueFor("cy", { plan: "free" })];
    await user.caller.segmentOverrides.reorder({ featureId: feature.id, environmentId: prod.id, segmentIds: [corp.id, pro.id] });
    const afterReorder = [await valueFor("ann", both), await valueFor("vip", both)];

    // Then the strongest matching segment decides, the default applies otherwise, and the identity override beats all
    expect(beforeReorder).toEqual(["pro", "corp", "off"]);
    expect(afterReorder).toEqual(["corp", "vip"]);
  });

  it("foreignIds__everyOverrideProcedure__notFoundAndNothingChanges", async () => {
    // Given Alice's feature, segment and override, her second project's segment, and Bob's own project
    const alice = await signUpUser();
    const bob = await signUpUser();
    const { project, prod, feature, segments: [beta] } = await setup(alice, ["Beta"]);
    const override = await alice.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: true, value: "x" });
    const { project: otherProject } = await projectWithEnvironments(alice, ["Production"]);
    const otherSegment = await alice.caller.segments.create({ projectId: otherProject.id, name: "Elsewhere", rules: RULES });
    const { environments: [bobsEnv] } = await projectWithEnvironments(bob, ["Production"]);
    const audit = await auditActions(alice.organisationId);
    const before = await revisions(project.id);

    // When Bob uses Alice's ids (alone or mixed with his own), and Alice mixes projects
    await expectTrpcError(bob.caller.segmentOverrides.list({ featureId: feature.id, environmentId: prod.id }), "NOT_FOUND");
    await expectTrpcError(bob.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: beta.id, enabled: false, value: null }), "NOT_FOUND");
    await expectTrpcError(bob.caller.segmentOverrides.create({ featureId: feature.id, environmentId: bobsEnv.id, segmentId: beta.id, enabled: false, value: null }), "NOT_FOUND");
    await expectTrpcError(bob.caller.segmentOverrides.update({ featureStateId: override.id, enabled: false }), "NOT_FOUND");
    await expectTrpcError(bob.caller.segmentOverrides.reorder({ featureId: feature.id, environmentId: prod.id, segmentIds: [beta.id] }), "NOT_FOUND");
    await expectTrpcError(bob.caller.segmentOverrides.delete({ featureStateId: override.id }), "NOT_FOUND");
    await expectTrpcError(alice.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: otherSegment.id, enabled: true, value: null }), "NOT_FOUND");

    // Then Alice's override, audit log and documents are untouched
    expect(await alice.caller.segmentOverrides.list({ featureId: feature.id, environmentId: prod.id })).toEqual([expect.objectContaining({ id: override.id, enabled: true, value: "x" })]);
    expect(await auditActions(alice.organisationId)).toEqual(audit);
    expect(await revisions(project.id)).toEqual(before);
  });
});
