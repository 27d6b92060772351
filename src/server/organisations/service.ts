import { and, asc, desc, eq, isNull, sql } from "drizzle-orm";
import { getDb, type Tx } from "@/server/db/client";
import { memberships, organisationApiKeys, organisations, projects, users } from "@/server/db/schema";
import { commitChange } from "@/server/audit/change";
import type { Actor, Principal } from "@/server/auth/principal";
import { keyPrefix, newOrganisationApiKey, sha256 } from "@/server/auth/crypto";
import { badInput, conflict, DomainError, isUniqueViolation, notFound } from "@/server/errors";
import { getLogger } from "@/server/observability/logger";

const log = getLogger("organisations");

export async function listOrganisations(principal: Principal) {
  if (principal.kind === "apiKey") {
    const rows = await getDb().select().from(organisations).where(eq(organisations.id, principal.organisationId));
    return rows.map((o) => ({ ...o, role: "ADMIN" as const }));
  }
  return getDb()
    .select({
      id: organisations.id,
      name: organisations.name,
      persistTraitData: organisations.persistTraitData,
      featureAnalytics: organisations.featureAnalytics,
      stopServingFlags: organisations.stopServingFlags,
      createdAt: organisations.createdAt,
      role: memberships.role,
    })
    .from(memberships)
    .innerJoin(organisations, eq(organisations.id, memberships.organisationId))
    .where(eq(memberships.userId, principal.userId))
    .orderBy(asc(memberships.createdAt), asc(organisations.id));
}

export async function createOrganisation(actor: Actor & { userId: string }, name: string) {
  return getDb().transaction(async (tx) => {
    const [organisation] = await tx.insert(organisations).values({ name }).returning();
    await tx.insert(memberships).values({ userId: actor.userId, organisationId: organisation.id, role: "ADMIN" });
    await commitChange(
      tx,
      actor,
      {
        organisationId: organisation.id,
        action: "organisation.created",
        resourceType: "organisation",
        resourceId: organisation.id,
        summary: `Organisation "${name}" created`,
        after: { name },
      },
      null,
    );
    log.info("organisation.created", { organisation__id: organisation.id });
    return organisation;
  });
}

export interface OrganisationSettings {
  name?: string;
  /** Identify calls store the traits they send (Flagsmith's `persist_trait_data`). */
  persistTraitData?: boolean;
  /** Every SDK and flagd request of the organisation is refused (Flagsmith's `stop_serving_flags`). */
  stopServingFlags?: boolean;
}

/** Renames the organisation or changes its serving settings; every environment document carries them. */
export async function updateOrganisation(actor: Actor, organisationId: number, changes: OrganisationSettings) {
  const updated = await getDb().transaction(async (tx) => {
    const [before] = await tx.select().from(organisations).where(eq(organisations.id, organisationId)).for("update");
    if (!before) throw notFound("Organisation");
    if (Object.keys(changes).length === 0) return before;
    const [after] = await tx.update(organisations).set(changes).where(eq(organisations.id, organisationId)).returning();
    const changed = (Object.keys(changes) as (keyof OrganisationSettings)[]).filter((key) => before[key] !== after[key]);
    if (changed.length === 0) return after;
    // The organisation's name and settings are part of every environment document.
    await commitChange(
      tx,
      actor,
      {
        organisationId,
        action: "organisation.updated",
        resourceType: "organisation",
        resourceId: organisationId,
        summary: changed.includes("name") ? `Organisation "${before.name}" renamed to "${after.name}"` : `Organisation settings updated (${changed.join(", ")})`,
        before: Object.fromEntries(changed.map((key) => [key, before[key]])),
        after: Object.fromEntries(changed.map((key) => [key, after[key]])),
      },
      { organisationId },
    );
    return after;
  });
  log.info("organisation.updated", { organisation__id: organisationId });
  return updated;
}

/**
 * Deletes an organisation and everything in it: projects, environments (their keys and documents),
 * features, segments, identities, members, API keys and the audit log. `confirmName` must be the
 * organisation's current name, so that neither a stale page nor a script deletes the wrong one. The
 * audit log goes with the organisation, so the deletion is recorded as a log event.
 */
export async function deleteOrganisation(organisationId: number, confirmName: string): Promise<{ name: string; projects: number }> {
  const deleted = await getDb().transaction(async (tx) => {
    const [row] = await tx.select().from(organisations).where(eq(organisations.id, organisationId)).for("update");
    if (!row) throw notFound("Organisation");
    if (confirmName.trim() !== row.name) throw badInput("Type the organisation's name exactly as shown to confirm", "confirmName");
    const [{ count }] = await tx.select({ count: sql<number>`count(*)::int` }).from(projects).where(eq(projects.organisationId, organisationId));
    await tx.delete(organisations).where(eq(organisations.id, organisationId));
    return { name: row.name, projects: count };
  });
  log.info("organisation.deleted", { organisation__id: organisationId, projects__count: deleted.projects });
  return deleted;
}

export async function listMembers(organisationId: number) {
  return getDb()
    .select({ userId: users.id, email: users.email, name: users.name, role: memberships.role, joinedAt: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.organisationId, organisationId))
    .orderBy(asc(users.email));
}

export async function addMember(actor: Actor, organisationId: number, email: string, role: "ADMIN" | "USER") {
  const [user] = await getDb()
    .select({ id: users.id })
    .from(users)
    .where(sql`lower(${users.email}) = ${email.trim().toLowerCase()}`)
    .limit(1);
  if (!user) throw notFound("A user with this email");
  try {
    await getDb().transaction(async (tx) => {
      await tx.insert(memberships).values({ userId: user.id, organisationId, role });
      await commitChange(
        tx,
        actor,
        {
          organisationId,
          action: "membership.created",
          resourceType: "membership",
          resourceId: user.id,
          summary: `${email} added as ${role}`,
          after: { userId: user.id, role },
        },
        null,
      );
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict("This user is already a member", "email");
    throw error;
  }
  log.info("membership.created", { organisation__id: organisationId, member__id: user.id });
}

type Role = "ADMIN" | "USER";

const LAST_ADMIN = "An organisation needs at least one admin: make another member an admin first";

/**
 * Locks the organisation's memberships (so concurrent role changes and removals serialise) and
 * returns them; throws NOT_FOUND when `userId` is not among them.
 */
async function lockMemberships(tx: Tx, organisationId: number, userId: string) {
  const rows = await tx
    .select({ userId: memberships.userId, role: memberships.role, email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.organisationId, organisationId))
    .for("update", { of: memberships });
  const target = rows.find((row) => row.userId === userId);
  if (!target) throw notFound("Member");
  const otherAdmins = rows.filter((row) => row.userId !== userId && row.role === "ADMIN").length;
  return { target, otherAdmins };
}

/** Changes a member's role; the last admin cannot be made a user. */
export async function updateMemberRole(actor: Actor, organisationId: number, userId: string, role: Role) {
  const changed = await getDb().transaction(async (tx) => {
    const { target, otherAdmins } = await lockMemberships(tx, organisationId, userId);
    if (target.role === role) return false;
    if (target.role === "ADMIN" && otherAdmins === 0) throw new DomainError("PRECONDITION_FAILED", LAST_ADMIN, { field: "role" });
    await tx.update(memberships).set({ role }).where(and(eq(memberships.organisationId, organisationId), eq(memberships.userId, userId)));
    await commitChange(
      tx,
      actor,
      {
        organisationId,
        action: "membership.updated",
        resourceType: "membership",
        resourceId: userId,
        summary: `${target.email} is now ${role === "ADMIN" ? "an admin" : "a user"}`,
        before: { role: target.role },
        after: { role },
      },
      null,
    );
    return true;
  });
  if (changed) log.info("membership.updated", { organisation__id: organisationId, member__id: userId, role });
  return { userId, role };
}

/** Removes a member (an admin removing anyone, or a member leaving); the last admin cannot go. */
export async function removeMember(actor: Actor, organisationId: number, userId: string) {
  await getDb().transaction(async (tx) => {
    const { target, otherAdmins } = await lockMemberships(tx, organisationId, userId);
    if (target.role === "ADMIN" && otherAdmins === 0) throw new DomainError("PRECONDITION_FAILED", LAST_ADMIN);
    await tx.delete(memberships).where(and(eq(memberships.organisationId, organisationId), eq(memberships.userId, userId)));
    await commitChange(
      tx,
      actor,
      {
        organisationId,
        action: "membership.deleted",
        resourceType: "membership",
        resourceId: userId,
        summary: actor.userId === userId ? `${target.email} left the organisation` : `${target.email} removed`,
        before: { userId, role: target.role },
      },
      null,
    );
  });
  log.info("membership.deleted", { organisation__id: organisationId, member__id: userId });
}

export async function listApiKeys(organisationId: number) {
  return getDb()
    .select({ id: organisationApiKeys.id, name: organisationApiKeys.name, prefix: organisationApiKeys.prefix, createdAt: organisationApiKeys.createdAt })
    .from(organisationApiKeys)
    .where(and(eq(organisationApiKeys.organisationId, organisationId), isNull(organisationApiKeys.revokedAt)))
    .orderBy(desc(organisationApiKeys.createdAt));
}

/** Returns the key itself once; only its hash is stored. */
export async function createApiKey(actor: Actor, organisationId: number, name: string) {
  const key = newOrganisationApiKey();
  const row = await getDb().transaction(async (tx) => {
    const [created] = await tx
      .insert(organisationApiKeys)
      .values({ organisationId, name, prefix: keyPrefix(key), keyHash: sha256(key), createdByUserId: actor.userId ?? null })
      .returning({ id: organisationApiKeys.id, name: organisationApiKeys.name, prefix: organisationApiKeys.prefix, createdAt: organisationApiKeys.createdAt });
    await commitChange(
      tx,
      actor,
      {
        organisationId,
        action: "api_key.created",
        resourceType: "api_key",
        resourceId: created.id,
        summary: `API key "${name}" created`,
      },
      null,
    );
    return created;
  });
  log.info("api_key.created", { organisation__id: organisationId, api_key__id: row.id });
  return { ...row, key };
}

export async function revokeApiKey(actor: Actor, organisationId: number, apiKeyId: number) {
  await getDb().transaction(async (tx) => {
    const [revoked] = await tx
      .update(organisationApiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(organisationApiKeys.id, apiKeyId), eq(organisationApiKeys.organisationId, organisationId), isNull(organisationApiKeys.revokedAt)))
      .returning({ name: organisationApiKeys.name });
    if (!revoked) throw notFound("API key");
    await commitChange(
      tx,
      actor,
      {
        organisationId,
        action: "api_key.revoked",
        resourceType: "api_key",
        resourceId: apiKeyId,
        summary: `API key "${revoked.name}" revoked`,
      },
      null,
    );
  });
  log.info("api_key.revoked", { organisation__id: organisationId, api_key__id: apiKeyId });
}
