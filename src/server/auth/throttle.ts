/**
 * Sign-in and sign-up throttling, counted in PostgreSQL so every web process shares the counts, in
 * fixed windows (`signInWindowSeconds`, `signUpWindowSeconds`):
 *
 * - per email and client address: at most `signInMaxAttempts` unsuccessful sign-ins (guessing one
 *   account's password from one place). Counted per address so that a stranger elsewhere cannot
 *   lock the owner out with a few wrong passwords;
 * - per email, from all addresses together: at most `signInEmailMaxAttempts` (a higher ceiling
 *   against guessing one password from many addresses);
 * - per client address (IPv4, or IPv6 /64), across all emails: at most `signInAddressMaxAttempts`
 *   unsuccessful sign-ins (trying many accounts from one place);
 * - sign-ups per client address: at most `signUpAddressMaxAttempts` (every attempt counts, each
 *   costs a password hash and may create an account).
 *
 * An attempt is counted *before* the password is checked or hashed, so a burst of parallel requests
 * cannot slip past a limit while their hashes are computed. A successful sign-in clears its
 * email-and-address count and takes its own attempt back from the email's and the address's counts
 * (signing in to one's own account does not reset what others failed). Once a limit is reached every
 * attempt it covers (right password or not) is refused until the window ends, without checking the
 * password, so the refusal reveals nothing about it. Without a known client address (in-process
 * callers, `next dev`) the address counts are skipped and the email-and-address count is per email.
 * Keys are sha256 hashes: no email or address is stored.
 */
import { and, eq, like, lt, not, or, sql } from "drizzle-orm";
import { settings } from "@/server/config";
import { getDb } from "@/server/db/client";
import { signInThrottles } from "@/server/db/schema";
import { addressSubject } from "@/server/http/client-address";
import { sha256 } from "./crypto";

export type ThrottleScope = "email" | "email_address" | "address";

export interface ThrottleDecision {
  allowed: boolean;
  /** Which limit refused it (only when refused). */
  scope?: ThrottleScope;
  /** Seconds until the current window ends (only meaningful when refused). */
  retryAfterSeconds: number;
}

const normalEmail = (email: string) => email.trim().toLowerCase();

/** The row key for an email across all addresses: a hash, so no address is stored. */
export const signInThrottleKey = (email: string) => sha256(`sign-in:${normalEmail(email)}`);

/** The row key for an email from one client address (or from an unknown one). */
export const signInEmailAddressThrottleKey = (email: string, address: string | undefined) =>
  sha256(`sign-in-email-address:${normalEmail(email)}\n${address ? addressSubject(address) : "unknown"}`);

/** The row key for a client address (hashed too). */
export const signInAddressThrottleKey = (address: string) => sha256(`sign-in-address:${addressSubject(address)}`);

/** Sign-up counts have their own window length: their keys are told apart by this prefix. */
const SIGN_UP_KEY_PREFIX = "sign-up:";

/** The row key of sign-ups from a client address. */
export const signUpAddressThrottleKey = (address: string) => SIGN_UP_KEY_PREFIX + sha256(`sign-up-address:${addressSubject(address)}`);

/** Counts one attempt under `key`: its count in the current window, and when that window ends. */
async function countAttempt(key: string, windowSeconds: number): Promise<{ attempts: number; retryAfterSeconds: number }> {
  const windowEnded = sql`${signInThrottles.windowStartedAt} <= now() - make_interval(secs => ${windowSeconds})`;
  const [row] = await getDb()
    .insert(signInThrottles)
    .values({ key, attempts: 1, windowStartedAt: sql`now()` })
    .onConflictDoUpdate({
      target: signInThrottles.key,
      set: {
        attempts: sql`case when ${windowEnded} then 1 else ${signInThrottles.attempts} + 1 end`,
        windowStartedAt: sql`case when ${windowEnded} then now() else ${signInThrottles.windowStartedAt} end`,
      },
    })
    .returning({
      attempts: signInThrottles.attempts,
      retryAfterSeconds: sql<number>`greatest(1, ceil(extract(epoch from ${signInThrottles.windowStartedAt} + make_interval(secs => ${windowSeconds}) - now())))::int`,
    });
  return row;
}

/** Counts one sign-in attempt for `email` from `clientAddress` (when known) and says whether it may go ahead. */
export async function countSignInAttempt(email: string, clientAddress?: string): Promise<ThrottleDecision> {
  const { signInMaxAttempts, signInEmailMaxAttempts, signInAddressMaxAttempts, signInWindowSeconds } = settings();
  const byPair = await countAttempt(signInEmailAddressThrottleKey(email, clientAddress), signInWindowSeconds);
  const byEmail = await countAttempt(signInThrottleKey(email), signInWindowSeconds);
  if (clientAddress && signInAddressMaxAttempts > 0) {
    const byAddress = await countAttempt(signInAddressThrottleKey(clientAddress), signInWindowSeconds);
    if (byAddress.attempts > signInAddressMaxAttempts) return { allowed: false, scope: "address", retryAfterSeconds: byAddress.retryAfterSeconds };
  }
  if (byPair.attempts > signInMaxAttempts) return { allowed: false, scope: "email_address", retryAfterSeconds: byPair.retryAfterSeconds };
  if (byEmail.attempts > signInEmailMaxAttempts) return { allowed: false, scope: "email", retryAfterSeconds: byEmail.retryAfterSeconds };
  return { allowed: true, retryAfterSeconds: 0 };
}

/** A successful sign-in clears its email-and-address count and takes its attempt back from the email's and the address's. */
export async function forgiveSignInAttempts(email: string, clientAddress?: string): Promise<void> {
  await getDb().delete(signInThrottles).where(eq(signInThrottles.key, signInEmailAddressThrottleKey(email, clientAddress)));
  const keys = [signInThrottleKey(email), ...(clientAddress && settings().signInAddressMaxAttempts > 0 ? [signInAddressThrottleKey(clientAddress)] : [])];
  for (const key of keys) {
    await getDb()
      .update(signInThrottles)
      .set({ attempts: sql`greatest(${signInThrottles.attempts} - 1, 0)` })
      .where(eq(signInThrottles.key, key));
  }
}

/** Counts one sign-up from `clientAddress` (unknown: not counted) and says whether it may go ahead. */
export async function countSignUpAttempt(clientAddress?: string): Promise<ThrottleDecision> {
  const { signUpAddressMaxAttempts, signUpWindowSeconds } = settings();
  if (!clientAddress || signUpAddressMaxAttempts <= 0) return { allowed: true, retryAfterSeconds: 0 };
  const byAddress = await countAttempt(signUpAddressThrottleKey(clientAddress), signUpWindowSeconds);
  if (byAddress.attempts > signUpAddressMaxAttempts) return { allowed: false, scope: "address", retryAfterSeconds: byAddress.retryAfterSeconds };
  return { allowed: true, retryAfterSeconds: 0 };
}

/** Deletes counts whose window has ended (they would restart at 1 anyway), each by its own window length. Returns how many. */
export async function deleteEndedSignInWindows(): Promise<number> {
  const { signInWindowSeconds, signUpWindowSeconds } = settings();
  const ended = (seconds: number) => lt(signInThrottles.windowStartedAt, new Date(Date.now() - seconds * 1000));
  const signUp = like(signInThrottles.key, `${SIGN_UP_KEY_PREFIX}%`);
  const deleted = await getDb()
    .delete(signInThrottles)
    .where(or(and(signUp, ended(signUpWindowSeconds)), and(not(signUp), ended(signInWindowSeconds))))
    .returning({ key: signInThrottles.key });
  return deleted.length;
}
