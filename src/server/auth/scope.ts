/**
 * Derives what a procedure call is about from its raw input — organisation, project, environment —
 * before the procedure body runs, checks that the principal may see it (NOT_FOUND otherwise, never
 * a hint that the id exists), and binds the ids into the log context.
 *
 * Recognised top-level input keys: organisationId, projectId, environmentId, environmentKey, and
 * the ids of project- or environment-owned entities (featureId, segmentId, identityId, …) below.
 * A procedure whose input names such an id gets it access-checked before its body runs.
 */
import { eq, sql } from "drizzle-orm";
import { getDb } from "@/server/db/client";
import { MAX_SERIAL_ID } from "@/server/db/ids";
import { environments, memberships, projects } from "@/server/db/schema";
import { DomainError } from "@/server/errors";
import type { Principal } from "./principal";

export interface Scope {
  organisationId: number;
  projectId?: number;
  environmentId?: number;
}

export type Role = "ADMIN" | "USER";

type PartialScope = { organisationId: number; projectId?: number; environmentId?: number };
type Resolver = (value: unknown) => Promise<PartialScope | null>;


const positiveInt = (value: unknown, max = Number.MAX_SAFE_INTEGER): number | null =>
  typeof value === "number" && Number.isSafeInteger(value) && value > 0 && value <= max ? value : null;
const serialId = (value: unknown): number | null => positiveInt(value, MAX_SERIAL_ID);

async function projectScope(projectId: number): Promise<PartialScope | null> {
  const [row] = await getDb()
    .select({ organisationId: projects.organisationId })
    .from(projects)
    .where(eq(projects.id, projectId))
    .limit(1);
  return row ? { organisationId: row.organisationId, projectId } : null;
}

async function environmentScope(where: ReturnType<typeof eq>): Promise<PartialScope | null> {
  const [row] = await getDb()
    .select({ id: environments.id, projectId: environments.projectId, organisationId: projects.organisationId })
    .from(environments)
    .innerJoin(projects, eq(projects.id, environments.projectId))
    .where(where)
    .limit(1);
  return row ? { organisationId: row.organisationId, projectId: row.projectId, environmentId: row.id } : null;
}

/** A resolver for an entity table with `id` (serial) and `project_id` columns. */
function projectOwned(table: string): Resolver {
  return async (value) => {
    const id = serialId(value);
    if (id === null) return null;
    const result = await getDb().execute<{ project_id: number }>(
      sql`select project_id from ${sql.identifier(table)} where id = ${id} limit 1`,
    );
    const projectId = result.rows[0]?.project_id;
    return projectId ? projectScope(projectId) : null;
  };
}

/** A resolver for an entity table with `id` and `environment_id` columns (`idOf` validates the id's range). */
function environmentOwned(table: string, idOf: (value: unknown) => number | null = positiveInt): Resolver {
  return async (value) => {
    const id = idOf(value);
    if (id === null) return null;
    const result = await getDb().execute<{ environment_id: number }>(
      sql`select environment_id from ${sql.identifier(table)} where id = ${id} limit 1`,
    );
    const environmentId = result.rows[0]?.environment_id;
    return environmentId ? environmentScope(eq(environments.id, environmentId)) : null;
  };
}

const resolvers: Record<string, Resolver> = {
  organisationId: async (value) => {
    const id = serialId(value);
    return id === null ? null : { organisationId: id };
  },
  projectId: async (value) => {
    const id = serialId(value);
    return id === null ? null : projectScope(id);
  },
  environmentId: async (value) => {
    const id = serialId(value);
    return id === null ? null : environmentScope(eq(environments.id, id));
  },
  environmentKey: async (value) =>
    typeof value === "string" && value.length > 0 && value.length <= 200 ? environmentScope(eq(environments.apiKey, value)) : null,
  serverKeyId: environmentOwned("environment_api_keys", serialId),
  featureId: projectOwned("features"),
  segmentId: projectOwned("segments"),
  identityId: environmentOwned("identities"),
  featureStateId: environmentOwned("feature_states"),
  scheduledChangeId: environmentOwned("scheduled_changes"),
  optionId: async (value) => {
    const id = serialId(value);
    if (id === null) return null;
    const result = await getDb().execute<{ project_id: number }>(
      sql`select f.project_id from multivariate_options o join features f on f.id = o.feature_id where o.id = ${id} limit 1`,
    );
    const projectId = result.rows[0]?.project_id;
    return projectId ? projectScope(projectId) : null;
  },
};

const notFound = () => new DomainError("NOT_FOUND", "Not found");

async function roleIn(principal: Principal, organisationId: number): Promise<Role | null> {
  if (principal.kind === "apiKey") return principal.organisationId === organisationId ? "ADMIN" : null;
  const [row] = await getDb()
    .select({ role: memberships.role })
    .from(memberships)
    .where(sql`${memberships.userId} = ${principal.userId} and ${memberships.organisationId} = ${organisationId}`)
    .limit(1);
  return row?.role ?? null;
}

export async function firstOrganisationOf(principal: Principal): Promise<number | undefined> {
  if (principal.kind === "apiKey") return principal.organisationId;
  const [row] = await getDb()
    .select({ organisationId: memberships.organisationId })
    .from(memberships)
    .where(eq(memberships.userId, principal.userId))
    .orderBy(memberships.createdAt, memberships.organisationId)
    .limit(1);
  return row?.organisationId;
}

/**
 * The scope named by `input` (null when it names none), after checking access.
 * Throws NOT_FOUND when an id does not exist, ids disagree, or the principal has no access.
 */
export async function resolveScope(
  principal: Principal,
  input: unknown,
): Promise<{ scope: Scope; role: Role } | null> {
  if (!input || typeof input !== "object" || Array.isArray(input)) return null;
  let scope: Scope | null = null;
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    // Own keys only: an input key such as `constructor` or `__proto__` names no resolver.
    const resolver = Object.hasOwn(resolvers, key) ? resolvers[key] : undefined;
    if (!resolver || value === undefined || value === null) continue;
    const found = await resolver(value);
    if (!found) throw notFound();
    if (!scope) {
      scope = { ...found };
      continue;
    }
    if (scope.organisationId !== found.organisationId) throw notFound();
    for (const field of ["projectId", "environmentId"] as const) {
      const mine = scope[field];
      const theirs = found[field];
      if (mine !== undefined && theirs !== undefined && mine !== theirs) throw notFound();
      if (mine === undefined && theirs !== undefined) scope[field] = theirs;
    }
  }
  if (!scope) return null;
  const role = await roleIn(principal, scope.organisationId);
  if (!role) throw notFound();
  return { scope, role };
}
