import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { memberships, organisations, users } from "../../../src/server/db/schema";
import { callerFor, captureLogs, expectTrpcError, signUpUser, uniqueEmail } from "../support/fixtures";

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
    const caller = (await import("../../../src/server/trpc/root")).createCaller({
      ...(await import("../../../src/server/trpc/context")).createCallerContext(null),
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
});
