import { and, asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { auditLog, environmentApiKeys, environments } from "../../../src/server/db/schema";
import { sha256 } from "../../../src/server/auth/crypto";
import { expectTrpcError, projectWithEnvironments, signUpUser } from "../support/fixtures";

describe("projects", () => {
  it("projectLifecycle__createListRenameDelete__auditedEachStep", async () => {
    // Given a user
    const user = await signUpUser();

    // When they create, rename and delete a project
    const project = await user.caller.projects.create({ organisationId: user.organisationId, name: "Checkout" });
    const listed = await user.caller.projects.list({ organisationId: user.organisationId });
    const renamed = await user.caller.projects.update({ projectId: project.id, name: "Checkout v2" });
    await user.caller.projects.delete({ projectId: project.id });

    // Then each step took effect and was audited (the project came with its default environments)
    expect(listed.map((p) => p.name)).toEqual(["Checkout"]);
    expect(renamed.name).toBe("Checkout v2");
    await expectTrpcError(user.caller.projects.get({ projectId: project.id }), "NOT_FOUND");
    const actions = (await getDb().select().from(auditLog).where(eq(auditLog.projectId, project.id)).orderBy(asc(auditLog.id))).map((r) => r.action);
    expect(actions).toEqual(["project.created", "environment.created", "environment.created", "project.updated", "project.deleted"]);
  });

  it("createProject__duplicateNameAnyCaseOrBlank__fieldErrorAndNothingWritten", async () => {
    // Given a project named "Web"
    const user = await signUpUser();
    await user.caller.projects.create({ organisationId: user.organisationId, name: "Web" });

    // When creating "web" again, or a blank name
    // (each awaited before the next starts: a rejection nobody awaits yet is an unhandled rejection)
    const duplicate = await expectTrpcError(user.caller.projects.create({ organisationId: user.organisationId, name: "web" }), "CONFLICT");
    await expectTrpcError(user.caller.projects.create({ organisationId: user.organisationId, name: "   " }), "BAD_REQUEST");

    // Then both are typed errors and only one project exists
    expect(duplicate.message).toBe("A project with this name already exists");
    expect(await user.caller.projects.list({ organisationId: user.organisationId })).toHaveLength(1);
  });
});

describe("environments and keys", () => {
  it("createEnvironment__newEnvironment__clientKeyGeneratedAndCreationFlagCleared", async () => {
    // Given a project
    const user = await signUpUser();

    // When two environments are created
    const { environments: [dev, prod] } = await projectWithEnvironments(user, ["Development", "Production"]);

    // Then each has its own 22-character client key and is no longer marked as being created
    expect(dev.apiKey).toMatch(/^[A-Za-z0-9]{22}$/);
    expect(prod.apiKey).not.toBe(dev.apiKey);
    const [row] = await getDb().select().from(environments).where(eq(environments.id, dev.id));
    expect(row.isCreating).toBe(false);
  });

  it("serverKeys__createListRevoke__secretShownOnceStoredHashed", async () => {
    // Given an environment
    const user = await signUpUser();
    const { environments: [env] } = await projectWithEnvironments(user, ["Production"]);

    // When a server key is created, listed and revoked
    const created = await user.caller.environments.createServerKey({ environmentId: env.id, name: "backend" });
    const listed = await user.caller.environments.serverKeys({ environmentId: env.id });
    const [stored] = await getDb().select().from(environmentApiKeys).where(eq(environmentApiKeys.id, created.id));
    await user.caller.environments.revokeServerKey({ environmentId: env.id, serverKeyId: created.id });

    // Then the key has the ser. prefix, only its hash and prefix are stored and listed, and revocation hides it
    expect(created.key).toMatch(/^ser\.[A-Za-z0-9_-]{20,}$/);
    expect(stored.keyHash).toBe(sha256(created.key));
    expect(JSON.stringify(stored)).not.toContain(created.key);
    expect(listed).toEqual([expect.objectContaining({ id: created.id, prefix: created.key.slice(0, 10) })]);
    expect(JSON.stringify(listed)).not.toContain(created.key);
    expect(await user.caller.environments.serverKeys({ environmentId: env.id })).toEqual([]);
    const [revoked] = await getDb().select().from(environmentApiKeys).where(and(eq(environmentApiKeys.id, created.id)));
    expect(revoked.active).toBe(false);
  });

  it("environmentLifecycle__renameDuplicateAndDelete__conflictThenGone", async () => {
    // Given two environments
    const user = await signUpUser();
    const { environments: [dev, prod] } = await projectWithEnvironments(user, ["Development", "Production"]);

    // When renaming one to the other's name (any case), then deleting one
    await expectTrpcError(user.caller.environments.update({ environmentId: dev.id, name: "PRODUCTION" }), "CONFLICT");
    await user.caller.environments.delete({ environmentId: prod.id });

    // Then the rename changed nothing and the deleted environment is gone
    expect((await user.caller.environments.get({ environmentId: dev.id })).name).toBe("Development");
    await expectTrpcError(user.caller.environments.get({ environmentId: prod.id }), "NOT_FOUND");
  });
});
