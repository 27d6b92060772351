import { inject } from "vitest";
// The system's database: its worker publishes the new environments' documents.
process.env.DATABASE_URL = inject("systemDatabaseUrl");

import { asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { getDb } from "../../../src/server/db/client";
import { auditLog, environments } from "../../../src/server/db/schema";
import { waitForDocuments } from "../support/documents";
import { signUpUser } from "../support/fixtures";

resetSettingsForTests();

async function auditRows(projectId: number) {
  return getDb().select().from(auditLog).where(eq(auditLog.projectId, projectId)).orderBy(asc(auditLog.id));
}

describe("default environments", () => {
  it("createProject__default__developmentAndProtectedProductionAuditedAndPublished", async () => {
    // Given a user
    const user = await signUpUser();

    // When they create a project without saying anything about environments
    const project = await user.caller.projects.create({ organisationId: user.organisationId, name: "Shop" });

    // Then it has Development and Production (protected), each with its own key, audited with the project and published
    const listed = await user.caller.environments.list({ projectId: project.id });
    expect(listed.map((env) => [env.name, env.isProtected, env.isCreating])).toEqual([
      ["Development", false, false],
      ["Production", true, false],
    ]);
    expect(listed[0].apiKey).not.toBe(listed[1].apiKey);
    const rows = await auditRows(project.id);
    expect(rows.map((row) => [row.action, row.summary])).toEqual([
      ["project.created", 'Project "Shop" created'],
      ["environment.created", 'Environment "Development" created'],
      ["environment.created", 'Environment "Production" created (protected)'],
    ]);
    await waitForDocuments(listed.map((env) => env.id));
  });

  it("createProject__defaultEnvironmentsFalse__projectAlone", async () => {
    // Given a user (a script that brings its own environments)
    const user = await signUpUser();

    // When a project is created with defaultEnvironments: false
    const project = await user.caller.projects.create({ organisationId: user.organisationId, name: "Bare", defaultEnvironments: false });

    // Then it has no environment and only its own audit row
    expect(await user.caller.environments.list({ projectId: project.id })).toEqual([]);
    expect((await auditRows(project.id)).map((row) => row.action)).toEqual(["project.created"]);
  });

  it("defaultEnvironments__renamedUnprotectedAndDeleted__likeAnyEnvironment", async () => {
    // Given a new project's default environments
    const user = await signUpUser();
    const project = await user.caller.projects.create({ organisationId: user.organisationId, name: "Plain" });
    const [development, production] = await user.caller.environments.list({ projectId: project.id });
    await waitForDocuments([development.id, production.id]);
    const [before] = await getDb().select().from(environments).where(eq(environments.id, production.id));

    // When Production is renamed and unprotected, and Development deleted
    await user.caller.environments.update({ environmentId: production.id, name: "Live" });
    const [afterRename] = await getDb().select().from(environments).where(eq(environments.id, production.id));
    const unprotected = await user.caller.environments.update({ environmentId: production.id, isProtected: false });
    const [afterUnprotect] = await getDb().select().from(environments).where(eq(environments.id, production.id));
    await user.caller.environments.delete({ environmentId: development.id });

    // Then each took effect; protection is audited but, served to no SDK, bumps no revision
    expect(unprotected).toMatchObject({ name: "Live", isProtected: false });
    expect(afterRename.revision).toBe(before.revision + 1);
    expect(afterUnprotect.revision).toBe(afterRename.revision);
    expect((await user.caller.environments.list({ projectId: project.id })).map((env) => env.name)).toEqual(["Live"]);
    const rows = await auditRows(project.id);
    const protection = rows.find((row) => row.summary === 'Environment "Live" no longer protected');
    expect(protection).toMatchObject({ action: "environment.updated", environmentId: production.id, before: { isProtected: true }, after: { isProtected: false } });
  });

  it("protectEnvironment__switchedOn__auditedSummaryAndKeptByClone", async () => {
    // Given the Development environment of a new project
    const user = await signUpUser();
    const project = await user.caller.projects.create({ organisationId: user.organisationId, name: "Guarded" });
    const [development] = await user.caller.environments.list({ projectId: project.id });

    // When it is protected, then cloned
    await user.caller.environments.update({ environmentId: development.id, isProtected: true });
    const clone = await user.caller.environments.clone({ environmentId: development.id, name: "Staging" });

    // Then the change reads as protection in the audit log, and the clone is protected too
    const rows = await auditRows(project.id);
    expect(rows.map((row) => row.summary)).toContain('Environment "Development" protected: changes ask for confirmation');
    expect(clone.isProtected).toBe(true);
  });
});
