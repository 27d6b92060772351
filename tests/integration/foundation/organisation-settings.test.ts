import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { auditLog, environments, organisations } from "../../../src/server/db/schema";
import { joinOrganisation, expectTrpcError, projectWithEnvironments, signUpUser } from "../support/fixtures";

const revisions = async (ids: number[]) =>
  Object.fromEntries((await getDb().select({ id: environments.id, revision: environments.revision }).from(environments).where(inArray(environments.id, ids))).map((r) => [r.id, r.revision]));

const organisationAudit = (organisationId: number) =>
  getDb()
    .select({ summary: auditLog.summary, before: auditLog.before, after: auditLog.after })
    .from(auditLog)
    .where(and(eq(auditLog.organisationId, organisationId), eq(auditLog.action, "organisation.updated")))
    .orderBy(auditLog.id);

describe("organisation settings", () => {
  it("update__renameAndServingSettings__storedAuditedAndEveryDocumentOfTheOrganisationRewritten", async () => {
    // Given an organisation with two projects, and another organisation
    const alice = await signUpUser({ organisationName: "Before" });
    const one = await projectWithEnvironments(alice, ["A", "B"]);
    const two = await projectWithEnvironments(alice, ["C"]);
    const other = await projectWithEnvironments(await signUpUser(), ["D"]);
    const ids = [...one.environments, ...two.environments, ...other.environments].map((e) => e.id);
    const before = await revisions(ids);

    // When Alice renames it and stops serving flags without persisting traits
    await alice.caller.organisations.update({ organisationId: alice.organisationId, name: "After" });
    const updated = await alice.caller.organisations.update({ organisationId: alice.organisationId, stopServingFlags: true, persistTraitData: false });

    // Then the row holds the new values, each change is audited with before/after
    expect(updated).toMatchObject({ name: "After", stopServingFlags: true, persistTraitData: false });
    const [row] = await getDb().select().from(organisations).where(eq(organisations.id, alice.organisationId));
    expect(row).toMatchObject({ name: "After", stopServingFlags: true, persistTraitData: false });
    expect(await organisationAudit(alice.organisationId)).toEqual([
      { summary: 'Organisation "Before" renamed to "After"', before: { name: "Before" }, after: { name: "After" } },
      { summary: "Organisation settings updated (persistTraitData, stopServingFlags)", before: { persistTraitData: true, stopServingFlags: false }, after: { persistTraitData: false, stopServingFlags: true } },
    ]);
    // …and every environment of every project of the organisation (only those) gets a new revision per change
    const after = await revisions(ids);
    for (const env of [...one.environments, ...two.environments]) expect(after[env.id]).toBe(before[env.id] + 2);
    expect(after[other.environments[0].id]).toBe(before[other.environments[0].id]);
  });

  it("update__noRealChange__nothingAuditedNoDocumentWrites", async () => {
    // Given an organisation with an environment
    const alice = await signUpUser({ organisationName: "Same" });
    const { environments: [env] } = await projectWithEnvironments(alice, ["A"]);
    const before = await revisions([env.id]);

    // When it is "updated" to what it already is, or with nothing at all
    await alice.caller.organisations.update({ organisationId: alice.organisationId, name: "Same", stopServingFlags: false });
    await alice.caller.organisations.update({ organisationId: alice.organisationId });

    // Then no audit row and no new revision
    expect(await organisationAudit(alice.organisationId)).toEqual([]);
    expect(await revisions([env.id])).toEqual(before);
  });

  it("update__userOutsiderOrBlankName__typedErrorAndNothingChanges", async () => {
    // Given Alice's organisation with Bob as a USER, and Mallory outside it
    const alice = await signUpUser({ organisationName: "Kept" });
    const bob = await signUpUser();
    await joinOrganisation(alice, bob, "USER");
    const mallory = await signUpUser();

    // When each tries to change it
    await expectTrpcError(bob.caller.organisations.update({ organisationId: alice.organisationId, stopServingFlags: true }), "FORBIDDEN");
    await expectTrpcError(mallory.caller.organisations.update({ organisationId: alice.organisationId, name: "Owned" }), "NOT_FOUND");
    await expectTrpcError(alice.caller.organisations.update({ organisationId: alice.organisationId, name: "   " }), "BAD_REQUEST");

    // Then nothing changed
    const [row] = await getDb().select().from(organisations).where(eq(organisations.id, alice.organisationId));
    expect(row).toMatchObject({ name: "Kept", stopServingFlags: false });
    expect(await organisationAudit(alice.organisationId)).toEqual([]);
  });

  it("auditList__wholeOrganisation__organisationAndProjectRowsWithCurrentNamesOutsidersRefused", async () => {
    // Given an organisation with a member who joined by invitation, a renamed setting and a project with a feature
    const alice = await signUpUser({ organisationName: "Audited" });
    const bob = await signUpUser();
    await joinOrganisation(alice, bob, "USER");
    await alice.caller.organisations.update({ organisationId: alice.organisationId, persistTraitData: false });
    const { project, environments: [env] } = await projectWithEnvironments(alice, ["Live"]);
    const feature = await alice.caller.features.create({ projectId: project.id, name: "audited_flag" });
    await alice.caller.features.updateState({ featureId: feature.id, environmentId: env.id, enabled: true });

    // When the organisation's log is read (also filtered to members)
    const all = await alice.caller.audit.list({ organisationId: alice.organisationId, limit: 100 });
    const members = await alice.caller.audit.list({ organisationId: alice.organisationId, action: "invitation.", limit: 100 });

    // Then it holds organisation-level and project rows, with the names of their project and environment
    const actions = all.items.map((item) => item.action);
    expect(actions).toEqual(expect.arrayContaining(["invitation.accepted", "organisation.updated", "project.created", "feature.created", "feature_state.updated"]));
    expect(all.items.find((item) => item.action === "invitation.accepted")).toMatchObject({ projectId: null, projectName: null, environmentName: null });
    expect(all.items.find((item) => item.action === "feature_state.updated")).toMatchObject({ projectName: project.name, environmentName: "Live" });
    expect(members.items.map((item) => item.action)).toEqual(["invitation.accepted", "invitation.created"]);
    // …a member can read it, an outsider cannot
    expect((await bob.caller.audit.list({ organisationId: alice.organisationId, limit: 5 })).items.length).toBe(5);
    await expectTrpcError((await signUpUser()).caller.audit.list({ organisationId: alice.organisationId, limit: 5 }), "NOT_FOUND");
  });
});
