import { randomInt } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { memberships, organisations, signInThrottles, users } from "../../../src/server/db/schema";
import { sessionsCleanup } from "../../../src/worker/tasks/sessions_cleanup";
import { signInAddressThrottleKey, signInEmailAddressThrottleKey, signInThrottleKey } from "../../../src/server/auth/throttle";
import { resetSettingsForTests } from "../../../src/server/config";
import { CLIENT_ADDRESS_HEADER, clientAddressHeader } from "../../../src/server/http/client-address";
import { apiKeyCaller, callerFor, captureLogs, expectTrpcError, signUpUser, uniqueEmail } from "../support/fixtures";

describe("sign up, sign in, sign out", () => {
  it("signUp__newEmail__createsUserOrganisationAdminMembershipAndSessionCookie", async () => {
    // Given an anonymous caller
    const anonymous = callerFor(null);
    const email = uniqueEmail("New.Person");

    // When they sign up
    const result = await anonymous.auth.signUp({ email, name: "New Person", password: "long enough", organisationName: "Acme" });

    // Then a user (email lower-cased, password hashed), an organisation and an ADMIN membership exist
    const [user] = await getDb().select().from(users).where(eq(users.id, result.userId));
    expect(user.email).toBe(email.toLowerCase());
    expect(user.passwordHash).toMatch(/^scrypt\$/);
    expect(user.passwordHash).not.toContain("long enough");
    const [organisation] = await getDb().select().from(organisations).where(eq(organisations.id, result.organisationId));
    expect(organisation.name).toBe("Acme");
    const [membership] = await getDb().select().from(memberships).where(eq(memberships.userId, result.userId));
    expect(membership.role).toBe("ADMIN");
  });

  it("signIn__correctPassword__setsHttpOnlySameSiteSessionCookie", async () => {
    // Given a user
    const user = await signUpUser();
    const resHeaders = new Headers();
    const caller = (await import("../../../src/server/api/trpc-router")).createCaller({
      ...(await import("../../../src/server/auth/procedures")).createCallerContext(null),
      resHeaders,
    });

    // When they sign in
    await caller.auth.signIn({ email: user.email.toUpperCase(), password: user.password });

    // Then the response sets an opaque httpOnly SameSite cookie
    const cookie = resHeaders.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^flagpost_session=[A-Za-z0-9_-]{40,};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
  });

  it("signIn__wrongPasswordOrUnknownEmail__sameUnauthorizedError", async () => {
    // Given a user
    const user = await signUpUser();
    const anonymous = callerFor(null);

    // When signing in with a wrong password and with an unknown email
    const wrong = await expectTrpcError(anonymous.auth.signIn({ email: user.email, password: "not the password" }), "UNAUTHORIZED");
    const unknown = await expectTrpcError(anonymous.auth.signIn({ email: uniqueEmail(), password: "whatever1" }), "UNAUTHORIZED");

    // Then both get the same message
    expect(wrong.message).toBe(unknown.message);
  });

  it("signUp__duplicateEmailOrShortPassword__typedErrorsAndNothingWritten", async () => {
    // Given an existing user
    const user = await signUpUser();
    const anonymous = callerFor(null);
    const before = (await getDb().select().from(users)).length;

    // When signing up again with the same email (different case), or with a short password
    await expectTrpcError(anonymous.auth.signUp({ email: user.email.toUpperCase(), name: "X", password: "long enough" }), "CONFLICT");
    await expectTrpcError(anonymous.auth.signUp({ email: uniqueEmail(), name: "X", password: "short" }), "BAD_REQUEST");
    await expectTrpcError(anonymous.auth.signUp({ email: "not-an-email", name: "X", password: "long enough" }), "BAD_REQUEST");

    // Then no user was created
    expect((await getDb().select().from(users)).length).toBe(before);
  });

  it("signOut__session__sessionNoLongerAuthenticates", async () => {
    // Given a signed-in user
    const user = await signUpUser();
    const { principalFromSessionToken } = await import("../../../src/server/auth/principal");

    // When they sign out
    await user.caller.auth.signOut();

    // Then the token is dead
    expect(await principalFromSessionToken(user.token)).toBeNull();
  });

  it("crossSiteMutation__foreignOrigin__forbiddenEvenForSignIn", async () => {
    // Given a signed-in user's cookie replayed from another site
    const user = await signUpUser();
    const evil = callerFor(user.principal, { origin: "https://evil.example", host: "flagpost.local", "sec-fetch-site": "cross-site" });

    // When a mutation arrives cross-site
    // Then it is refused before anything runs
    await expectTrpcError(evil.projects.create({ organisationId: user.organisationId, name: "csrf" }), "FORBIDDEN");
    await expectTrpcError(callerFor(null, { origin: "https://evil.example", host: "flagpost.local" }).auth.signIn({ email: user.email, password: user.password }), "FORBIDDEN");
    expect(await user.caller.projects.list({ organisationId: user.organisationId })).toEqual([]);
    // …while a same-origin browser request is fine
    const same = callerFor(user.principal, { origin: "http://flagpost.local", host: "flagpost.local", "sec-fetch-site": "same-origin" });
    await expect(same.projects.create({ organisationId: user.organisationId, name: "ok" })).resolves.toMatchObject({ name: "ok" });
  });

  it("logs__signInAndSignUp__neverContainPasswordsOrTokens", async () => {
    // Given log capture
    const capture = captureLogs();
    try {
      // When a user signs up, signs in (also wrongly) and signs out
      const user = await signUpUser();
      await callerFor(null).auth.signIn({ email: user.email, password: user.password });
      await expectTrpcError(callerFor(null).auth.signIn({ email: user.email, password: "wrong-password" }), "UNAUTHORIZED");

      // Then no line contains the password or the session token
      const text = capture.lines.map((l) => JSON.stringify(l)).join("\n");
      expect(text).toContain("user.signed_in");
      expect(text).not.toContain(user.password);
      expect(text).not.toContain("wrong-password");
      expect(text).not.toContain(user.token);
    } finally {
      capture.stop();
    }
  });

  describe("sign-in throttling (SIGN_IN_MAX_ATTEMPTS=10 per SIGN_IN_WINDOW_SECONDS=900)", () => {
    const signInCaller = async () => {
      const resHeaders = new Headers();
      const caller = (await import("../../../src/server/api/trpc-router")).createCaller({
        ...(await import("../../../src/server/auth/procedures")).createCallerContext(null),
        resHeaders,
      });
      return { caller, resHeaders };
    };

    // Each test checks a score of passwords at scrypt N=2^17 (~0.3 s each, several times that on a busy machine).
    it("signIn__tenWrongPasswords__eleventhRefusedEvenWithRightPasswordWithRetryAfter", { timeout: 180_000 }, async () => {
      // Given a user and ten wrong passwords for their email
      const user = await signUpUser();
      const firstAttempt = Date.now();
      for (let i = 0; i < 10; i++) await expectTrpcError(callerFor(null).auth.signIn({ email: user.email, password: `wrong-${i}` }), "UNAUTHORIZED");

      // When the right password is tried (with the email in another case)
      const { caller, resHeaders } = await signInCaller();
      const refused = await expectTrpcError(caller.auth.signIn({ email: user.email.toUpperCase(), password: user.password }), "TOO_MANY_REQUESTS");

      // Then it is refused with when to retry, and no session cookie is set
      expect(refused.message).toMatch(/^Too many sign-in attempts for this email\. Try again in 15 minutes\.$/);
      // (the window started at the first attempt; ten scrypt checks take seconds on a busy machine)
      const retryAfter = Number(resHeaders.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(900 - Math.ceil((Date.now() - firstAttempt) / 1000) - 1);
      expect(retryAfter).toBeLessThanOrEqual(900);
      expect(resHeaders.get("set-cookie")).toBeNull();
      // …while another email is not affected
      const other = await signUpUser();
      await expect(callerFor(null).auth.signIn({ email: other.email, password: other.password })).resolves.toMatchObject({ userId: other.userId });
    });

    it("signIn__windowEnded__rightPasswordWorksAndCountIsCleared", { timeout: 180_000 }, async () => {
      // Given an email locked by eleven attempts
      const user = await signUpUser();
      for (let i = 0; i < 11; i++) await callerFor(null).auth.signIn({ email: user.email, password: `wrong-${i}` }).catch(() => undefined);
      await expectTrpcError(callerFor(null).auth.signIn({ email: user.email, password: user.password }), "TOO_MANY_REQUESTS");

      // When its window ends
      const keys = [signInThrottleKey(user.email), signInEmailAddressThrottleKey(user.email, undefined)];
      await getDb().execute(sql`update sign_in_throttles set window_started_at = now() - interval '901 seconds' where key in (${sql.join(keys, sql`, `)})`);

      // Then the right password works, and the count is gone, so ten more mistakes are tolerated
      await expect(callerFor(null).auth.signIn({ email: user.email, password: user.password })).resolves.toMatchObject({ userId: user.userId });
      for (let i = 0; i < 10; i++) await expectTrpcError(callerFor(null).auth.signIn({ email: user.email, password: `again-${i}` }), "UNAUTHORIZED");
      await expectTrpcError(callerFor(null).auth.signIn({ email: user.email, password: "again-10" }), "TOO_MANY_REQUESTS");
    });

    it("signIn__successBeforeTheLimit__forgivesEarlierMistakes", { timeout: 180_000 }, async () => {
      // Given nine wrong passwords, then the right one
      const user = await signUpUser();
      for (let i = 0; i < 9; i++) await expectTrpcError(callerFor(null).auth.signIn({ email: user.email, password: `wrong-${i}` }), "UNAUTHORIZED");
      await callerFor(null).auth.signIn({ email: user.email, password: user.password });

      // When ten more wrong passwords follow
      const codes: string[] = [];
      for (let i = 0; i < 10; i++) codes.push((await expectTrpcError(callerFor(null).auth.signIn({ email: user.email, password: `later-${i}` }), "UNAUTHORIZED")).code);

      // Then all ten are checked (none refused), so the count restarted at the success
      expect(codes).toEqual(Array(10).fill("UNAUTHORIZED"));
    });

    it("signIn__burstOfParallelGuesses__exactlyTheLimitIsChecked", async () => {
      // Given fifteen guesses for one unknown email sent at once
      const email = uniqueEmail("burst");
      const outcomes = await Promise.all(
        Array.from({ length: 15 }, (_, i) =>
          callerFor(null)
            .auth.signIn({ email, password: `guess-${i}` })
            .then(
              () => "OK",
              (error: { code?: string }) => error.code ?? "?",
            ),
        ),
      );

      // Then exactly ten reached the password check and five were refused outright
      expect(outcomes.filter((c) => c === "UNAUTHORIZED")).toHaveLength(10);
      expect(outcomes.filter((c) => c === "TOO_MANY_REQUESTS")).toHaveLength(5);
      // …and the count is keyed by a hash, never the email itself
      const rows = await getDb().select().from(signInThrottles);
      expect(JSON.stringify(rows)).not.toContain(email);
    });

    it("sessionsCleanup__endedWindows__deletedWhileCurrentOnesStay", async () => {
      // Given one email whose window has ended and one whose window is current
      const ended = uniqueEmail("ended");
      const current = uniqueEmail("current");
      await expectTrpcError(callerFor(null).auth.signIn({ email: ended, password: "wrong-pass" }), "UNAUTHORIZED");
      await expectTrpcError(callerFor(null).auth.signIn({ email: current, password: "wrong-pass" }), "UNAUTHORIZED");
      await getDb()
        .update(signInThrottles)
        .set({ windowStartedAt: new Date(Date.now() - 901_000) })
        .where(eq(signInThrottles.key, signInThrottleKey(ended)));

      // When the hourly cleanup runs
      await sessionsCleanup.handler({}, {} as never);

      // Then only the ended window is gone
      const keys = (await getDb().select({ key: signInThrottles.key }).from(signInThrottles)).map((r) => r.key);
      expect(keys).not.toContain(signInThrottleKey(ended));
      expect(keys).toContain(signInThrottleKey(current));
    });
  });

  describe("sign-in throttling per client address (SIGN_IN_ADDRESS_MAX_ATTEMPTS=5 here)", () => {
    beforeAll(() => {
      process.env.SIGN_IN_ADDRESS_MAX_ATTEMPTS = "5";
      resetSettingsForTests();
    });
    afterAll(() => {
      delete process.env.SIGN_IN_ADDRESS_MAX_ATTEMPTS;
      resetSettingsForTests();
    });
    // Distinct documentation addresses (RFC 5737) for each use in this file.
    let next = randomInt(0, 200);
    const newAddress = () => `198.51.100.${++next}`;
    const from = (address: string) => callerFor(null, { [CLIENT_ADDRESS_HEADER]: clientAddressHeader(address) });

    it("signIn__wrongPasswordsForManyEmailsFromOneAddress__refusedThereOnlyEvenForARealAccount", async () => {
      // Given five wrong passwords from one address, each for a different email
      const address = newAddress();
      const user = await signUpUser();
      for (let i = 0; i < 5; i++) await expectTrpcError(from(address).auth.signIn({ email: uniqueEmail(`spray${i}`), password: "Summer2026!" }), "UNAUTHORIZED");

      // When a real user signs in from that address with the right password
      const refused = await expectTrpcError(from(address).auth.signIn({ email: user.email, password: user.password }), "TOO_MANY_REQUESTS");

      // Then it is refused as coming from a throttled network; from elsewhere the same sign-in works
      expect(refused.message).toMatch(/^Too many sign-in attempts from your network\. Try again in 15 minutes\.$/);
      await expect(from(newAddress()).auth.signIn({ email: user.email, password: user.password })).resolves.toMatchObject({ userId: user.userId });
      // …and the address is stored only as a hash
      const [row] = await getDb().select().from(signInThrottles).where(eq(signInThrottles.key, signInAddressThrottleKey(address)));
      expect(row.attempts).toBe(6);
      expect(JSON.stringify(await getDb().select().from(signInThrottles))).not.toContain(address);
    });

    it("signIn__successesFromOneAddress__doNotUseUpItsAllowanceNorResetIt", async () => {
      // Given an office address from which four wrong passwords were typed
      const address = newAddress();
      const user = await signUpUser();
      for (let i = 0; i < 4; i++) await expectTrpcError(from(address).auth.signIn({ email: user.email, password: `typo-${i}` }), "UNAUTHORIZED");

      // When colleagues sign in successfully from it many times
      for (let i = 0; i < 8; i++) await from(address).auth.signIn({ email: user.email, password: user.password });

      // Then those sign-ins used nothing up and forgave nothing: one more mistake is allowed, the next is refused
      await expectTrpcError(from(address).auth.signIn({ email: user.email, password: "typo-4" }), "UNAUTHORIZED");
      await expectTrpcError(from(address).auth.signIn({ email: user.email, password: user.password }), "TOO_MANY_REQUESTS");
    });

    it("signIn__forgedAddressHeader__ignoredSoNoAddressIsCounted", async () => {
      // Given a caller that sends the address header without this process's stamp
      const forged = newAddress();
      const caller = callerFor(null, { [CLIENT_ADDRESS_HEADER]: forged });

      // When it fails to sign in more often than the address limit
      for (let i = 0; i < 6; i++) await expectTrpcError(caller.auth.signIn({ email: uniqueEmail("forged"), password: "guess-guess" }), "UNAUTHORIZED");

      // Then nothing was counted for that address
      expect(await getDb().select().from(signInThrottles).where(eq(signInThrottles.key, signInAddressThrottleKey(forged)))).toEqual([]);
    });
  });
});

describe("changing a password", () => {
  const signedIn = async (email: string, password: string) => {
    const session = await callerFor(null).auth.signIn({ email, password });
    return session;
  };

  it("changePassword__rightCurrentPassword__newOneWorksOldOneNotOtherSessionsEndThisOneStays", async () => {
    // Given a user signed in twice (this browser and another one)
    const user = await signUpUser();
    const other = await import("../../../src/server/auth/service").then((m) => m.signIn({ email: user.email, password: user.password }));
    const { principalFromSessionToken } = await import("../../../src/server/auth/principal");
    expect(await principalFromSessionToken(other.token)).not.toBeNull();

    // When they change their password in this one
    const result = await user.caller.auth.changePassword({ currentPassword: user.password, newPassword: "a brand new secret" });

    // Then the other session has ended, this one still works, the new password signs in and the old one does not
    expect(result).toEqual({ otherSessionsEnded: 1 });
    expect(await principalFromSessionToken(other.token)).toBeNull();
    expect(await principalFromSessionToken(user.token)).toMatchObject({ userId: user.userId });
    await expect(signedIn(user.email, "a brand new secret")).resolves.toMatchObject({ userId: user.userId });
    await expectTrpcError(callerFor(null).auth.signIn({ email: user.email, password: user.password }), "UNAUTHORIZED");
  });

  it("changePassword__wrongCurrentOrShortNew__badRequestOnTheFieldAndNothingChanges", async () => {
    // Given a signed-in user
    const user = await signUpUser();

    // When the current password is wrong, or the new one too short
    const wrong = await expectTrpcError(user.caller.auth.changePassword({ currentPassword: "not my password", newPassword: "a brand new secret" }), "BAD_REQUEST");
    const short = await expectTrpcError(user.caller.auth.changePassword({ currentPassword: user.password, newPassword: "short" }), "BAD_REQUEST");

    // Then each is refused on its field, and the old password still signs in
    expect(wrong.message).toBe("Current password is incorrect");
    // (in-process callers see zod's issues; over HTTP they arrive as the field's error)
    expect(short.message).toContain("Password must be at least 8 characters");
    expect(short.message).toContain("newPassword");
    await expect(signedIn(user.email, user.password)).resolves.toMatchObject({ userId: user.userId });
  });

  it("changePassword__guessingWithAStolenSession__throttledLikeSignIn", async () => {
    // Given a session used to guess the current password ten times
    const user = await signUpUser();
    for (let i = 0; i < 10; i++) await expectTrpcError(user.caller.auth.changePassword({ currentPassword: `guess-${i}`, newPassword: "a brand new secret" }), "BAD_REQUEST");

    // When the right one is tried next
    const refused = await expectTrpcError(user.caller.auth.changePassword({ currentPassword: user.password, newPassword: "a brand new secret" }), "TOO_MANY_REQUESTS");

    // Then it is refused without being checked, and signing in is locked the same way
    expect(refused.message).toMatch(/^Too many sign-in attempts for this email/);
    await expectTrpcError(callerFor(null).auth.signIn({ email: user.email, password: user.password }), "TOO_MANY_REQUESTS");
  });

  it("changePassword__apiKey__forbidden", async () => {
    // Given an organisation API key
    const user = await signUpUser();
    const { caller } = await apiKeyCaller(user);

    // When it tries to change a password
    // Then it is refused
    await expectTrpcError(caller.auth.changePassword({ currentPassword: "whatever-it-is", newPassword: "a brand new secret" }), "FORBIDDEN");
  });
});
