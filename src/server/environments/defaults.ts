/**
 * A new project's default environments: Development and Production (protected), created in the
 * project's own transaction so a project never exists without them. They are ordinary
 * environments afterwards (renamable, deletable, protection switchable), each audited as
 * `environment.created` and published by its first document write.
 */
import type { Tx } from "@/server/db/client";
import { environments } from "@/server/db/schema";
import { commitChange } from "@/server/audit/change";
import type { Actor } from "@/server/auth/principal";
import { newClientKey } from "@/server/auth/crypto";
import { insertMissingStatesForEnvironment } from "@/server/features/seeding";
import { getLogger } from "@/server/observability/logger";
import { createProject, type ProjectRow } from "@/server/projects/service";

const log = getLogger("environments");

export interface DefaultEnvironment {
  name: string;
  isProtected: boolean;
}

export const DEFAULT_ENVIRONMENTS: readonly DefaultEnvironment[] = [
  { name: "Development", isProtected: false },
  { name: "Production", isProtected: true },
];

/**
 * Inserts the default environments of a project created in `tx`. A new project has no features,
 * so there is nothing to seed in batches: the rows are created ready (`is_creating` false), and
 * the missing-states pass is a no-op kept for safety.
 */
async function insertDefaultEnvironments(tx: Tx, actor: Actor, project: ProjectRow, defaults: readonly DefaultEnvironment[]): Promise<number[]> {
  const ids: number[] = [];
  for (const environment of defaults) {
    const [created] = await tx
      .insert(environments)
      .values({ projectId: project.id, name: environment.name, apiKey: newClientKey(), isProtected: environment.isProtected })
      .returning();
    await insertMissingStatesForEnvironment(tx, created.id);
    await commitChange(
      tx,
      actor,
      {
        organisationId: project.organisationId,
        projectId: project.id,
        environmentId: created.id,
        action: "environment.created",
        resourceType: "environment",
        resourceId: created.id,
        summary: `Environment "${created.name}" created${created.isProtected ? " (protected)" : ""}`,
        after: { name: created.name, isProtected: created.isProtected },
      },
      { environmentIds: [created.id] },
    );
    ids.push(created.id);
  }
  return ids;
}

/** A project, with the default environments unless `defaultEnvironments` is false (API scripts that bring their own). */
export async function createProjectWithEnvironments(actor: Actor, organisationId: number, name: string, options: { defaultEnvironments?: boolean } = {}) {
  let created: number[] = [];
  const project = await createProject(
    actor,
    organisationId,
    name,
    options.defaultEnvironments === false ? {} : { within: async (tx, row) => void (created = await insertDefaultEnvironments(tx, actor, row, DEFAULT_ENVIRONMENTS)) },
  );
  for (const environmentId of created) log.info("environment.created", { project__id: project.id, environment__id: environmentId });
  return project;
}
