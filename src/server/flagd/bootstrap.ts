/** Idempotent local set-up for flagd (see scripts/bootstrap-flagd.ts). */
import { and, eq, sql } from "drizzle-orm";
import { getDb } from "@/server/db/client";
import { environmentApiKeys, environments, memberships, organisations, projects, users } from "@/server/db/schema";
import { hashPassword, sha256 } from "@/server/auth/crypto";
import type { Actor } from "@/server/auth/principal";
import { commitChange } from "@/server/audit/change";
import { createEnvironment, createServerKey } from "@/server/environments/service";
import { createProject } from "@/server/projects/service";
import { getLogger } from "@/server/observability/logger";

const log = getLogger("flagd");

export interface BootstrapInput {
  apiKey: string;
  adminEmail: string;
  adminPassword: string;
  organisation: string;
  project: string;
  environment: string;
}

export async function bootstrapFlagd(input: BootstrapInput) {
  const actor: Actor = { label: "bootstrap:flagd" };
  const db = getDb();
  const email = input.adminEmail.trim().toLowerCase();

  let [organisation] = await db.select().from(organisations).where(eq(organisations.name, input.organisation)).limit(1);
  organisation ??= (await db.insert(organisations).values({ name: input.organisation }).returning())[0];

  let [user] = await db.select().from(users).where(sql`lower(${users.email}) = ${email}`).limit(1);
  user ??= (await db.insert(users).values({ email, name: "Admin", passwordHash: await hashPassword(input.adminPassword) }).returning())[0];
  await db.insert(memberships).values({ userId: user.id, organisationId: organisation.id, role: "ADMIN" }).onConflictDoNothing();

  let [project] = await db
    .select()
    .from(projects)
    .where(and(eq(projects.organisationId, organisation.id), sql`lower(${projects.name}) = lower(${input.project})`))
    .limit(1);
  project ??= await createProject(actor, organisation.id, input.project);

  let [environment] = await db
    .select()
    .from(environments)
    .where(and(eq(environments.projectId, project.id), sql`lower(${environments.name}) = lower(${input.environment})`))
    .limit(1);
  environment ??= await createEnvironment(actor, project.id, { name: input.environment });

  const [existingKey] = await db.select().from(environmentApiKeys).where(eq(environmentApiKeys.keyHash, sha256(input.apiKey))).limit(1);
  if (existingKey && existingKey.environmentId !== environment.id) {
    throw new Error("That server-side key already belongs to another environment");
  }
  if (!existingKey) await createServerKey(actor, environment.id, "flagd", input.apiKey);

  if (!project.flagdEnabled) {
    await db.transaction(async (tx) => {
      await tx.update(projects).set({ flagdEnabled: true }).where(eq(projects.id, project.id));
      await commitChange(
        tx,
        actor,
        {
          organisationId: organisation.id,
          projectId: project.id,
          action: "flagd_integration.enabled",
          resourceType: "project",
          resourceId: project.id,
          summary: `flagd integration enabled for project "${project.name}"`,
          after: { flagdEnabled: true },
        },
        { projectId: project.id },
      );
    });
    log.info("integration.enabled", { project__id: project.id });
  }
  return { organisationId: organisation.id, projectId: project.id, environmentId: environment.id, environmentKey: environment.apiKey };
}
