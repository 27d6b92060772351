/**
 * Compare and promote (tRPC `promotion.*`): the matrix, the preview's differences, applying a copy
 * in one audited transaction that writes only the target's document, stale previews, and refusals.
 */
import { and, asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { auditLog, environments } from "../../../src/server/db/schema";
import { buildEnvironmentDocument } from "../../../src/server/documents/build";
import type { EnvironmentDocument } from "../../../src/server/engine/document";
import { STALE_PREVIEW } from "../../../src/server/features/promotion";
import { callerFor, captureLogs, expectTrpcError, joinOrganisation, projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { commitOnceBlocked, failAuditOf, openTransaction } from "./helpers";

const rules = (plan: string) => [{ type: "ALL" as const, conditions: [{ operator: "EQUAL" as const, property: "plan", value: plan }], rules: [] }];

async function revisionOf(environmentId: number): Promise<number> {
  const [row] = await getDb().select({ revision: environments.revision }).from(environments).where(eq(environments.id, environmentId));
  return row.revision;
}

async function auditRows(organisationId: number) {
  return getDb().select().from(auditLog).where(eq(auditLog.organisationId, organisationId)).orderBy(asc(auditLog.id));
}

/**
 * Development and Production with: `banner` (value differs), `checkout` (multivariate, weights
 * differ), `search` (segment overrides added, changed, removed and reordered), `same` (identical).
 */
async function promotable(user: TestUser) {
  const { project, environments: [dev, prod] } = await projectWithEnvironments(user, ["Development", "Production"]);
  const caller = user.caller;
  const banner = await caller.features.create({ projectId: project.id, name: "banner", initialValue: "old" });
  const checkout = await caller.features.create({
    projectId: project.id,
    name: "checkout",
    initialValue: "control",
    tags: ["payments"],
    options: [
      { value: "green", key: "green", defaultPercentageAllocation: 30 },
      { value: "red", key: "red", defaultPercentageAllocation: 20 },
    ],
  });
  const search = await caller.features.create({ projectId: project.id, name: "search", initialValue: 1 });
  const same = await caller.features.create({ projectId: project.id, name: "same", initialValue: true, defaultEnabled: true });
  const [beta, staff, legacy] = [
    await caller.segments.create({ projectId: project.id, name: "beta", rules: rules("beta") }),
    await caller.segments.create({ projectId: project.id, name: "staff", rules: rules("staff") }),
    await caller.segments.create({ projectId: project.id, name: "legacy", rules: rules("legacy") }),
  ];
  const { options } = await caller.features.get({ featureId: checkout.id });
  const [green, red] = options;

  // Development: the new state.
  await caller.features.updateState({ featureId: banner.id, environmentId: dev.id, enabled: true, value: "new" });
  await caller.features.updateState({ featureId: checkout.id, environmentId: dev.id, allocations: [{ optionId: green.id, percentageAllocation: 50 }, { optionId: red.id, percentageAllocation: 0 }] });
  await caller.segmentOverrides.create({ featureId: search.id, environmentId: dev.id, segmentId: staff.id, enabled: true, value: 3 });
  await caller.segmentOverrides.create({ featureId: search.id, environmentId: dev.id, segmentId: beta.id, enabled: true, value: 2 });
  // Production: beta first (order differs), beta's value differs, legacy only here.
  await caller.segmentOverrides.create({ featureId: search.id, environmentId: prod.id, segmentId: beta.id, enabled: false, value: 9 });
  await caller.segmentOverrides.create({ featureId: search.id, environmentId: prod.id, segmentId: legacy.id, enabled: true, value: 0 });
  await caller.segmentOverrides.create({ featureId: search.id, environmentId: prod.id, segmentId: staff.id, enabled: true, value: 3 });
  return { project, dev, prod, banner, checkout, search, same, beta, staff, legacy, green, red };
}

/** What SDKs see of a feature in a document: default and segment overrides (in priority order), ids left out. */
function served(document: EnvironmentDocument, featureName: string) {
  const mv = (state: EnvironmentDocument["feature_states"][number]) =>
    [...state.multivariate_feature_state_values]
      .sort((a, b) => Number(a.id) - Number(b.id))
      .filter((v) => v.percentage_allocation > 0)
      .map((v) => [v.multivariate_feature_option.value, v.percentage_allocation]);
  const state = document.feature_states.find((s) => s.feature.name === featureName)!;
  const overrides = document.project.segments
    .flatMap((segment) => segment.feature_states.filter((s) => s.feature.name === featureName).map((s) => ({ segment: segment.name, state: s })))
    .sort((a, b) => (a.state.feature_segment?.priority ?? 0) - (b.state.feature_segment?.priority ?? 0))
    .map(({ segment, state: s }) => [segment, s.enabled, s.feature_state_value, mv(s)]);
  return { enabled: state.enabled, value: state.feature_state_value, mv: mv(state), overrides };
}

describe("compare and promote", () => {
  it("matrix__twoEnvironments__everyFeatureWithItsStatePerEnvironmentAndDifferencesMarked", async () => {
    // Given features that differ between Development and Production, and one that does not
    const user = await signUpUser();
    const { project, dev, prod } = await promotable(user);

    // When the matrix is read, then filtered by name and by tag
    const matrix = await user.caller.promotion.matrix({ projectId: project.id });
    const byName = (name: string) => matrix.features.find((f) => f.name === name)!;

    // Then every feature has a cell per environment, and only the identical one is not marked
    expect(matrix.environments.map((e) => e.name)).toEqual(["Development", "Production"]);
    expect(matrix.features.map((f) => [f.name, f.differs])).toEqual([
      ["banner", true],
      ["checkout", true],
      ["same", false],
      ["search", true],
    ]);
    expect(byName("banner").cells).toMatchObject([
      { environmentId: dev.id, enabled: true, value: "new" },
      { environmentId: prod.id, enabled: false, value: "old" },
    ]);
    expect(byName("checkout").cells.map((c) => c.weights)).toEqual([[{ option: '"green"', percentage: 50 }], [{ option: '"green"', percentage: 30 }, { option: '"red"', percentage: 20 }]]);
    expect(byName("search").cells.map((c) => c.segmentOverrides)).toEqual([["staff", "beta"], ["beta", "legacy", "staff"]]);
    expect((await user.caller.promotion.matrix({ projectId: project.id, search: "CHECK" })).features.map((f) => f.name)).toEqual(["checkout"]);
    expect((await user.caller.promotion.matrix({ projectId: project.id, tag: "payments" })).features.map((f) => f.name)).toEqual(["checkout"]);
  });

  it("preview__stateValueWeightsAndSegmentOverridesDiffer__listsEveryDifferenceWithBothRevisions", async () => {
    // Given the two environments
    const user = await signUpUser();
    const { project, dev, prod, banner, checkout, search, same } = await promotable(user);

    // When copying every feature from Development to Production is previewed
    const preview = await user.caller.promotion.preview({ projectId: project.id, sourceEnvironmentId: dev.id, targetEnvironmentId: prod.id, featureIds: [banner.id, checkout.id, search.id, same.id] });

    // Then it carries both revisions and every difference, "from" Production's now "to" Development's
    expect(preview.source).toEqual({ id: dev.id, name: "Development", revision: await revisionOf(dev.id) });
    expect(preview.target).toMatchObject({ id: prod.id, name: "Production", revision: await revisionOf(prod.id), isProtected: false });
    expect(preview.changed).toBe(3);
    const byName = Object.fromEntries(preview.features.map((f) => [f.name, f]));
    expect(byName.banner.defaults).toEqual({ enabled: { from: false, to: true }, value: { from: "old", to: "new" } });
    expect(byName.checkout.defaults).toEqual({ weights: [{ option: '"green"', from: 30, to: 50 }, { option: '"red"', from: 20, to: 0 }] });
    expect(byName.search.overrides).toEqual([
      { segmentId: expect.any(Number), segment: "beta", kind: "changed", changes: { enabled: { from: false, to: true }, value: { from: 9, to: 2 } }, copied: null },
      { segmentId: expect.any(Number), segment: "legacy", kind: "removed", changes: {}, copied: null },
    ]);
    expect(byName.search.reordered).toEqual({ from: ["beta", "staff"], to: ["staff", "beta"] });
    expect(byName.same.identical).toBe(true);
  });

  it("copy__fourFeatures__oneAuditRowNamingThemTargetDocumentServesTheSourceStateSourceUntouched", async () => {
    // Given a preview of copying four features to Production, and the log captured
    const user = await signUpUser();
    const { project, dev, prod, banner, checkout, search, same } = await promotable(user);
    const request = { projectId: project.id, sourceEnvironmentId: dev.id, targetEnvironmentId: prod.id, featureIds: [banner.id, checkout.id, search.id, same.id] };
    const preview = await user.caller.promotion.preview(request);
    const auditBefore = (await auditRows(user.organisationId)).length;
    const devRevision = await revisionOf(dev.id);
    const logs = captureLogs();

    // When it is applied
    const result = await user.caller.promotion.copy({ ...request, sourceRevision: preview.source.revision, targetRevision: preview.target.revision });
    logs.stop();

    // Then three features changed in one audited change: one audit row naming them, one revision bump of Production only
    expect(result).toMatchObject({ changed: 3, unchanged: 1 });
    const audit = (await auditRows(user.organisationId)).slice(auditBefore);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "feature_state.copied", environmentId: prod.id, projectId: project.id, featureId: null, actorUserId: user.userId });
    expect(audit[0].summary).toMatch(/^3 features copied from "Development" to "Production": "banner" \(enabled, value "old" → "new"\); "checkout" \(weights "green" 30% → 50%, "red" 20% → 0%\); "search" \(segment "beta": enabled, value 9 → 2, segment "legacy" removed, segment overrides reordered to "staff" > "beta"\) \(1 already the same\)$/);
    expect(await revisionOf(prod.id)).toBe(preview.target.revision + 1);
    expect(await revisionOf(dev.id)).toBe(devRevision);
    expect(logs.events("feature_state.copied")).toMatchObject([{ logger: "features", "environment.id": prod.id, "source_environment.id": dev.id, "features.count": 3 }]);

    // …and Production's document now serves exactly what Development's does, for every feature
    const [devDocument, prodDocument] = [(await buildEnvironmentDocument(getDb(), dev.id)).document, (await buildEnvironmentDocument(getDb(), prod.id)).document];
    for (const name of ["banner", "checkout", "search", "same"]) expect(served(prodDocument, name), name).toEqual(served(devDocument, name));
    // …so a new preview finds nothing left to copy
    const again = await user.caller.promotion.preview(request);
    expect(again.changed).toBe(0);
  });

  it("copy__alreadyIdentical__nothingWrittenNoAuditRowNoRevisionBump", async () => {
    // Given a feature that is the same in both environments
    const user = await signUpUser();
    const { project, dev, prod, same } = await promotable(user);
    const request = { projectId: project.id, sourceEnvironmentId: dev.id, targetEnvironmentId: prod.id, featureIds: [same.id] };
    const preview = await user.caller.promotion.preview(request);
    const auditBefore = (await auditRows(user.organisationId)).length;

    // When it is copied
    const result = await user.caller.promotion.copy({ ...request, sourceRevision: preview.source.revision, targetRevision: preview.target.revision });

    // Then nothing was written
    expect(result).toEqual({ changed: 0, unchanged: 1, summary: null });
    expect((await auditRows(user.organisationId)).length).toBe(auditBefore);
    expect(await revisionOf(prod.id)).toBe(preview.target.revision);
  });

  it("copy__targetOrSourceChangedSincePreview__preconditionFailedAndNothingCopied", async () => {
    // Given a preview, after which Production is toggled
    const user = await signUpUser();
    const { project, dev, prod, banner, same } = await promotable(user);
    const request = { projectId: project.id, sourceEnvironmentId: dev.id, targetEnvironmentId: prod.id, featureIds: [banner.id] };
    const preview = await user.caller.promotion.preview(request);
    await user.caller.features.updateState({ featureId: same.id, environmentId: prod.id, enabled: false });

    // When the stale preview is applied
    const refused = await expectTrpcError(user.caller.promotion.copy({ ...request, sourceRevision: preview.source.revision, targetRevision: preview.target.revision }), "PRECONDITION_FAILED");

    // Then it is refused with a clear message, and banner is unchanged in Production
    expect(refused.message).toBe(STALE_PREVIEW);
    const states = await user.caller.features.states({ featureId: banner.id });
    expect(states.find((s) => s.environmentId === prod.id)).toMatchObject({ enabled: false, value: "old" });

    // When a fresh preview is taken, then Development changes before it is applied
    const fresh = await user.caller.promotion.preview(request);
    await user.caller.features.updateState({ featureId: banner.id, environmentId: dev.id, value: "newer" });

    // Then it is refused too: what would be copied is no longer what was previewed
    await expectTrpcError(user.caller.promotion.copy({ ...request, sourceRevision: fresh.source.revision, targetRevision: fresh.target.revision }), "PRECONDITION_FAILED");
  });

  it("copy__changeCommittedToTargetWhileApplying__refusedAndRolledBack", async () => {
    // Given a preview, and another transaction holding Production's row (a change about to commit)
    const user = await signUpUser();
    const { project, dev, prod, banner } = await promotable(user);
    const request = { projectId: project.id, sourceEnvironmentId: dev.id, targetEnvironmentId: prod.id, featureIds: [banner.id] };
    const preview = await user.caller.promotion.preview(request);
    const holder = await openTransaction();
    await holder.query("update environments set revision = revision + 1 where id = $1", [prod.id]);

    // When the copy is applied while that change commits
    const outcome = commitOnceBlocked(holder, user.caller.promotion.copy({ ...request, sourceRevision: preview.source.revision, targetRevision: preview.target.revision }));

    // Then the copy is refused and nothing of it stays
    await expectTrpcError(outcome, "PRECONDITION_FAILED");
    const states = await user.caller.features.states({ featureId: banner.id });
    expect(states.find((s) => s.environmentId === prod.id)).toMatchObject({ enabled: false, value: "old" });
  });

  it("copy__auditRowFails__wholeCopyRolledBack", async () => {
    // Given a preview of two features
    const user = await signUpUser();
    const { project, dev, prod, banner, search } = await promotable(user);
    const request = { projectId: project.id, sourceEnvironmentId: dev.id, targetEnvironmentId: prod.id, featureIds: [banner.id, search.id] };
    const preview = await user.caller.promotion.preview(request);

    // When the audit row cannot be written
    await failAuditOf("feature_state.copied", () =>
      expectTrpcError(user.caller.promotion.copy({ ...request, sourceRevision: preview.source.revision, targetRevision: preview.target.revision }), "INTERNAL_SERVER_ERROR"),
    );

    // Then neither feature changed in Production, and its revision did not move
    expect((await user.caller.promotion.preview(request)).changed).toBe(2);
    expect(await revisionOf(prod.id)).toBe(preview.target.revision);
  });

  it("promotion__refusals__typedErrorsNeverAnotherOrganisationsData", async () => {
    // Given Alice's project, Bob's own organisation and project, and Carol, a USER member of Alice's organisation
    const alice = await signUpUser();
    const bob = await signUpUser();
    const { project, dev, prod, banner } = await promotable(alice);
    const { project: bobProject, environments: [bobEnvironment] } = await projectWithEnvironments(bob, ["Bob"]);
    const bobFeature = await bob.caller.features.create({ projectId: bobProject.id, name: "bobs" });
    const request = { projectId: project.id, sourceEnvironmentId: dev.id, targetEnvironmentId: prod.id, featureIds: [banner.id] };

    // Then another organisation's member, and ids of another organisation's environment or feature, are NOT_FOUND
    await expectTrpcError(bob.caller.promotion.matrix({ projectId: project.id }), "NOT_FOUND");
    await expectTrpcError(bob.caller.promotion.preview(request), "NOT_FOUND");
    await expectTrpcError(alice.caller.promotion.preview({ ...request, targetEnvironmentId: bobEnvironment.id }), "NOT_FOUND");
    await expectTrpcError(alice.caller.promotion.preview({ ...request, sourceEnvironmentId: bobEnvironment.id }), "NOT_FOUND");
    await expectTrpcError(alice.caller.promotion.preview({ ...request, featureIds: [banner.id, bobFeature.id] }), "NOT_FOUND");
    await expectTrpcError(alice.caller.promotion.copy({ ...request, targetEnvironmentId: bobEnvironment.id, sourceRevision: 1, targetRevision: 1 }), "NOT_FOUND");
    // …and bad input is BAD_REQUEST: the same environment twice, no features, too many, ids out of range
    await expectTrpcError(alice.caller.promotion.preview({ ...request, targetEnvironmentId: dev.id }), "BAD_REQUEST");
    await expectTrpcError(alice.caller.promotion.preview({ ...request, featureIds: [] }), "BAD_REQUEST");
    await expectTrpcError(alice.caller.promotion.preview({ ...request, featureIds: Array.from({ length: 201 }, (_, i) => i + 1) }), "BAD_REQUEST");
    await expectTrpcError(alice.caller.promotion.preview({ ...request, targetEnvironmentId: 2 ** 40 }), "BAD_REQUEST");
    await expectTrpcError(alice.caller.promotion.copy({ ...request, sourceRevision: -1, targetRevision: 1 }), "BAD_REQUEST");
    // …while signed out it is UNAUTHORIZED
    await expectTrpcError(callerFor(null).promotion.matrix({ projectId: project.id }), "UNAUTHORIZED");
  });

  it("copy__userRoleMember__copiesLikeAnyFlagChange", async () => {
    // Given Carol, a USER (not admin) of Alice's organisation
    const alice = await signUpUser();
    const carol = await signUpUser();
    await joinOrganisation(alice, carol, "USER");
    const { project, dev, prod, banner } = await promotable(alice);
    const request = { projectId: project.id, sourceEnvironmentId: dev.id, targetEnvironmentId: prod.id, featureIds: [banner.id] };

    // When she previews and applies a copy
    const preview = await carol.caller.promotion.preview(request);
    const result = await carol.caller.promotion.copy({ ...request, sourceRevision: preview.source.revision, targetRevision: preview.target.revision });

    // Then it is applied and audited as hers
    expect(result.changed).toBe(1);
    const [row] = await getDb()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.organisationId, alice.organisationId), eq(auditLog.action, "feature_state.copied")));
    expect(row).toMatchObject({ actorUserId: carol.userId, featureId: banner.id });
  });
});
