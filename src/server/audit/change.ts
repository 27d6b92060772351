/**
 * The tail of every mutation, inside its transaction: the audit row, and — when the change affects
 * what environments serve — the revision bump and document-write jobs of those environments.
 */
import { eq } from "drizzle-orm";
import type { Executor } from "../db/client";
import { projects } from "../db/schema";
import type { Actor } from "../auth/principal";
import { environmentsChanged, type ChangeTarget } from "../documents/changes";
import { notFound } from "../errors";
import { recordAudit, type AuditEntry } from "./service";

export async function commitChange(tx: Executor, actor: Actor, entry: AuditEntry, affects: ChangeTarget | null): Promise<void> {
  await recordAudit(tx, actor, entry);
  if (affects) await environmentsChanged(tx, affects, entry.action);
}

/** The organisation of a project (every audit row names it), or NOT_FOUND. */
export async function organisationOfProject(executor: Executor, projectId: number): Promise<number> {
  const [project] = await executor.select({ organisationId: projects.organisationId }).from(projects).where(eq(projects.id, projectId));
  if (!project) throw notFound("Project");
  return project.organisationId;
}
