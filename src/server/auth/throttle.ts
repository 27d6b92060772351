/**
 * Sign-in throttling, counted in PostgreSQL so every web process shares the counts, in fixed windows
 * of `signInWindowSeconds`:
 *
 * - per email: at most `signInMaxAttempts` unsuccessful attempts (guessing one account's password);
 * - per client address (IPv4, or IPv6 /64), across all emails: at most `signInAddressMaxAttempts`
 *   unsuccessful attempts (trying many accounts, or locking many out, from one place).
 *
 * An attempt is counted *before* the password is checked, so a burst of parallel guesses cannot
 * slip past a limit while their hashes are being verified. A success clears its email's count and
 * takes its own attempt back from the address's count (so signing in to an account of one's own
 * does not reset what the address has failed). Once a limit is reached every attempt it covers
 * (right password or not) is refused until the window ends, without checking the password, so the
 * refusal reveals nothing about it.
 */
import { eq, lt, sql } from "drizzle-orm";
import { settings } from "@/server/config";
import { getDb } from "@/server/db/client";
import { signInThrottles } from "@/server/db/schema";
import { addressSubject } from "@/server/http/client-address";
import { sha256 } from "./crypto";

export interface ThrottleDecision {
  allowed: boolean;
  /** Which limit refused it (only when refused). */
  scope?: "email" | "address";
  /** Seconds until the current window ends (only meaningful when refused). */
  retryAfterSeconds: number;
}

/** The row key for an email: a hash, so no address is stored. */
export const signInThrottleKey = (email: string) => sha256(`sign-in:${email.trim().toLowerCase()}`);

/** The row key for a client address (hashed too). */
export const signInAddressThrottleKey = (address: string) => sha256(`sign-in-address:${addressSubject(address)}`);

/** Counts one attempt under `key`: its count in the current window, and when that window ends. */
async function countAttempt(key: string): Promise<{ attempts: number; retryAfterSeconds: number }> {
  const { signInWindowSeconds } = settings();
  const windowEnded = sql`${signInThrottles.windowStartedAt} <= now() - make_interval(secs => ${signInWindowSeconds})`;
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
      retryAfterSeconds: sql<number>`greatest(1, ceil(extract(epoch from ${signInThrottles.windowStartedAt} + make_interval(secs => ${signInWindowSeconds}) - now())))::int`,
    });
  return row;
}

/** Counts one attempt for `email` (and for `clientAddress`, when known) and says whether it may go ahead. */
export async function countSignInAttempt(email: string, clientAddress?: string): Promise<ThrottleDecision> {
  const { signInMaxAttempts, signInAddressMaxAttempts } = settings();
  const byEmail = await countAttempt(signInThrottleKey(email));
  if (clientAddress && signInAddressMaxAttempts > 0) {
    const byAddress = await countAttempt(signInAddressThrottleKey(clientAddress));
    if (byAddress.attempts > signInAddressMaxAttempts) return { allowed: false, scope: "address", retryAfterSeconds: byAddress.retryAfterSeconds };
  }
  if (byEmail.attempts > signInMaxAttempts) return { allowed: false, scope: "email", retryAfterSeconds: byEmail.retryAfterSeconds };
  return { allowed: true, retryAfterSeconds: 0 };
}

/** A successful sign-in clears the email's count and takes its attempt back from the address's. */
export async function forgiveSignInAttempts(email: string, clientAddress?: string): Promise<void> {
  await getDb().delete(signInThrottles).where(eq(signInThrottles.key, signInThrottleKey(email)));
  if (clientAddress && settings().signInAddressMaxAttempts > 0) {
    await getDb()
      .update(signInThrottles)
      .set({ attempts: sql`greatest(${signInThrottles.attempts} - 1, 0)` })
      .where(eq(signInThrottles.key, signInAddressThrottleKey(clientAddress)));
  }
}

/** Deletes counts whose window has ended (they would restart at 1 anyway). Returns how many. */
export async function deleteEndedSignInWindows(): Promise<number> {
  const cutoff = new Date(Date.now() - settings().signInWindowSeconds * 1000);
  const deleted = await getDb().delete(signInThrottles).where(lt(signInThrottles.windowStartedAt, cutoff)).returning({ key: signInThrottles.key });
  return deleted.length;
}
