/** Sign up, sign in, sign out; sessions are opaque tokens stored as sha256. */
import { and, eq, ne, sql } from "drizzle-orm";
import { settings } from "@/server/config";
import { getDb, type Tx } from "@/server/db/client";
import { memberships, organisations, sessions, users } from "@/server/db/schema";
import { badInput, conflict, DomainError, isUniqueViolation } from "@/server/errors";
import { bindContext } from "@/server/observability/context";
import { getLogger } from "@/server/observability/logger";
import { DUMMY_PASSWORD_HASH, hashPassword, needsRehash, randomToken, sha256, verifyPassword } from "./crypto";
import { SESSION_COOKIE } from "./principal";
import { countSignInAttempt, countSignUpAttempt, forgiveSignInAttempts, type ThrottleScope } from "./throttle";

const log = getLogger("auth");

const EMAIL_TAKEN = "An account with this email already exists";

export interface NewSession {
  token: string;
  expiresAt: Date;
  userId: string;
}

async function createSession(userId: string): Promise<NewSession> {
  const token = randomToken();
  const expiresAt = new Date(Date.now() + settings().sessionDays * 86_400_000);
  await getDb().insert(sessions).values({ id: sha256(token), userId, expiresAt });
  return { token, expiresAt, userId };
}

/**
 * Joins the new user to an existing organisation instead of creating one (an invitation), inside the
 * sign-up's transaction: throws to refuse (and nothing is created); returns the organisation id.
 */
export type JoinOnSignUp = (tx: Tx, user: { userId: string; email: string }) => Promise<number>;

/**
 * Creates an account, its organisation and a session. `clientAddress` (when the transport knows it)
 * is throttled (SIGN_UP_ADDRESS_MAX_ATTEMPTS per window) before anything else, and a taken email is
 * refused before the password is hashed (the answer says so anyway). With `join` (an invitation) the
 * account joins an existing organisation instead of getting one.
 */
export async function signUp(
  input: { email: string; name: string; password: string; organisationName?: string },
  options: { clientAddress?: string; join?: JoinOnSignUp } = {},
): Promise<NewSession & { organisationId: number }> {
  validatePassword(input.password);
  const email = input.email.trim().toLowerCase();
  const throttle = await countSignUpAttempt(options.clientAddress);
  if (!throttle.allowed) {
    log.warn("user.sign_up_throttled", { retry_after_seconds: throttle.retryAfterSeconds });
    const minutes = Math.ceil(throttle.retryAfterSeconds / 60);
    throw new DomainError("TOO_MANY_REQUESTS", `Too many sign-ups from your network. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`, {
      field: "email",
      retryAfterSeconds: throttle.retryAfterSeconds,
    });
  }
  const [taken] = await getDb().select({ id: users.id }).from(users).where(sql`lower(${users.email}) = ${email}`).limit(1);
  if (taken) throw conflict(EMAIL_TAKEN, "email");
  const passwordHash = await hashPassword(input.password);
  try {
    const { userId, organisationId } = await getDb().transaction(async (tx) => {
      const [user] = await tx.insert(users).values({ email, name: input.name.trim(), passwordHash }).returning({ id: users.id });
      if (options.join) return { userId: user.id, organisationId: await options.join(tx, { userId: user.id, email }) };
      const [organisation] = await tx
        .insert(organisations)
        .values({ name: input.organisationName?.trim() || `${input.name.trim()}'s organisation` })
        .returning({ id: organisations.id });
      await tx.insert(memberships).values({ userId: user.id, organisationId: organisation.id, role: "ADMIN" });
      return { userId: user.id, organisationId: organisation.id };
    });
    bindContext({ "user.id": userId, "organisation.id": organisationId });
    log.info("user.signed_up", { user__id: userId, organisation__id: organisationId });
    return { ...(await createSession(userId)), organisationId };
  } catch (error) {
    if (isUniqueViolation(error, "users_email_lower_uq")) throw conflict(EMAIL_TAKEN, "email");
    throw error;
  }
}

function throttled(retryAfterSeconds: number, scope: ThrottleScope = "email", field = "password"): DomainError {
  const minutes = Math.ceil(retryAfterSeconds / 60);
  const from = scope === "address" ? "from your network" : "for this email";
  return new DomainError("TOO_MANY_REQUESTS", `Too many sign-in attempts ${from}. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`, { field, retryAfterSeconds });
}

/** Counts a password check for `email` (throttle.ts) and throws TOO_MANY_REQUESTS (on `field`) when a limit is reached. */
async function admitPasswordCheck(email: string, clientAddress: string | undefined, field: string): Promise<void> {
  const throttle = await countSignInAttempt(email, clientAddress);
  if (throttle.allowed) return;
  log.warn("user.sign_in_throttled", { retry_after_seconds: throttle.retryAfterSeconds, throttle__scope: throttle.scope });
  throw throttled(throttle.retryAfterSeconds, throttle.scope, field);
}

/** Signs in; `clientAddress` (when the transport knows it) is throttled too (throttle.ts). */
export async function signIn(input: { email: string; password: string }, options: { clientAddress?: string } = {}): Promise<NewSession> {
  const email = input.email.trim().toLowerCase();
  await admitPasswordCheck(email, options.clientAddress, "password");
  const [user] = await getDb()
    .select({ id: users.id, passwordHash: users.passwordHash })
    .from(users)
    .where(sql`lower(${users.email}) = ${email}`)
    .limit(1);
  // Verify against a dummy hash for unknown emails so timing does not reveal which emails exist.
  const ok = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user || !ok) {
    log.info("user.sign_in_failed", {});
    throw new DomainError("UNAUTHORIZED", "Email or password is incorrect", { field: "password" });
  }
  await forgiveSignInAttempts(email, options.clientAddress);
  bindContext({ "user.id": user.id });
  if (needsRehash(user.passwordHash)) await rehash(user.id, user.passwordHash, input.password);
  log.info("user.signed_in", { user__id: user.id });
  return createSession(user.id);
}

/**
 * Stores a hash with the current scrypt parameters in place of an older one (the password was just
 * verified). Only if the row still holds the old hash: a concurrent password change wins.
 */
async function rehash(userId: string, oldHash: string, password: string): Promise<void> {
  const passwordHash = await hashPassword(password);
  const updated = await getDb()
    .update(users)
    .set({ passwordHash })
    .where(and(eq(users.id, userId), eq(users.passwordHash, oldHash)))
    .returning({ id: users.id });
  if (updated.length > 0) log.info("user.password_rehashed", { user__id: userId });
}

export async function signOut(sessionId: string): Promise<void> {
  await getDb().delete(sessions).where(eq(sessions.id, sessionId));
  log.info("user.signed_out", {});
}

export function sessionCookie(token: string, expiresAt: Date, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${token}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Lax",
    `Expires=${expiresAt.toUTCString()}`,
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
}

/**
 * Changes a signed-in user's password. The current password must be given (checked under the same
 * per-email throttle as sign-in, so a stolen session cannot be used to guess it); every other
 * session of the user ends, the one making the change stays.
 */
export async function changePassword(
  user: { userId: string; email: string; sessionId: string },
  input: { currentPassword: string; newPassword: string },
  options: { clientAddress?: string } = {},
): Promise<{ otherSessionsEnded: number }> {
  validatePassword(input.newPassword, "newPassword");
  await admitPasswordCheck(user.email, options.clientAddress, "currentPassword");
  const [row] = await getDb().select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, user.userId)).limit(1);
  if (!row || !(await verifyPassword(input.currentPassword, row.passwordHash))) {
    log.info("user.password_change_refused", {});
    throw badInput("Current password is incorrect", "currentPassword");
  }
  await forgiveSignInAttempts(user.email, options.clientAddress);
  const passwordHash = await hashPassword(input.newPassword);
  const ended = await getDb().transaction(async (tx) => {
    await tx.update(users).set({ passwordHash }).where(eq(users.id, user.userId));
    return tx
      .delete(sessions)
      .where(and(eq(sessions.userId, user.userId), ne(sessions.id, user.sessionId)))
      .returning({ id: sessions.id });
  });
  log.info("user.password_changed", { user__id: user.userId, sessions__ended: ended.length });
  return { otherSessionsEnded: ended.length };
}

function validatePassword(password: string, field = "password"): void {
  if (password.length < 8) throw badInput("Password must be at least 8 characters", field);
}
