import { asc, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { auditLog, environments, segments } from "../../../src/server/db/schema";
import { MESSAGES } from "../../../src/server/segments/validation";
import { captureLogs, expectTrpcError, projectWithEnvironments, signUpUser } from "../support/fixtures";
import { failAuditOf, postAs } from "./helpers";

const AGE_RULES = [
  { type: "ALL", conditions: [], rules: [{ type: "ANY", conditions: [{ operator: "LESS_THAN", property: "age", value: "40" }], rules: [] }] },
];

/** Revision and updated_at (microseconds) of every environment of the project, by environment id. */
async function revisions(projectId: number): Promise<Map<number, { revision: number; updatedAt: number }>> {
  const rows = await getDb()
    .select({ id: environments.id, revision: environments.revision, updatedAt: sql<number>`(extract(epoch from ${environments.updatedAt}) * 1000000)::bigint` })
    .from(environments)
    .where(eq(environments.projectId, projectId))
    .orderBy(asc(environments.id));
  return new Map(rows.map((r) => [r.id, { revision: r.revision, updatedAt: Number(r.updatedAt) }]));
}

function expectBumped(before: Map<number, { revision: number; updatedAt: number }>, after: Map<number, { revision: number; updatedAt: number }>): void {
  expect(after.size).toBe(before.size);
  for (const [environmentId, was] of before) {
    const now = after.get(environmentId)!;
    expect(now.revision, `environment ${environmentId}`).toBeGreaterThan(was.revision);
    expect(now.updatedAt, `environment ${environmentId}`).toBeGreaterThan(was.updatedAt);
  }
}

async function auditActions(organisationId: number): Promise<string[]> {
  return (await getDb().select().from(auditLog).where(eq(auditLog.organisationId, organisationId)).orderBy(asc(auditLog.id))).map((r) => r.action);
}

describe("segments", () => {
  it("segmentLifecycle__createListGetUpdateDelete__auditedAndEveryDocumentBumped", async () => {
    // Given a project with two environments
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Development", "Production"]);
    const initial = await revisions(project.id);

    // When a segment is created, listed, read, its rules changed and then deleted
    const created = await user.caller.segments.create({ projectId: project.id, name: "Young users", description: "Under 40", rules: AGE_RULES });
    const afterCreate = await revisions(project.id);
    const listed = await user.caller.segments.list({ projectId: project.id });
    const fetched = await user.caller.segments.get({ segmentId: created.id });
    const newRules = [{ type: "ALL", conditions: [{ operator: "IN", property: "plan", value: "pro,team" }], rules: [] }];
    const updated = await user.caller.segments.update({ segmentId: created.id, rules: newRules });
    const afterUpdate = await revisions(project.id);
    await user.caller.segments.delete({ segmentId: created.id });
    const afterDelete = await revisions(project.id);

    // Then each step took effect, every environment's document was bumped each time, and each step was audited
    expect(created).toMatchObject({ projectId: project.id, name: "Young users", description: "Under 40", featureId: null });
    expect(created.rules).toEqual([
      { type: "ALL", conditions: [], rules: [{ type: "ANY", conditions: [{ operator: "LESS_THAN", property: "age", value: "40" }], rules: [] }] },
    ]);
    expect(listed.map((s) => s.name)).toEqual(["Young users"]);
    expect(fetched).toMatchObject({ id: created.id, name: "Young users", featureName: null, overrides: [] });
    expect(updated.rules).toEqual([{ type: "ALL", conditions: [{ operator: "IN", property: "plan", value: "pro,team" }], rules: [] }]);
    await expectTrpcError(user.caller.segments.get({ segmentId: created.id }), "NOT_FOUND");
    expectBumped(initial, afterCreate);
    expectBumped(afterCreate, afterUpdate);
    expectBumped(afterUpdate, afterDelete);

    const rows = await getDb().select().from(auditLog).where(eq(auditLog.segmentId, created.id)).orderBy(asc(auditLog.id));
    expect(rows.map((r) => r.action)).toEqual(["segment.created", "segment.updated", "segment.deleted"]);
    expect(rows.every((r) => r.projectId === project.id && r.resourceType === "segment" && r.resourceId === String(created.id))).toBe(true);
    expect(rows[0].after).toMatchObject({ name: "Young users", rules: 'ALL(ANY(age LESS_THAN "40"))' });
    expect(rows[1].before).toMatchObject({ rules: 'ALL(ANY(age LESS_THAN "40"))' });
    expect(rows[1].after).toMatchObject({ rules: 'ALL(plan IN "pro,team")' });
    expect(rows[1].summary).toContain("rules changed");
    expect(rows[2].before).toMatchObject({ name: "Young users" });
  });

  it("createSegment__valuesGivenAsNumbersAndExtraKeys__storedNormalised", async () => {
    // Given rules as a script might send them: numbers, an empty PERCENTAGE_SPLIT property, extra keys
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Production"]);
    const rules = [
      {
        type: "ALL",
        conditions: [
          { operator: "PERCENTAGE_SPLIT", property: "", value: 25, description: "a quarter" },
          { operator: "GREATER_THAN", property: "age", value: 18 },
        ],
        rules: [],
        id: "client-side-id",
      },
    ];

    // When the segment is created
    const created = await user.caller.segments.create({ projectId: project.id, name: "Quarter", rules });

    // Then the stored rules have the document's shape, values as text
    const [row] = await getDb().select().from(segments).where(eq(segments.id, created.id));
    expect(row.rules).toEqual([
      {
        type: "ALL",
        conditions: [
          { operator: "PERCENTAGE_SPLIT", property: null, value: "25" },
          { operator: "GREATER_THAN", property: "age", value: "18" },
        ],
        rules: [],
      },
    ]);
  });

  it("createSegment__nameTakenInAnyCase__conflictOnNameNothingWrittenNoAudit", async () => {
    // Given a segment "Beta"
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Production"]);
    const beta = await user.caller.segments.create({ projectId: project.id, name: "Beta", rules: AGE_RULES });
    const other = await user.caller.segments.create({ projectId: project.id, name: "Other", rules: AGE_RULES });
    const audit = await auditActions(user.organisationId);
    const before = await revisions(project.id);

    // When another segment is created as "BETA", or "Other" is renamed to "beta"
    const duplicate = await postAs(user, "segments.create", { projectId: project.id, name: "BETA", rules: AGE_RULES });
    const rename = await postAs(user, "segments.update", { segmentId: other.id, name: "beta" });

    // Then both are conflicts on `name`, and nothing was written or audited
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error?.data.fieldErrors).toEqual({ name: "A segment with this name already exists in this project" });
    expect(rename.status).toBe(409);
    expect(rename.body.error?.data.fieldErrors?.name).toBeDefined();
    expect((await user.caller.segments.list({ projectId: project.id })).map((s) => s.name)).toEqual(["Beta", "Other"]);
    expect(await auditActions(user.organisationId)).toEqual(audit);
    expect(await revisions(project.id)).toEqual(before);
    expect(beta.name).toBe("Beta");
  });

  it("createSegment__invalidRules__badRequestWithRulePathAsFieldAndNothingWritten", async () => {
    // Given a project
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Production"]);
    const audit = await auditActions(user.organisationId);
    const before = await revisions(project.id);
    const withCondition = (condition: Record<string, unknown>) => [
      { type: "ALL", conditions: [], rules: [{ type: "ANY", conditions: [{ operator: "IS_SET", property: "email" }, condition], rules: [] }] },
    ];

    // When segments with malformed rules are created over HTTP
    const cases: [unknown, string, string][] = [
      [withCondition({ operator: "REGEX", property: "email", value: "([a-z" }), "rules.0.rules.0.conditions.1.value", MESSAGES.regex],
      [withCondition({ operator: "STARTS_WITH", property: "email", value: "a" }), "rules.0.rules.0.conditions.1.operator", MESSAGES.unknownOperator],
      [withCondition({ operator: "MODULO", property: "n", value: "0|1" }), "rules.0.rules.0.conditions.1.value", MESSAGES.moduloZero],
      [withCondition({ operator: "PERCENTAGE_SPLIT", value: "150" }), "rules.0.rules.0.conditions.1.value", MESSAGES.percentage],
      [withCondition({ operator: "CONTAINS", property: "v", value: "1.0.0:semver" }), "rules.0.rules.0.conditions.1.value", MESSAGES.semverOperator],
      [withCondition({ operator: "EQUAL", value: "x" }), "rules.0.rules.0.conditions.1.property", MESSAGES.propertyRequired],
      [[], "rules", MESSAGES.noRules],
      [[{ type: "SOME", conditions: [], rules: [] }], "rules.0.type", MESSAGES.ruleType],
      [undefined, "rules", MESSAGES.rulesNotList],
    ];
    const responses = [];
    for (const [rules, , ] of cases) responses.push(await postAs(user, "segments.create", { projectId: project.id, name: "Bad", rules }));

    // Then each is a BAD_REQUEST whose field error names the offending path, and nothing was written or audited
    responses.forEach((response, index) => {
      const [, field, message] = cases[index];
      expect(response.status, field).toBe(400);
      expect(response.body.error?.message, field).toBe(message);
      expect(response.body.error?.data.fieldErrors, field).toEqual({ [field]: message });
    });
    expect(await user.caller.segments.list({ projectId: project.id })).toEqual([]);
    expect(await auditActions(user.organisationId)).toEqual(audit);
    expect(await revisions(project.id)).toEqual(before);
  });

  it("updateSegment__invalidRules__badRequestAndRulesUnchanged", async () => {
    // Given a segment
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Production"]);
    const segment = await user.caller.segments.create({ projectId: project.id, name: "Young", rules: AGE_RULES });
    const audit = await auditActions(user.organisationId);

    // When its rules are replaced by an IN with an empty list
    const response = await postAs(user, "segments.update", {
      segmentId: segment.id,
      rules: [{ type: "ALL", conditions: [{ operator: "IN", property: "plan", value: "[]" }], rules: [] }],
    });

    // Then the update is refused on the value's path and nothing changed
    expect(response.status).toBe(400);
    expect(response.body.error?.data.fieldErrors).toEqual({ "rules.0.conditions.0.value": MESSAGES.inEmpty });
    expect((await user.caller.segments.get({ segmentId: segment.id })).rules).toEqual(segment.rules);
    expect(await auditActions(user.organisationId)).toEqual(audit);
  });

  it("updateSegment__descriptionOnly__auditedWithoutDocumentWrite", async () => {
    // Given a segment
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Production"]);
    const segment = await user.caller.segments.create({ projectId: project.id, name: "Young", rules: AGE_RULES });
    const before = await revisions(project.id);

    // When only its description changes, then its name
    await user.caller.segments.update({ segmentId: segment.id, description: "People under 40" });
    const afterDescription = await revisions(project.id);
    await user.caller.segments.update({ segmentId: segment.id, name: "Under 40" });
    const afterRename = await revisions(project.id);

    // Then the description (not served) is audited without bumping documents; the rename (served) bumps them
    expect(afterDescription).toEqual(before);
    expectBumped(afterDescription, afterRename);
    const rows = await getDb().select().from(auditLog).where(eq(auditLog.segmentId, segment.id)).orderBy(asc(auditLog.id));
    expect(rows.map((r) => r.summary)).toEqual([
      expect.stringContaining('Segment "Young" created'),
      'Segment "Young" updated (description)',
      'Segment "Young" renamed to "Under 40"',
    ]);
  });

  it("featureSpecificSegment__featureOfProject__linkedAndListedWithFeatureName", async () => {
    // Given a feature
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Production"]);
    const feature = await user.caller.features.create({ projectId: project.id, name: "checkout" });

    // When a segment specific to it is created, and the list is searched
    const segment = await user.caller.segments.create({ projectId: project.id, featureId: feature.id, name: "Checkout testers", rules: AGE_RULES });
    await user.caller.segments.create({ projectId: project.id, name: "Everyone young", rules: AGE_RULES });
    const searched = await user.caller.segments.list({ projectId: project.id, search: "checkout" });

    // Then it is linked to the feature, and search matches it only
    expect(segment.featureId).toBe(feature.id);
    expect(searched.map((s) => [s.name, s.featureName])).toEqual([["Checkout testers", "checkout"]]);
    expect((await user.caller.segments.get({ segmentId: segment.id })).featureName).toBe("checkout");
    const [audit] = await getDb().select().from(auditLog).where(eq(auditLog.segmentId, segment.id));
    expect(audit.featureId).toBe(feature.id);
  });

  it("createSegment__featureOfAnotherProject__notFoundAndNothingWritten", async () => {
    // Given two projects of the same user, with a feature in the second
    const user = await signUpUser();
    const { project: first } = await projectWithEnvironments(user, ["Production"]);
    const { project: second } = await projectWithEnvironments(user, ["Production"]);
    const feature = await user.caller.features.create({ projectId: second.id, name: "elsewhere" });

    // When a segment of the first project names the second project's feature
    const call = user.caller.segments.create({ projectId: first.id, featureId: feature.id, name: "Mixed", rules: AGE_RULES });

    // Then it is refused as not found
    await expectTrpcError(call, "NOT_FOUND");
    expect(await user.caller.segments.list({ projectId: first.id })).toEqual([]);
  });

  it("createSegment__auditFailsAfterInsert__noSegmentNoAuditNoBump", async () => {
    // Given a project, and an audit log that will refuse the segment.created row
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Development", "Production"]);
    const audit = await auditActions(user.organisationId);
    const before = await revisions(project.id);

    // When a segment is created (the insert succeeds, the audit row then fails)
    const call = failAuditOf("segment.created", () => user.caller.segments.create({ projectId: project.id, name: "Doomed", rules: AGE_RULES }));

    // Then the whole change rolled back: no segment, no audit row, no document bump
    await expectTrpcError(call, "INTERNAL_SERVER_ERROR");
    expect(await getDb().select().from(segments).where(eq(segments.projectId, project.id))).toEqual([]);
    expect(await auditActions(user.organisationId)).toEqual(audit);
    expect(await revisions(project.id)).toEqual(before);
  });

  it("updateSegment__auditFailsAfterUpdate__rulesUnchanged", async () => {
    // Given a segment, and an audit log that will refuse segment.updated rows
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Production"]);
    const segment = await user.caller.segments.create({ projectId: project.id, name: "Young", rules: AGE_RULES });
    const before = await revisions(project.id);

    // When its rules and name are changed
    const call = failAuditOf("segment.updated", () =>
      user.caller.segments.update({ segmentId: segment.id, name: "Renamed", rules: [{ type: "ALL", conditions: [{ operator: "IS_SET", property: "x" }], rules: [] }] }),
    );

    // Then the segment is as before and no document was bumped
    await expectTrpcError(call, "INTERNAL_SERVER_ERROR");
    const [row] = await getDb().select().from(segments).where(eq(segments.id, segment.id));
    expect(row.name).toBe("Young");
    expect(row.rules).toEqual(segment.rules);
    expect(await revisions(project.id)).toEqual(before);
  });

  it("createSegment__idCollidesWithImportedDocumentId__retriedWithNextId", async () => {
    // Given an imported segment keeping document id N, where N is the id the next segment would get
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Production"]);
    const result = await getDb().execute<{ next: number }>(sql`select last_value + 1 as next from segments_id_seq`);
    const next = Number(result.rows[0].next);
    // (the imported row itself takes id `next`; its document id is the one after)
    const [imported] = await getDb().insert(segments).values({ projectId: project.id, name: "Imported", rules: AGE_RULES as never, documentId: next + 1 }).returning();
    expect(imported.id).toBe(next);

    // When a new segment is created
    const created = await user.caller.segments.create({ projectId: project.id, name: "Fresh", rules: AGE_RULES });

    // Then it skips the taken id instead of failing
    expect(created.id).toBe(next + 2);
    expect((await user.caller.segments.list({ projectId: project.id })).map((s) => s.name)).toEqual(["Fresh", "Imported"]);
  });

  it("segmentMutations__createUpdateDelete__loggedWithSegmentId", async () => {
    // Given a project and captured logs
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Production"]);
    const logs = captureLogs();

    // When a segment is created, updated and deleted
    try {
      const segment = await user.caller.segments.create({ projectId: project.id, name: "Logged", rules: AGE_RULES });
      await user.caller.segments.update({ segmentId: segment.id, description: "x" });
      await user.caller.segments.delete({ segmentId: segment.id });

      // Then each event names the segment and carries the request's project
      for (const event of ["segment.created", "segment.updated", "segment.deleted"]) {
        const [line] = logs.events(event);
        expect(line, event).toMatchObject({ logger: "segments", "segment.id": segment.id, "project.id": project.id });
      }
    } finally {
      logs.stop();
    }
  });

  it("foreignOrganisation__everySegmentProcedure__notFoundAndNothingChanges", async () => {
    // Given Alice's segment and feature, and Bob in another organisation with his own project
    const alice = await signUpUser();
    const bob = await signUpUser();
    const { project } = await projectWithEnvironments(alice, ["Production"]);
    const { project: bobsProject } = await projectWithEnvironments(bob, ["Production"]);
    const feature = await alice.caller.features.create({ projectId: project.id, name: "secret" });
    const segment = await alice.caller.segments.create({ projectId: project.id, name: "Alice's", rules: AGE_RULES });
    const audit = await auditActions(alice.organisationId);

    // When Bob uses Alice's ids
    await expectTrpcError(bob.caller.segments.list({ projectId: project.id }), "NOT_FOUND");
    await expectTrpcError(bob.caller.segments.get({ segmentId: segment.id }), "NOT_FOUND");
    await expectTrpcError(bob.caller.segments.create({ projectId: project.id, name: "x", rules: AGE_RULES }), "NOT_FOUND");
    await expectTrpcError(bob.caller.segments.create({ projectId: bobsProject.id, featureId: feature.id, name: "x", rules: AGE_RULES }), "NOT_FOUND");
    await expectTrpcError(bob.caller.segments.update({ segmentId: segment.id, name: "pwned" }), "NOT_FOUND");
    await expectTrpcError(bob.caller.segments.delete({ segmentId: segment.id }), "NOT_FOUND");

    // Then Alice's segment and audit log are untouched, and Bob's project got nothing
    expect((await alice.caller.segments.get({ segmentId: segment.id })).name).toBe("Alice's");
    expect(await auditActions(alice.organisationId)).toEqual(audit);
    expect(await bob.caller.segments.list({ projectId: bobsProject.id })).toEqual([]);
  });
});
