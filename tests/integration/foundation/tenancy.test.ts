import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { auditLog, environments, projects } from "../../../src/server/db/schema";
import { resolvePrincipal } from "../../../src/server/auth/principal";
import { joinOrganisation, apiKeyCaller, callerFor, expectTrpcError, projectWithEnvironments, signUpUser } from "../support/fixtures";

async function auditCount(organisationId: number): Promise<number> {
  return (await getDb().select().from(auditLog).where(eq(auditLog.organisationId, organisationId))).length;
}

describe("authorisation", () => {
  it("unauthenticatedCaller__anyProtectedProcedure__unauthorizedAndNothingChanges", async () => {
    // Given an existing project
    const owner = await signUpUser();
    const { project } = await projectWithEnvironments(owner, []);
    const anonymous = callerFor(null);

    // When an anonymous caller tries to read and write
    await expectTrpcError(anonymous.projects.list({ organisationId: owner.organisationId }), "UNAUTHORIZED");
    await expectTrpcError(anonymous.projects.update({ projectId: project.id, name: "pwned" }), "UNAUTHORIZED");

    // Then nothing changed
    const [row] = await getDb().select().from(projects).where(eq(projects.id, project.id));
    expect(row.name).toBe(project.name);
  });

  it("userOfOtherOrganisation__idsOfForeignOrganisation__notFoundAndNothingChanges", async () => {
    // Given Alice's project and environment, and Bob in another organisation
    const alice = await signUpUser();
    const bob = await signUpUser();
    const { project, environments: [env] } = await projectWithEnvironments(alice, ["Production"]);
    const before = await auditCount(alice.organisationId);

    // When Bob uses Alice's ids in reads and writes
    await expectTrpcError(bob.caller.projects.get({ projectId: project.id }), "NOT_FOUND");
    await expectTrpcError(bob.caller.projects.list({ organisationId: alice.organisationId }), "NOT_FOUND");
    await expectTrpcError(bob.caller.environments.get({ environmentId: env.id }), "NOT_FOUND");
    await expectTrpcError(bob.caller.environments.update({ environmentId: env.id, name: "mine" }), "NOT_FOUND");
    await expectTrpcError(bob.caller.environments.createServerKey({ environmentId: env.id, name: "steal" }), "NOT_FOUND");
    await expectTrpcError(bob.caller.environments.delete({ environmentId: env.id }), "NOT_FOUND");
    await expectTrpcError(bob.caller.projects.delete({ projectId: project.id }), "NOT_FOUND");
    await expectTrpcError(bob.caller.environments.create({ projectId: project.id, name: "x" }), "NOT_FOUND");
    // …including mixing his own organisation id with Alice's project (an extra input key is still scope-checked)
    const mixed = { projectId: project.id, name: "x", organisationId: bob.organisationId } as { projectId: number; name: string };
    await expectTrpcError(bob.caller.projects.update(mixed), "NOT_FOUND");

    // Then Alice's data and audit log are untouched, and a nonexistent id looks the same
    const [row] = await getDb().select().from(environments).where(eq(environments.id, env.id));
    expect(row.name).toBe("Production");
    expect(await alice.caller.environments.serverKeys({ environmentId: env.id })).toEqual([]);
    expect(await auditCount(alice.organisationId)).toBe(before);
    await expectTrpcError(bob.caller.projects.get({ projectId: 987654 }), "NOT_FOUND");
  });

  it("mismatchedIds__serverKeyOfAnotherEnvironment__notFoundAndKeyStaysActive", async () => {
    // Given two environments of the same user, with a server key in the second
    const user = await signUpUser();
    const { environments: [first, second] } = await projectWithEnvironments(user, ["A", "B"]);
    const key = await user.caller.environments.createServerKey({ environmentId: second.id, name: "b-key" });

    // When an input pairs the first environment with the second's key
    const call = user.caller.environments.revokeServerKey({ environmentId: first.id, serverKeyId: key.id });

    // Then the call is refused and the key still works
    await expectTrpcError(call, "NOT_FOUND");
    expect((await user.caller.environments.serverKeys({ environmentId: second.id })).map((k) => k.id)).toEqual([key.id]);
  });

  it("organisationApiKey__scriptsAuthenticateAndRevocationEndsAccess", async () => {
    // Given an API key of Alice's organisation
    const alice = await signUpUser();
    const { key, caller } = await apiKeyCaller(alice);

    // When a script uses it
    const project = await caller.projects.create({ organisationId: alice.organisationId, name: "Scripted" });

    // Then it works within its organisation, and the audit row names the key
    expect(project.organisationId).toBe(alice.organisationId);
    const rows = await getDb().select().from(auditLog).where(eq(auditLog.projectId, project.id));
    expect(rows[0].actorApiKeyId).not.toBeNull();
    expect(rows[0].actorUserId).toBeNull();

    // And once revoked, the header is refused rather than ignored
    const [listed] = await alice.caller.organisations.apiKeys({ organisationId: alice.organisationId });
    await alice.caller.organisations.revokeApiKey({ organisationId: alice.organisationId, apiKeyId: listed.id });
    const resolved = await resolvePrincipal(new Headers({ authorization: `Api-Key ${key}` }));
    expect(resolved).toEqual({ principal: null, invalidApiKey: true });
  });

  it("organisationApiKey__otherOrganisationIds__notFound", async () => {
    // Given an API key of Alice's organisation and Bob's project
    const alice = await signUpUser();
    const bob = await signUpUser();
    const { project } = await projectWithEnvironments(bob, []);
    const { caller } = await apiKeyCaller(alice);

    // When the key addresses Bob's project
    // Then it is not found
    await expectTrpcError(caller.projects.get({ projectId: project.id }), "NOT_FOUND");
    await expectTrpcError(caller.environments.create({ projectId: project.id, name: "x" }), "NOT_FOUND");
  });

  it("outOfRangeIds__scopeAndEntityIds__notFoundOrBadRequestNever500", async () => {
    // Given a user, and ids beyond PostgreSQL's integer range (no row can have them)
    const user = await signUpUser();
    const big = 2 ** 40;

    // When procedures are called with them, as scope ids and as entity ids
    // Then each is a typed client error, never an internal error
    await expectTrpcError(user.caller.projects.list({ organisationId: big }), "NOT_FOUND");
    await expectTrpcError(user.caller.projects.get({ projectId: big }), "NOT_FOUND");
    await expectTrpcError(user.caller.environments.get({ environmentId: big }), "NOT_FOUND");
    await expectTrpcError(user.caller.features.get({ featureId: big }), "NOT_FOUND");
    await expectTrpcError(user.caller.identities.get({ identityId: big }), "NOT_FOUND");
    await expectTrpcError(user.caller.organisations.revokeApiKey({ organisationId: user.organisationId, apiKeyId: big }), "BAD_REQUEST");
  });

  it("memberWithUserRole__adminOnlyMutation__forbidden", async () => {
    // Given Bob added to Alice's organisation as USER
    const alice = await signUpUser();
    const bob = await signUpUser();
    await joinOrganisation(alice, bob, "USER");
    const { project } = await projectWithEnvironments(alice, []);

    // When Bob reads and then tries to delete the project
    const seen = await bob.caller.projects.get({ projectId: project.id });
    await expectTrpcError(bob.caller.projects.delete({ projectId: project.id }), "FORBIDDEN");

    // Then he can see it but it still exists
    expect(seen.id).toBe(project.id);
    expect(await alice.caller.projects.get({ projectId: project.id })).toMatchObject({ id: project.id });
  });
});
