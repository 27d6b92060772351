import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { auditLog } from "../../../src/server/db/schema";
import { joinOrganisation, apiKeyCaller, expectTrpcError, projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";

async function orgWith(role: "ADMIN" | "USER") {
  const alice = await signUpUser();
  const bob = await signUpUser();
  await joinOrganisation(alice, bob, role);
  return { alice, bob, organisationId: alice.organisationId };
}

const rolesOf = async (user: TestUser, organisationId: number) =>
  Object.fromEntries((await user.caller.organisations.members({ organisationId })).map((m) => [m.email, m.role]));

const membershipAudit = (organisationId: number) =>
  getDb()
    .select({ action: auditLog.action, summary: auditLog.summary, before: auditLog.before, after: auditLog.after, actorUserId: auditLog.actorUserId })
    .from(auditLog)
    .where(and(eq(auditLog.organisationId, organisationId), eq(auditLog.resourceType, "membership")))
    .orderBy(auditLog.id);

describe("organisation members", () => {
  it("updateMember__adminPromotesAndDemotes__roleTakesEffectAndIsAudited", async () => {
    // Given Bob, a USER in Alice's organisation, who cannot delete a project
    const { alice, bob, organisationId } = await orgWith("USER");
    const { project } = await projectWithEnvironments(alice, []);
    await expectTrpcError(bob.caller.projects.delete({ projectId: project.id }), "FORBIDDEN");

    // When Alice makes him an admin
    await alice.caller.organisations.updateMember({ organisationId, userId: bob.userId, role: "ADMIN" });

    // Then he is one at once, and the change is audited with before and after
    expect((await rolesOf(alice, organisationId))[bob.email]).toBe("ADMIN");
    const audit = await membershipAudit(organisationId);
    expect(audit.at(-1)).toMatchObject({ action: "membership.updated", before: { role: "USER" }, after: { role: "ADMIN" }, actorUserId: alice.userId });
    expect(audit.at(-1)?.summary).toBe(`${bob.email} is now an admin`);
    await bob.caller.projects.delete({ projectId: project.id });

    // …and when she makes him a user again, admin calls are refused again
    await alice.caller.organisations.updateMember({ organisationId, userId: bob.userId, role: "USER" });
    await expectTrpcError(bob.caller.organisations.apiKeys({ organisationId }), "FORBIDDEN");
  });

  it("updateMember__sameRole__noAuditRow", async () => {
    // Given Bob, a USER
    const { alice, bob, organisationId } = await orgWith("USER");
    const before = (await membershipAudit(organisationId)).length;

    // When he is "changed" to USER
    await alice.caller.organisations.updateMember({ organisationId, userId: bob.userId, role: "USER" });

    // Then nothing is recorded
    expect((await membershipAudit(organisationId)).length).toBe(before);
  });

  it("lastAdmin__demoteOrRemoveOrLeave__preconditionFailedAndNothingChanges", async () => {
    // Given Alice, the only admin, and Bob, a user
    const { alice, bob, organisationId } = await orgWith("USER");
    const before = await membershipAudit(organisationId);

    // When she tries to demote herself, remove herself, or leave
    const demote = await expectTrpcError(alice.caller.organisations.updateMember({ organisationId, userId: alice.userId, role: "USER" }), "PRECONDITION_FAILED");
    await expectTrpcError(alice.caller.organisations.removeMember({ organisationId, userId: alice.userId }), "PRECONDITION_FAILED");

    // Then each is refused with the reason, and nothing changed
    expect(demote.message).toMatch(/at least one admin/);
    expect(await rolesOf(alice, organisationId)).toEqual({ [alice.email]: "ADMIN", [bob.email]: "USER" });
    expect(await membershipAudit(organisationId)).toEqual(before);
  });

  it("twoAdmins__demoteEachOtherAtOnce__exactlyOneSucceeds", async () => {
    // Given two admins
    const { alice, bob, organisationId } = await orgWith("ADMIN");

    // When each demotes the other at the same moment
    const results = await Promise.allSettled([
      alice.caller.organisations.updateMember({ organisationId, userId: bob.userId, role: "USER" }),
      bob.caller.organisations.updateMember({ organisationId, userId: alice.userId, role: "USER" }),
    ]);

    // Then one wins and the organisation keeps exactly one admin
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect((rejected.reason as { code: string }).code).toMatch(/PRECONDITION_FAILED|FORBIDDEN/);
    const roles = Object.values(await rolesOf(alice, organisationId));
    expect(roles.filter((r) => r === "ADMIN")).toHaveLength(1);
  });

  it("removeMember__adminRemovesUser__accessEndsAtOnceAndAudited", async () => {
    // Given Bob, a USER who can read a project
    const { alice, bob, organisationId } = await orgWith("USER");
    const { project } = await projectWithEnvironments(alice, []);
    await bob.caller.projects.get({ projectId: project.id });

    // When Alice removes him
    await alice.caller.organisations.removeMember({ organisationId, userId: bob.userId });

    // Then his session no longer reaches anything of the organisation, and the removal is audited
    await expectTrpcError(bob.caller.projects.get({ projectId: project.id }), "NOT_FOUND");
    await expectTrpcError(bob.caller.organisations.members({ organisationId }), "NOT_FOUND");
    expect((await bob.caller.organisations.list()).map((o) => o.id)).not.toContain(organisationId);
    expect((await membershipAudit(organisationId)).at(-1)).toMatchObject({ action: "membership.deleted", summary: `${bob.email} removed`, before: { role: "USER" } });
  });

  it("removeMember__userLeaves__allowedForSelfButNotForOthers", async () => {
    // Given Bob and Carol, both USERs in Alice's organisation
    const { alice, bob, organisationId } = await orgWith("USER");
    const carol = await signUpUser();
    await joinOrganisation(alice, carol, "USER");

    // When Bob tries to remove Carol, and then leaves himself
    await expectTrpcError(bob.caller.organisations.removeMember({ organisationId, userId: carol.userId }), "FORBIDDEN");
    await bob.caller.organisations.removeMember({ organisationId, userId: bob.userId });

    // Then Carol is still there and Bob is not, recorded as leaving
    expect(Object.keys(await rolesOf(alice, organisationId)).sort()).toEqual([alice.email, carol.email].sort());
    expect((await membershipAudit(organisationId)).at(-1)).toMatchObject({ action: "membership.deleted", summary: `${bob.email} left the organisation` });
  });

  it("memberCalls__unknownOrForeignOrMalformed__typedErrorsNothingChanges", async () => {
    // Given two organisations
    const { alice, bob, organisationId } = await orgWith("USER");
    const mallory = await signUpUser();
    const before = await membershipAudit(organisationId);

    // When an outsider, an unknown member id, a malformed id and an API key act on them
    await expectTrpcError(mallory.caller.organisations.removeMember({ organisationId, userId: bob.userId }), "NOT_FOUND");
    await expectTrpcError(alice.caller.organisations.updateMember({ organisationId, userId: mallory.userId, role: "ADMIN" }), "NOT_FOUND");
    await expectTrpcError(alice.caller.organisations.removeMember({ organisationId, userId: "not-a-uuid" }), "BAD_REQUEST");
    await expectTrpcError(alice.caller.organisations.updateMember({ organisationId, userId: bob.userId, role: "OWNER" as never }), "BAD_REQUEST");
    const { caller: script } = await apiKeyCaller(alice);
    await script.organisations.updateMember({ organisationId, userId: bob.userId, role: "ADMIN" });

    // Then only the API key's change happened
    expect((await rolesOf(alice, organisationId))[bob.email]).toBe("ADMIN");
    expect((await membershipAudit(organisationId)).length).toBe(before.length + 1);
  });
});
