/**
 * Invitations: how people join an organisation.
 *
 * An admin invites an email address with a role. The answer is the same whether or not an account
 * with that email exists (no account is even looked up): a pending invitation and its token. No mail
 * is sent; the admin hands over the link (`/invite#<token>`: the token is in the fragment, so it never
 * reaches a server log). Only the token's sha256 is stored, so the link is shown once; inviting the
 * same email again replaces the pending invitation (a new link).
 *
 * The person accepts by signing in (an existing account) or signing up (a new account, which joins
 * the organisation instead of getting one of its own) with the token. Only the account with the
 * invited email can accept; an invitation is used once, expires after INVITATION_DAYS and can be
 * revoked until then. Created, revoked and accepted invitations are audited; logs carry ids only.
 */
import { and, desc, eq, isNull, sql } from "drizzle-orm";
import { commitChange } from "@/server/audit/change";
import { randomToken, sha256 } from "@/server/auth/crypto";
import type { Actor } from "@/server/auth/principal";
import { signUp, type NewSession } from "@/server/auth/service";
import { getDb, type Tx } from "@/server/db/client";
import { invitations, memberships, organisations, users } from "@/server/db/schema";
import { conflict, DomainError, notFound } from "@/server/errors";
import { getLogger } from "@/server/observability/logger";

const log = getLogger("organisations");

export const INVITATION_DAYS = 7;
/** Tokens look like organisation API keys to the log scrubber (`fp_…`), so a stray one is masked. */
export const INVITATION_TOKEN_PREFIX = "fp_inv_";

type Role = "ADMIN" | "USER";

const roleLabel = (role: Role) => (role === "ADMIN" ? "an admin" : "a user");

export const INVALID_INVITATION = "This invitation link is not valid: it may have been revoked or already used. Ask an admin of the organisation for a new one.";
export const EXPIRED_INVITATION = "This invitation has expired. Ask an admin of the organisation for a new one.";
export const OTHER_EMAIL = "This invitation is for another email address: sign in with the address it was sent to.";

export function newInvitationToken(): string {
  return INVITATION_TOKEN_PREFIX + randomToken(32);
}

const publicColumns = {
  id: invitations.id,
  email: invitations.email,
  role: invitations.role,
  createdAt: invitations.createdAt,
  expiresAt: invitations.expiresAt,
};

/**
 * Creates a pending invitation (replacing a pending one for the same email). The answer does not
 * depend on whether the email has an account; an email that is already a member is refused (CONFLICT),
 * which tells the admin nothing the member list does not.
 */
export async function createInvitation(actor: Actor, organisationId: number, email: string, role: Role) {
  const normalised = email.trim().toLowerCase();
  const token = newInvitationToken();
  const expiresAt = new Date(Date.now() + INVITATION_DAYS * 86_400_000);
  const { invitation, replaced } = await getDb().transaction(async (tx) => {
    // Invitations of one organisation are created one at a time (at most one pending per email).
    const [organisation] = await tx.select({ id: organisations.id }).from(organisations).where(eq(organisations.id, organisationId)).for("update");
    if (!organisation) throw notFound("Organisation");
    const [member] = await tx
      .select({ userId: memberships.userId })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.organisationId, organisationId), sql`lower(${users.email}) = ${normalised}`))
      .limit(1);
    if (member) throw conflict("This person is already a member of the organisation", "email");
    const replaced = await tx
      .update(invitations)
      .set({ revokedAt: new Date() })
      .where(and(eq(invitations.organisationId, organisationId), eq(invitations.email, normalised), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))
      .returning({ id: invitations.id });
    const [invitation] = await tx
      .insert(invitations)
      .values({ organisationId, email: normalised, role, tokenHash: sha256(token), invitedByUserId: actor.userId ?? null, expiresAt })
      .returning(publicColumns);
    await commitChange(
      tx,
      actor,
      {
        organisationId,
        action: "invitation.created",
        resourceType: "invitation",
        resourceId: invitation.id,
        summary: `${normalised} invited as ${roleLabel(role)}${replaced.length > 0 ? " (replacing the previous invitation)" : ""}`,
        after: { email: normalised, role, expiresAt: invitation.expiresAt.toISOString(), replacedInvitationIds: replaced.map((r) => r.id) },
      },
      null,
    );
    return { invitation, replaced };
  });
  log.info("invitation.created", { organisation__id: organisationId, invitation__id: invitation.id, role, invitations__replaced: replaced.length });
  return { invitation: { ...invitation, expired: false }, token };
}

/** Invitations not yet accepted or revoked (expired ones too, marked), newest first. */
export async function listInvitations(organisationId: number) {
  const rows = await getDb()
    .select({ ...publicColumns, invitedBy: users.name })
    .from(invitations)
    .leftJoin(users, eq(users.id, invitations.invitedByUserId))
    .where(and(eq(invitations.organisationId, organisationId), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))
    .orderBy(desc(invitations.createdAt), desc(invitations.id));
  const now = Date.now();
  return rows.map((row) => ({ ...row, expired: row.expiresAt.getTime() <= now }));
}

export async function revokeInvitation(actor: Actor, organisationId: number, invitationId: number) {
  await getDb().transaction(async (tx) => {
    const [revoked] = await tx
      .update(invitations)
      .set({ revokedAt: new Date() })
      .where(and(eq(invitations.id, invitationId), eq(invitations.organisationId, organisationId), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))
      .returning({ email: invitations.email, role: invitations.role });
    if (!revoked) throw notFound("Invitation");
    await commitChange(
      tx,
      actor,
      {
        organisationId,
        action: "invitation.revoked",
        resourceType: "invitation",
        resourceId: invitationId,
        summary: `Invitation of ${revoked.email} revoked`,
        before: { email: revoked.email, role: revoked.role },
      },
      null,
    );
  });
  log.info("invitation.revoked", { organisation__id: organisationId, invitation__id: invitationId });
}

type InvitationRow = typeof invitations.$inferSelect;

/** The usable invitation of a token, or the typed refusal (logged with its reason, never the token). */
function usable(row: InvitationRow | undefined): InvitationRow {
  const reason = !row ? "unknown" : row.revokedAt ? "revoked" : row.acceptedAt ? "accepted" : row.expiresAt.getTime() <= Date.now() ? "expired" : null;
  if (!reason) return row!;
  log.info("invitation.refused", { reason, invitation__id: row?.id, organisation__id: row?.organisationId });
  if (reason === "expired") throw new DomainError("PRECONDITION_FAILED", EXPIRED_INVITATION, { field: "token" });
  throw new DomainError("NOT_FOUND", INVALID_INVITATION, { field: "token" });
}

async function findByToken(executor: Tx | ReturnType<typeof getDb>, token: string, lock: boolean): Promise<InvitationRow | undefined> {
  const query = executor.select().from(invitations).where(eq(invitations.tokenHash, sha256(token)));
  const [row] = lock ? await query.for("update") : await query;
  return row;
}

/** What the invite page shows to the holder of a token: the organisation, the invited email and role. */
export async function lookupInvitation(token: string) {
  const invitation = usable(await findByToken(getDb(), token, false));
  const [organisation] = await getDb().select({ name: organisations.name }).from(organisations).where(eq(organisations.id, invitation.organisationId));
  return { organisationName: organisation?.name ?? "", email: invitation.email, role: invitation.role, expiresAt: invitation.expiresAt };
}

interface Accepted {
  organisationId: number;
  invitationId: number;
  role: Role;
}

/** Accepts inside `tx`: the membership (kept as is when the user already is a member), the invitation marked used, the audit row. */
async function acceptWithin(tx: Tx, user: { userId: string; email: string }, token: string): Promise<Accepted> {
  const invitation = usable(await findByToken(tx, token, true));
  if (invitation.email !== user.email.trim().toLowerCase()) {
    log.info("invitation.refused", { reason: "other_email", invitation__id: invitation.id, organisation__id: invitation.organisationId });
    throw new DomainError("FORBIDDEN", OTHER_EMAIL, { field: "token" });
  }
  const joined = await tx
    .insert(memberships)
    .values({ userId: user.userId, organisationId: invitation.organisationId, role: invitation.role })
    .onConflictDoNothing()
    .returning({ userId: memberships.userId });
  await tx.update(invitations).set({ acceptedAt: new Date(), acceptedByUserId: user.userId }).where(eq(invitations.id, invitation.id));
  await commitChange(
    tx,
    { userId: user.userId, label: user.email },
    {
      organisationId: invitation.organisationId,
      action: "invitation.accepted",
      resourceType: "invitation",
      resourceId: invitation.id,
      summary: joined.length > 0 ? `${invitation.email} joined as ${roleLabel(invitation.role)}` : `${invitation.email} accepted an invitation (already a member)`,
      after: { userId: user.userId, role: invitation.role },
    },
    null,
  );
  return { organisationId: invitation.organisationId, invitationId: invitation.id, role: invitation.role };
}

function logAccepted(userId: string, accepted: Accepted): void {
  log.info("invitation.accepted", { organisation__id: accepted.organisationId, invitation__id: accepted.invitationId, member__id: userId, role: accepted.role });
}

/** A signed-in user accepts (their email must be the invited one). */
export async function acceptInvitation(user: { userId: string; email: string }, token: string): Promise<{ organisationId: number }> {
  const accepted = await getDb().transaction((tx) => acceptWithin(tx, user, token));
  logAccepted(user.userId, accepted);
  return { organisationId: accepted.organisationId };
}

/**
 * A new account for the invited email that joins the inviting organisation (and gets none of its
 * own). Refused invitations create nothing.
 */
export async function signUpWithInvitation(
  input: { token: string; name: string; password: string },
  options: { clientAddress?: string } = {},
): Promise<NewSession & { organisationId: number }> {
  // Refuse a bad token before hashing the password.
  const invitation = usable(await findByToken(getDb(), input.token, false));
  let accepted: Accepted | undefined;
  const session = await signUp(
    { email: invitation.email, name: input.name, password: input.password },
    {
      // Throttled like every sign-up (SIGN_UP_ADDRESS_MAX_ATTEMPTS).
      clientAddress: options.clientAddress,
      join: async (tx, user) => {
        accepted = await acceptWithin(tx, user, input.token);
        return accepted.organisationId;
      },
    },
  );
  if (accepted) logAccepted(session.userId, accepted);
  return session;
}
