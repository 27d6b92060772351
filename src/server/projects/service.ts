import { asc, eq } from "drizzle-orm";
import { getDb, type Tx } from "@/server/db/client";
import { projects } from "@/server/db/schema";
import { commitChange } from "@/server/audit/change";
import type { Actor } from "@/server/auth/principal";
import { conflict, isUniqueViolation, notFound, requireSomeChange } from "@/server/errors";
import { getLogger } from "@/server/observability/logger";

const log = getLogger("projects");

const NAME_TAKEN = "A project with this name already exists";

export async function listProjects(organisationId: number) {
  return getDb().select().from(projects).where(eq(projects.organisationId, organisationId)).orderBy(asc(projects.name));
}

export async function getProject(projectId: number) {
  const [project] = await getDb().select().from(projects).where(eq(projects.id, projectId)).limit(1);
  if (!project) throw notFound("Project");
  return project;
}

export type ProjectRow = typeof projects.$inferSelect;

export interface CreateProjectOptions {
  /**
   * Runs inside the creation's transaction, after the project's row and audit entry: what a
   * higher layer creates with every new project (the environments domain: default environments).
   */
  within?: (tx: Tx, project: ProjectRow) => Promise<void>;
}

export async function createProject(actor: Actor, organisationId: number, name: string, options: CreateProjectOptions = {}) {
  try {
    const project = await getDb().transaction(async (tx) => {
      const [created] = await tx.insert(projects).values({ organisationId, name }).returning();
      await commitChange(
        tx,
        actor,
        {
          organisationId,
          projectId: created.id,
          action: "project.created",
          resourceType: "project",
          resourceId: created.id,
          summary: `Project "${name}" created`,
          after: { name },
        },
        null,
      );
      await options.within?.(tx, created);
      return created;
    });
    log.info("project.created", { project__id: project.id });
    return project;
  } catch (error) {
    if (isUniqueViolation(error, "projects_org_name_lower_uq")) throw conflict(NAME_TAKEN, "name");
    throw error;
  }
}

export interface ProjectSettings {
  name?: string;
  hideDisabledFlags?: boolean;
}

export async function updateProject(actor: Actor, projectId: number, changes: ProjectSettings) {
  requireSomeChange(changes);
  try {
    const project = await getDb().transaction(async (tx) => {
      const [before] = await tx.select().from(projects).where(eq(projects.id, projectId)).for("update");
      if (!before) throw notFound("Project");
      const [after] = await tx.update(projects).set(changes).where(eq(projects.id, projectId)).returning();
      const changed = Object.keys(changes).filter((k) => before[k as keyof typeof before] !== after[k as keyof typeof after]);
      // Project name and hide_disabled_flags are part of every environment document.
      await commitChange(
        tx,
        actor,
        {
          organisationId: before.organisationId,
          projectId,
          action: "project.updated",
          resourceType: "project",
          resourceId: projectId,
          summary: changes.name && changes.name !== before.name ? `Project "${before.name}" renamed to "${changes.name}"` : `Project "${after.name}" settings updated (${changed.join(", ") || "no change"})`,
          before: pick(before, changed),
          after: pick(after, changed),
        },
        { projectId },
      );
      return after;
    });
    log.info("project.updated", { project__id: projectId });
    return project;
  } catch (error) {
    if (isUniqueViolation(error, "projects_org_name_lower_uq")) throw conflict(NAME_TAKEN, "name");
    throw error;
  }
}

export async function deleteProject(actor: Actor, projectId: number) {
  await getDb().transaction(async (tx) => {
    const [deleted] = await tx.delete(projects).where(eq(projects.id, projectId)).returning();
    if (!deleted) throw notFound("Project");
    await commitChange(
      tx,
      actor,
      {
        organisationId: deleted.organisationId,
        projectId,
        action: "project.deleted",
        resourceType: "project",
        resourceId: projectId,
        summary: `Project "${deleted.name}" deleted`,
        before: { name: deleted.name },
      },
      null,
    );
  });
  log.info("project.deleted", { project__id: projectId });
}

export function pick<T extends object>(row: T, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = (row as Record<string, unknown>)[key];
  return out;
}
