/**
 * The tail of every mutation, inside its transaction: the audit row, and — when the change affects
 * what environments serve — the revision bump and document-write jobs of those environments.
 */
import { eq } from "drizzle-orm";
import type { Executor } from "@/server/db/client";
import { projects } from "@/server/db/schema";
import type { Actor } from "@/server/auth/principal";
import { environmentsChanged, type ChangeTarget } from "@/server/documents/changes";
import { notFound } from "@/server/errors";
import { recordAudit, type AuditEntry } from "./service";

type AuditScope = Pick<AuditEntry, "organisationId" | "projectId" | "environmentId" | "featureId">;

/**
 * The ids an audit row names, taken from the context a service loaded (an override's feature and
 * environment, an identity's environment …): `{ ...auditScope(context), action, … }`.
 */
export function auditScope(context: { organisationId: number; projectId?: number | null; environmentId?: number | null; featureId?: number | null }): AuditScope {
  return { organisationId: context.organisationId, projectId: context.projectId, environmentId: context.environmentId, featureId: context.featureId };
}

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
