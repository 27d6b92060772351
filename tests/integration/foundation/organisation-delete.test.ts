import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { auditLog, environmentApiKeys, environments, memberships, organisationApiKeys, organisations, projects } from "../../../src/server/db/schema";
import { joinOrganisation, apiKeyCaller, captureLogs, expectTrpcError, projectWithEnvironments, signUpUser } from "../support/fixtures";

/** Rows that belong to an organisation, by table. */
async function footprint(organisationId: number, environmentIds: number[]) {
  const db = getDb();
  const count = async (rows: Promise<unknown[]>) => (await rows).length;
  return {
    organisations: await count(db.select().from(organisations).where(eq(organisations.id, organisationId))),
    projects: await count(db.select().from(projects).where(eq(projects.organisationId, organisationId))),
    environments: await count(db.select().from(environments).where(inArray(environments.id, environmentIds))),
    serverKeys: await count(db.select().from(environmentApiKeys).where(inArray(environmentApiKeys.environmentId, environmentIds))),
    memberships: await count(db.select().from(memberships).where(eq(memberships.organisationId, organisationId))),
    apiKeys: await count(db.select().from(organisationApiKeys).where(eq(organisationApiKeys.organisationId, organisationId))),
    auditRows: await count(db.select().from(auditLog).where(eq(auditLog.organisationId, organisationId))),
  };
}

async function populatedOrganisation() {
  const alice = await signUpUser({ organisationName: `Doomed ${Date.now()}` });
  const bob = await signUpUser();
  await joinOrganisation(alice, bob, "USER");
  const { environments: created } = await projectWithEnvironments(alice, ["Development", "Production"]);
  await alice.caller.environments.createServerKey({ environmentId: created[1].id, name: "backend" });
  const apiKey = await apiKeyCaller(alice);
  const [{ name }] = await getDb().select({ name: organisations.name }).from(organisations).where(eq(organisations.id, alice.organisationId));
  return { alice, bob, apiKey, name, environmentIds: created.map((e) => e.id) };
}

describe("organisations.delete", () => {
  it("delete__adminConfirmsWithName__everythingInItGoneOthersUntouchedAndLogged", async () => {
    // Given an organisation with a member, a project, environments, keys and audit rows, and Bob's own organisation
    const { alice, bob, name, environmentIds } = await populatedOrganisation();
    const before = await footprint(alice.organisationId, environmentIds);
    expect(before).toMatchObject({ organisations: 1, projects: 1, environments: 2, serverKeys: 1, memberships: 2, apiKeys: 1 });
    expect(before.auditRows).toBeGreaterThan(0);
    const capture = captureLogs();

    // When Alice deletes it, typing its name
    const result = await alice.caller.organisations.delete({ organisationId: alice.organisationId, confirmName: ` ${name} ` });
    capture.stop();

    // Then every row of it is gone, Bob keeps only his own organisation, and the deletion is a log event
    expect(result).toEqual({ name, projects: 1 });
    expect(await footprint(alice.organisationId, environmentIds)).toEqual({ organisations: 0, projects: 0, environments: 0, serverKeys: 0, memberships: 0, apiKeys: 0, auditRows: 0 });
    expect((await bob.caller.organisations.list()).map((o) => o.id)).toEqual([bob.organisationId]);
    expect(await alice.caller.organisations.list()).toEqual([]);
    expect(capture.events("organisation.deleted")).toEqual([expect.objectContaining({ "organisation.id": alice.organisationId, "projects.count": 1, "user.id": alice.userId })]);
  });

  it("delete__wrongOrMissingConfirmation__badRequestOnTheFieldAndNothingDeleted", async () => {
    // Given a populated organisation
    const { alice, name, environmentIds } = await populatedOrganisation();
    const before = await footprint(alice.organisationId, environmentIds);

    // When Alice confirms with another name, a different case, or nothing
    const wrong = await expectTrpcError(alice.caller.organisations.delete({ organisationId: alice.organisationId, confirmName: "Something else" }), "BAD_REQUEST");
    await expectTrpcError(alice.caller.organisations.delete({ organisationId: alice.organisationId, confirmName: name.toUpperCase() }), "BAD_REQUEST");
    await expectTrpcError(alice.caller.organisations.delete({ organisationId: alice.organisationId, confirmName: "" }), "BAD_REQUEST");

    // Then each is refused with the reason and nothing is gone
    expect(wrong.message).toMatch(/name exactly/);
    expect(await footprint(alice.organisationId, environmentIds)).toEqual(before);
  });

  it("delete__userMemberApiKeyOrOutsider__refusedAndNothingDeleted", async () => {
    // Given a populated organisation, its USER member Bob, its API key, and Carol from elsewhere
    const { alice, bob, apiKey, name, environmentIds } = await populatedOrganisation();
    const carol = await signUpUser();
    const before = await footprint(alice.organisationId, environmentIds);
    const input = { organisationId: alice.organisationId, confirmName: name };

    // When each of them tries to delete it with the right name
    await expectTrpcError(bob.caller.organisations.delete(input), "FORBIDDEN");
    await expectTrpcError(apiKey.caller.organisations.delete(input), "FORBIDDEN");
    await expectTrpcError(carol.caller.organisations.delete(input), "NOT_FOUND");

    // Then nothing is gone
    expect(await footprint(alice.organisationId, environmentIds)).toEqual(before);
  });
});
