import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sha256 } from "../../../src/server/auth/crypto";
import { principalFromSessionToken, type Principal } from "../../../src/server/auth/principal";
import { getDb } from "../../../src/server/db/client";
import { auditLog, invitations, memberships, users } from "../../../src/server/db/schema";
import { joinOrganisation, callerFor, captureLogs, expectTrpcError, signUpUser, uniqueEmail, type TestUser } from "../support/fixtures";

const invitationAudit = (organisationId: number) =>
  getDb()
    .select({ action: auditLog.action, summary: auditLog.summary, resourceId: auditLog.resourceId, actorUserId: auditLog.actorUserId })
    .from(auditLog)
    .where(and(eq(auditLog.organisationId, organisationId), eq(auditLog.resourceType, "invitation")))
    .orderBy(auditLog.id);

const membershipOf = async (userId: string, organisationId: number) =>
  (await getDb().select({ role: memberships.role }).from(memberships).where(and(eq(memberships.userId, userId), eq(memberships.organisationId, organisationId))))[0];

/** Everything in an answer that does not depend on which invitation it is (ids, token, email, dates). */
function shapeOf(answer: { invitation: Record<string, unknown>; token: string }) {
  const { id: _id, email: _email, createdAt, expiresAt, ...rest } = answer.invitation;
  return {
    keys: Object.keys(answer).sort(),
    invitationKeys: Object.keys(answer.invitation).sort(),
    rest,
    tokenShape: answer.token.replace(/[A-Za-z0-9_-]/g, "x"),
    validForMs: Math.round((new Date(expiresAt as string).getTime() - new Date(createdAt as string).getTime()) / 60_000) * 60_000,
  };
}

const publicCaller = () => callerFor(null);

async function userFor(token: string): Promise<Principal & { kind: "user" }> {
  return (await principalFromSessionToken(token)) as Principal & { kind: "user" };
}

describe("invitations", () => {
  it("create__existingAndUnknownEmail__identicalAnswersAndLogs", async () => {
    // Given an admin, someone with an account elsewhere, and an email nobody has used
    const alice = await signUpUser();
    const bob = await signUpUser();
    const unknown = uniqueEmail("nobody");
    const logs = captureLogs();

    // When the admin invites both
    const existing = await alice.caller.invitations.create({ organisationId: alice.organisationId, email: bob.email, role: "USER" });
    const stranger = await alice.caller.invitations.create({ organisationId: alice.organisationId, email: unknown, role: "USER" });
    logs.stop();

    // Then both answers (and their log lines) have the same shape and values, bar ids, emails, token and dates
    expect(shapeOf(stranger)).toEqual(shapeOf(existing));
    expect(existing.invitation.email).toBe(bob.email);
    const created = logs.events("invitation.created");
    expect(created).toHaveLength(2);
    const strip = (line: Record<string, unknown>) => Object.fromEntries(Object.entries(line).filter(([key]) => !["time", "invitation.id", "span_id", "trace_id"].includes(key)));
    expect(strip(created[1])).toEqual(strip(created[0]));
    // …and no log line carries an email or a token
    const text = JSON.stringify(logs.lines);
    for (const secret of [bob.email, unknown, existing.token, stranger.token]) expect(text).not.toContain(secret);
    // …and only the tokens' hashes are stored
    const rows = await getDb().select({ tokenHash: invitations.tokenHash }).from(invitations).where(eq(invitations.organisationId, alice.organisationId));
    expect(rows.map((r) => r.tokenHash).sort()).toEqual([sha256(existing.token), sha256(stranger.token)].sort());
  });

  it("signUp__unknownEmailWithLink__joinsTheOrganisationOnlyAndIsAudited", async () => {
    // Given an invitation for an email without an account
    const alice = await signUpUser({ organisationName: "Alice Co" });
    const email = uniqueEmail("newcomer");
    const { token, invitation } = await alice.caller.invitations.create({ organisationId: alice.organisationId, email, role: "USER" });

    // When that person looks it up and signs up with the link
    const logs = captureLogs();
    const details = await publicCaller().invitations.lookup({ token });
    const joined = await publicCaller().invitations.signUp({ token, name: "Newcomer", password: "a long password" });
    await expectTrpcError(publicCaller().invitations.lookup({ token }), "NOT_FOUND");
    logs.stop();

    // Then they belong to Alice's organisation (as a user) and to no organisation of their own
    expect(details).toMatchObject({ organisationName: "Alice Co", email, role: "USER" });
    expect(joined.organisationId).toBe(alice.organisationId);
    expect(await membershipOf(joined.userId, alice.organisationId)).toEqual({ role: "USER" });
    expect(await getDb().select().from(memberships).where(eq(memberships.userId, joined.userId))).toHaveLength(1);
    // …the invitation is used and no longer pending, and both steps are audited
    expect(await alice.caller.invitations.list({ organisationId: alice.organisationId })).toEqual([]);
    const audit = await invitationAudit(alice.organisationId);
    expect(audit.map((a) => a.action)).toEqual(["invitation.created", "invitation.accepted"]);
    expect(audit[1]).toMatchObject({ resourceId: String(invitation.id), actorUserId: joined.userId, summary: `${email} joined as a user` });
    // …the log lines name ids only: no token, no email
    expect(logs.events("invitation.accepted")).toEqual([expect.objectContaining({ "invitation.id": invitation.id, "member.id": joined.userId, "organisation.id": alice.organisationId })]);
    expect(logs.events("invitation.refused")).toEqual([expect.objectContaining({ reason: "accepted", "invitation.id": invitation.id })]);
    expect(JSON.stringify(logs.lines)).not.toContain(token);
    expect(JSON.stringify(logs.lines)).not.toContain(email);
    // …and the link cannot be used again
    await expectTrpcError(publicCaller().invitations.signUp({ token, name: "Again", password: "a long password" }), "NOT_FOUND");
  });

  it("accept__existingAccountSignedIn__becomesMemberWithTheInvitedRole", async () => {
    // Given Bob, who has an account, invited as an admin
    const alice = await signUpUser();
    const bob = await signUpUser();
    const { token } = await alice.caller.invitations.create({ organisationId: alice.organisationId, email: bob.email.toUpperCase(), role: "ADMIN" });

    // When he accepts, signed in
    const result = await bob.caller.invitations.accept({ token });

    // Then he is an admin of Alice's organisation (and keeps his own)
    expect(result.organisationId).toBe(alice.organisationId);
    expect((await bob.caller.organisations.list()).map((o) => [o.id, o.role])).toEqual(
      expect.arrayContaining([
        [alice.organisationId, "ADMIN"],
        [bob.organisationId, "ADMIN"],
      ]),
    );
    expect((await invitationAudit(alice.organisationId)).at(-1)).toMatchObject({ action: "invitation.accepted", actorUserId: bob.userId });
  });

  it("accept__expiredInvitation__preconditionFailedAndNothingCreated", async () => {
    // Given an invitation whose seven days are over
    const alice = await signUpUser();
    const bob = await signUpUser();
    const email = uniqueEmail("late");
    const forBob = await alice.caller.invitations.create({ organisationId: alice.organisationId, email: bob.email, role: "USER" });
    const forNewcomer = await alice.caller.invitations.create({ organisationId: alice.organisationId, email, role: "USER" });
    await getDb().update(invitations).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(invitations.organisationId, alice.organisationId));

    // When it is looked up, accepted or used to sign up
    const lookup = await expectTrpcError(publicCaller().invitations.lookup({ token: forBob.token }), "PRECONDITION_FAILED");
    await expectTrpcError(bob.caller.invitations.accept({ token: forBob.token }), "PRECONDITION_FAILED");
    await expectTrpcError(publicCaller().invitations.signUp({ token: forNewcomer.token, name: "Late", password: "a long password" }), "PRECONDITION_FAILED");

    // Then it says it expired, nobody joined, no account was created, and the admin sees it as expired
    expect(lookup.message).toMatch(/expired/);
    expect(await membershipOf(bob.userId, alice.organisationId)).toBeUndefined();
    expect(await getDb().select().from(users).where(eq(users.email, email))).toEqual([]);
    expect((await alice.caller.invitations.list({ organisationId: alice.organisationId })).map((i) => i.expired)).toEqual([true, true]);
  });

  it("revoke__pendingInvitation__linkRefusedAndAudited", async () => {
    // Given a pending invitation for Bob
    const alice = await signUpUser();
    const bob = await signUpUser();
    const { token, invitation } = await alice.caller.invitations.create({ organisationId: alice.organisationId, email: bob.email, role: "USER" });

    // When the admin revokes it
    await alice.caller.invitations.revoke({ organisationId: alice.organisationId, invitationId: invitation.id });

    // Then the link is refused, the invitation is gone from the list, and the revocation is audited
    const refused = await expectTrpcError(bob.caller.invitations.accept({ token }), "NOT_FOUND");
    expect(refused.message).toMatch(/not valid/);
    await expectTrpcError(publicCaller().invitations.lookup({ token }), "NOT_FOUND");
    expect(await membershipOf(bob.userId, alice.organisationId)).toBeUndefined();
    expect(await alice.caller.invitations.list({ organisationId: alice.organisationId })).toEqual([]);
    expect((await invitationAudit(alice.organisationId)).map((a) => a.action)).toEqual(["invitation.created", "invitation.revoked"]);
    // …and it cannot be revoked twice
    await expectTrpcError(alice.caller.invitations.revoke({ organisationId: alice.organisationId, invitationId: invitation.id }), "NOT_FOUND");
  });

  it("accept__signedInAsAnotherEmail__forbiddenAndStillPending", async () => {
    // Given an invitation for Bob, and Carol holding its link
    const alice = await signUpUser();
    const bob = await signUpUser();
    const carol = await signUpUser();
    const { token } = await alice.caller.invitations.create({ organisationId: alice.organisationId, email: bob.email, role: "ADMIN" });

    // When Carol tries to accept it
    const refused = await expectTrpcError(carol.caller.invitations.accept({ token }), "FORBIDDEN");

    // Then she is refused and did not join; Bob still can
    expect(refused.message).toMatch(/another email/);
    expect(await membershipOf(carol.userId, alice.organisationId)).toBeUndefined();
    await bob.caller.invitations.accept({ token });
    expect(await membershipOf(bob.userId, alice.organisationId)).toEqual({ role: "ADMIN" });
  });

  it("create__sameEmailAgain__replacesThePreviousLink", async () => {
    // Given a pending invitation for Bob
    const alice = await signUpUser();
    const bob = await signUpUser();
    const first = await alice.caller.invitations.create({ organisationId: alice.organisationId, email: bob.email, role: "USER" });

    // When Alice invites him again
    const second = await alice.caller.invitations.create({ organisationId: alice.organisationId, email: bob.email, role: "ADMIN" });

    // Then only the new invitation is pending and only its link works
    expect((await alice.caller.invitations.list({ organisationId: alice.organisationId })).map((i) => i.id)).toEqual([second.invitation.id]);
    await expectTrpcError(bob.caller.invitations.accept({ token: first.token }), "NOT_FOUND");
    await bob.caller.invitations.accept({ token: second.token });
    expect(await membershipOf(bob.userId, alice.organisationId)).toEqual({ role: "ADMIN" });
  });

  it("create__alreadyMember__conflict", async () => {
    // Given Bob, already a member
    const alice = await signUpUser();
    const bob = await signUpUser();
    await joinOrganisation(alice, bob);

    // When Alice invites him
    const refused = await expectTrpcError(alice.caller.invitations.create({ organisationId: alice.organisationId, email: bob.email, role: "ADMIN" }), "CONFLICT");

    // Then she is told, and nothing is pending
    expect(refused.message).toMatch(/already a member/);
    expect(await alice.caller.invitations.list({ organisationId: alice.organisationId })).toEqual([]);
  });

  it("invitationCalls__nonAdminOrOutsider__forbiddenOrNotFound", async () => {
    // Given Bob, a user (not an admin) of Alice's organisation, Mallory an outsider, and a pending invitation
    const alice = await signUpUser();
    const bob: TestUser = await signUpUser();
    const mallory = await signUpUser();
    await joinOrganisation(alice, bob, "USER");
    const organisationId = alice.organisationId;
    const { invitation } = await alice.caller.invitations.create({ organisationId, email: uniqueEmail(), role: "USER" });

    // When they try to invite, list or revoke
    await expectTrpcError(bob.caller.invitations.create({ organisationId, email: uniqueEmail(), role: "ADMIN" }), "FORBIDDEN");
    await expectTrpcError(bob.caller.invitations.list({ organisationId }), "FORBIDDEN");
    await expectTrpcError(bob.caller.invitations.revoke({ organisationId, invitationId: invitation.id }), "FORBIDDEN");
    await expectTrpcError(mallory.caller.invitations.create({ organisationId, email: uniqueEmail(), role: "USER" }), "NOT_FOUND");
    await expectTrpcError(mallory.caller.invitations.revoke({ organisationId: mallory.organisationId, invitationId: invitation.id }), "NOT_FOUND");

    // Then nothing changed
    expect((await alice.caller.invitations.list({ organisationId })).map((i) => i.id)).toEqual([invitation.id]);
    expect((await invitationAudit(organisationId)).map((a) => a.action)).toEqual(["invitation.created", "invitation.accepted", "invitation.created"]);
  });

  it("invitationCalls__badInput__typedBadRequestOrNotFound", async () => {
    // Given an admin and a signed-out visitor
    const alice = await signUpUser();
    const organisationId = alice.organisationId;
    const { token } = await alice.caller.invitations.create({ organisationId, email: uniqueEmail(), role: "USER" });

    // When the inputs are malformed, or the token unknown
    const badEmail = await expectTrpcError(alice.caller.invitations.create({ organisationId, email: "not-an-email", role: "USER" }), "BAD_REQUEST");
    await expectTrpcError(alice.caller.invitations.create({ organisationId, email: `${"x".repeat(400)}@example.com`, role: "USER" }), "BAD_REQUEST");
    await expectTrpcError(alice.caller.invitations.create({ organisationId, email: uniqueEmail(), role: "OWNER" as never }), "BAD_REQUEST");
    await expectTrpcError(alice.caller.invitations.revoke({ organisationId, invitationId: -1 }), "BAD_REQUEST");
    await expectTrpcError(alice.caller.invitations.revoke({ organisationId, invitationId: 2 ** 40 }), "BAD_REQUEST");
    await expectTrpcError(publicCaller().invitations.lookup({ token: "" }), "BAD_REQUEST");
    await expectTrpcError(publicCaller().invitations.lookup({ token: "x".repeat(10_000) }), "BAD_REQUEST");
    await expectTrpcError(publicCaller().invitations.lookup({ token: 42 as never }), "BAD_REQUEST");
    await expectTrpcError(publicCaller().invitations.signUp({ token, name: "Short", password: "short" }), "BAD_REQUEST");
    await expectTrpcError(publicCaller().invitations.signUp({ token, name: " ", password: "a long password" }), "BAD_REQUEST");
    await expectTrpcError(publicCaller().invitations.lookup({ token: "fp_inv_not-a-real-token" }), "NOT_FOUND");
    await expectTrpcError(publicCaller().invitations.accept({ token }), "UNAUTHORIZED");

    // Then each is a typed error naming the field, and the invitation is still pending
    expect(badEmail.message).toMatch(/valid email/);
    expect(await alice.caller.invitations.list({ organisationId })).toHaveLength(1);
  });

  it("signUp__invitedEmailAlreadyHasAccount__conflictAndStillPending", async () => {
    // Given an invitation for Bob, who has an account, opened signed out
    const alice = await signUpUser();
    const bob = await signUpUser();
    const { token } = await alice.caller.invitations.create({ organisationId: alice.organisationId, email: bob.email, role: "USER" });

    // When someone tries to create an account with it
    await expectTrpcError(publicCaller().invitations.signUp({ token, name: "Bob again", password: "a long password" }), "CONFLICT");

    // Then nothing was created, and Bob signing in can still accept it
    expect(await membershipOf(bob.userId, alice.organisationId)).toBeUndefined();
    const principal = await userFor(bob.token);
    await callerFor(principal).invitations.accept({ token });
    expect(await membershipOf(bob.userId, alice.organisationId)).toEqual({ role: "USER" });
  });
});
