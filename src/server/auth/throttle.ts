/**
 * Sign-in throttling: at most `signInMaxAttempts` unsuccessful attempts per email in a fixed window
 * of `signInWindowSeconds`, counted in PostgreSQL so every web process shares the count.
 *
 * An attempt is counted *before* the password is checked and forgiven when it succeeds, so a burst
 * of parallel guesses cannot slip past the limit while their hashes are being verified. Once the
 * limit is reached every attempt for that email (right password or not) is refused until the window
 * ends, without checking the password, so the refusal reveals nothing about it.
 */
import { eq, lt, sql } from "drizzle-orm";
import { settings } from "../config";
import { getDb } from "../db/client";
import { signInThrottles } from "../db/schema";
import { sha256 } from "./crypto";

export interface ThrottleDecision {
  allowed: boolean;
  /** Seconds until the current window ends (only meaningful when refused). */
  retryAfterSeconds: number;
}

/** The row key for an email: a hash, so no address is stored. */
export const signInThrottleKey = (email: string) => sha256(`sign-in:${email.trim().toLowerCase()}`);

/** Counts one attempt for `email` and says whether it may go ahead. */
export async function countSignInAttempt(email: string): Promise<ThrottleDecision> {
  const { signInMaxAttempts, signInWindowSeconds } = settings();
  const windowEnded = sql`${signInThrottles.windowStartedAt} <= now() - make_interval(secs => ${signInWindowSeconds})`;
  const [row] = await getDb()
    .insert(signInThrottles)
    .values({ key: signInThrottleKey(email), attempts: 1, windowStartedAt: sql`now()` })
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
  return { allowed: row.attempts <= signInMaxAttempts, retryAfterSeconds: row.retryAfterSeconds };
}

/** A successful sign-in clears the email's count. */
export async function forgiveSignInAttempts(email: string): Promise<void> {
  await getDb().delete(signInThrottles).where(eq(signInThrottles.key, signInThrottleKey(email)));
}

/** Deletes counts whose window has ended (they would restart at 1 anyway). Returns how many. */
export async function deleteEndedSignInWindows(): Promise<number> {
  const cutoff = new Date(Date.now() - settings().signInWindowSeconds * 1000);
  const deleted = await getDb().delete(signInThrottles).where(lt(signInThrottles.windowStartedAt, cutoff)).returning({ key: signInThrottles.key });
  return deleted.length;
}
