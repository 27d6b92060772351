/**
 * Limits (issue 14): tRPC body size, batch size and input depth through the real tRPC handler
 * (src/server/api/trpc-handler.ts); sign-up throttling per client address; sign-in throttling per
 * email and address under a per-email ceiling; transparent re-hashing of older password hashes.
 */
import { randomInt, scryptSync } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleTrpcRequest } from "../../../src/server/api/trpc-handler";
import { resetSettingsForTests } from "../../../src/server/config";
import { getDb } from "../../../src/server/db/client";
import { users } from "../../../src/server/db/schema";
import { CLIENT_ADDRESS_HEADER, clientAddressHeader } from "../../../src/server/http/client-address";
import { MAX_TRPC_BATCH_SIZE } from "../../../src/server/input";
import { callerFor, captureLogs, expectTrpcError, signUpUser, uniqueEmail } from "../support/fixtures";

const BASE = "http://flagpost.local/api/trpc";

beforeAll(() => {
  // Small limits so that the tests reach them quickly.
  process.env.TRPC_MAX_BODY_BYTES = String(64 * 1024);
  process.env.SIGN_UP_ADDRESS_MAX_ATTEMPTS = "3";
  process.env.SIGN_IN_EMAIL_MAX_ATTEMPTS = "15";
  resetSettingsForTests();
});
afterAll(() => {
  for (const name of ["TRPC_MAX_BODY_BYTES", "SIGN_UP_ADDRESS_MAX_ATTEMPTS", "SIGN_IN_EMAIL_MAX_ATTEMPTS"]) delete process.env[name];
  resetSettingsForTests();
});

// Distinct documentation addresses (RFC 5737) for each use in this file.
let nextAddress = randomInt(0, 200);
const newAddress = () => `203.0.113.${++nextAddress}`;
const from = (address: string) => callerFor(null, { [CLIENT_ADDRESS_HEADER]: clientAddressHeader(address) });

async function trpcError(response: Response): Promise<{ status: number; codes: string[] }> {
  const body = (await response.json()) as { error?: { data: { code: string } } } | { error?: { data: { code: string } } }[];
  const errors = (Array.isArray(body) ? body : [body]).map((entry) => entry.error?.data.code ?? "OK");
  return { status: response.status, codes: errors };
}

describe("tRPC request limits", () => {
  it("trpcBody__declaredOverTheLimit__413BeforeReadingOrParsing", async () => {
    // Given a sign-in whose body (declared by Content-Length) is over the 64 KiB limit, and one streamed without a length
    const large = JSON.stringify({ email: "a@example.com", password: "x".repeat(100 * 1024) });
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 1000) controller.close();
        else controller.enqueue(new Uint8Array(16 * 1024).fill(0x20));
      },
    });

    // When both are posted
    const declared = await handleTrpcRequest(new Request(`${BASE}/auth.signIn`, { method: "POST", headers: { "content-type": "application/json", "content-length": String(large.length) }, body: large }));
    const streamed = await handleTrpcRequest(new Request(`${BASE}/auth.signIn`, { method: "POST", headers: { "content-type": "application/json" }, body: stream, duplex: "half" } as RequestInit));

    // Then both are refused with 413 (PAYLOAD_TOO_LARGE), the stream after reading just past the limit
    expect(await trpcError(declared)).toEqual({ status: 413, codes: ["PAYLOAD_TOO_LARGE"] });
    expect(await trpcError(streamed)).toEqual({ status: 413, codes: ["PAYLOAD_TOO_LARGE"] });
    expect(pulled).toBeLessThan(10);
  });

  it("trpcBatch__moreThanTheLimit__400ForEveryCallAndNothingRuns", async () => {
    // Given a batch one call larger than allowed, and one at the limit
    const paths = (count: number) => Array(count).fill("auth.me").join(",");

    // When both are requested
    const over = await handleTrpcRequest(new Request(`${BASE}/${paths(MAX_TRPC_BATCH_SIZE + 1)}?batch=1&input=%7B%7D`));
    const atLimit = await handleTrpcRequest(new Request(`${BASE}/${paths(MAX_TRPC_BATCH_SIZE)}?batch=1&input=%7B%7D`));

    // Then the first is a 400, the second is answered
    const refused = await trpcError(over);
    expect(refused.status).toBe(400);
    expect(new Set(refused.codes)).toEqual(new Set(["BAD_REQUEST"]));
    expect(atLimit.status).toBe(200);
  });

  it("trpcInput__nested5000Deep__400BeforeParsing", async () => {
    // Given an import whose document is nested 5,000 deep (as JSON text: JSON.stringify itself would overflow)
    const user = await signUpUser();
    const deep = '{"a":'.repeat(5000) + "1" + "}".repeat(5000);

    // When it is posted, and the same depth arrives as a GET input
    const post = await handleTrpcRequest(
      new Request(`${BASE}/imports.flagsmith`, { method: "POST", headers: { "content-type": "application/json", cookie: `flagpost_session=${user.token}` }, body: `{"projectId":1,"document":${deep}}` }),
    );
    const get = await handleTrpcRequest(new Request(`${BASE}/features.list?input=${encodeURIComponent(`{"projectId":1,"search":${"[".repeat(3000)}${"]".repeat(3000)}}`)}`));

    // Then both are 400s
    expect(await trpcError(post)).toEqual({ status: 400, codes: ["BAD_REQUEST"] });
    expect(await trpcError(get)).toEqual({ status: 400, codes: ["BAD_REQUEST"] });
  });

  it("importBody__largerThanTheTrpcLimit__onlyForSignedInCallers", async () => {
    // Given a 200 KiB import body (over the 64 KiB tRPC limit, under the import limit)
    const user = await signUpUser();
    const body = JSON.stringify({ projectId: 2147483000, document: { api_key: "k", padding: "x".repeat(200 * 1024) } });
    const post = (headers: Record<string, string>) =>
      handleTrpcRequest(new Request(`${BASE}/imports.flagsmith`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body }));

    // When it is posted anonymously and signed in
    const anonymous = await post({});
    const signedIn = await post({ cookie: `flagpost_session=${user.token}` });

    // Then the anonymous one is refused for its size, the signed-in one reaches the procedure (no such project here)
    expect(await trpcError(anonymous)).toEqual({ status: 413, codes: ["PAYLOAD_TOO_LARGE"] });
    expect((await trpcError(signedIn)).codes).toEqual(["NOT_FOUND"]);
  });
});

describe("sign-up throttling (SIGN_UP_ADDRESS_MAX_ATTEMPTS=3 here)", () => {
  it("signUp__overTheLimitFromOneAddress__429WithRetryAfterNothingCreatedOtherAddressesFine", async () => {
    // Given three sign-ups from one address (one of them for a taken email: every attempt counts)
    const address = newAddress();
    const taken = await signUpUser();
    await from(address).auth.signUp({ email: uniqueEmail("su1"), name: "One", password: "long enough" });
    await expectTrpcError(from(address).auth.signUp({ email: taken.email, name: "Dup", password: "long enough" }), "CONFLICT");
    await from(address).auth.signUp({ email: uniqueEmail("su3"), name: "Three", password: "long enough" });

    // When a fourth arrives from it
    const email = uniqueEmail("su4");
    const resHeaders = new Headers();
    const { createCaller } = await import("../../../src/server/api/trpc-router");
    const { createCallerContext } = await import("../../../src/server/auth/procedures");
    const caller = createCaller({ ...createCallerContext(null, { [CLIENT_ADDRESS_HEADER]: clientAddressHeader(address) }), resHeaders });
    const refused = await expectTrpcError(caller.auth.signUp({ email, name: "Four", password: "long enough" }), "TOO_MANY_REQUESTS");

    // Then it is refused with when to retry, no account exists, and another address still signs up
    expect(refused.message).toMatch(/^Too many sign-ups from your network\. Try again in (59|60) minutes\.$/);
    expect(Number(resHeaders.get("retry-after"))).toBeGreaterThan(3500);
    expect(await getDb().select().from(users).where(sql`lower(${users.email}) = ${email}`)).toEqual([]);
    await expect(from(newAddress()).auth.signUp({ email, name: "Four", password: "long enough" })).resolves.toMatchObject({ userId: expect.any(String) });
  });
});

describe("throttle cleanup", () => {
  it("sessionsCleanup__signUpCounts__keptForTheirOwnLongerWindow", async () => {
    // Given sign-up counts of two addresses, started 20 minutes and 61 minutes ago (window: 60 minutes)
    const [recent, old] = [newAddress(), newAddress()];
    await from(recent).auth.signUp({ email: uniqueEmail("cl1"), name: "Recent", password: "long enough" });
    await from(old).auth.signUp({ email: uniqueEmail("cl2"), name: "Old", password: "long enough" });
    const { signUpAddressThrottleKey } = await import("../../../src/server/auth/throttle");
    const { signInThrottles } = await import("../../../src/server/db/schema");
    await getDb().update(signInThrottles).set({ windowStartedAt: new Date(Date.now() - 20 * 60_000) }).where(eq(signInThrottles.key, signUpAddressThrottleKey(recent)));
    await getDb().update(signInThrottles).set({ windowStartedAt: new Date(Date.now() - 61 * 60_000) }).where(eq(signInThrottles.key, signUpAddressThrottleKey(old)));

    // When the hourly cleanup runs (sign-in windows are 15 minutes)
    const { sessionsCleanup } = await import("../../../src/worker/tasks/sessions_cleanup");
    await sessionsCleanup.handler({}, {} as never);

    // Then only the count whose own window ended is gone
    const keys = (await getDb().select({ key: signInThrottles.key }).from(signInThrottles)).map((row) => row.key);
    expect(keys).toContain(signUpAddressThrottleKey(recent));
    expect(keys).not.toContain(signUpAddressThrottleKey(old));
  });
});

describe("sign-in throttling per email and address (SIGN_IN_MAX_ATTEMPTS=10, SIGN_IN_EMAIL_MAX_ATTEMPTS=15 here)", () => {
  it("signIn__strangerFailsTenTimesElsewhere__ownerStillSignsInFromTheirAddress", async () => {
    // Given a stranger who typed ten wrong passwords for a user's email from their own address
    const user = await signUpUser();
    const stranger = newAddress();
    for (let i = 0; i < 10; i++) await expectTrpcError(from(stranger).auth.signIn({ email: user.email, password: `guess-${i}` }), "UNAUTHORIZED");

    // When the stranger tries again, and the owner signs in from their address
    const refused = await expectTrpcError(from(stranger).auth.signIn({ email: user.email, password: "guess-10" }), "TOO_MANY_REQUESTS");

    // Then only the stranger is refused; the owner is not locked out
    expect(refused.message).toMatch(/^Too many sign-in attempts for this email\./);
    await expect(from(newAddress()).auth.signIn({ email: user.email, password: user.password })).resolves.toMatchObject({ userId: user.userId });
  });

  it("signIn__guessesFromManyAddresses__refusedEverywhereAtTheEmailCeiling", async () => {
    // Given sixteen wrong passwords for one email from two addresses (ten and six)
    const user = await signUpUser();
    const [first, second] = [newAddress(), newAddress()];
    for (let i = 0; i < 10; i++) await expectTrpcError(from(first).auth.signIn({ email: user.email, password: `a-${i}` }), "UNAUTHORIZED");
    for (let i = 0; i < 5; i++) await expectTrpcError(from(second).auth.signIn({ email: user.email, password: `b-${i}` }), "UNAUTHORIZED");
    await expectTrpcError(from(second).auth.signIn({ email: user.email, password: "b-5" }), "TOO_MANY_REQUESTS");

    // When the right password arrives from a third address
    const capture = captureLogs();
    try {
      await expectTrpcError(from(newAddress()).auth.signIn({ email: user.email, password: user.password }), "TOO_MANY_REQUESTS");

      // Then it is refused by the email's ceiling (logged as such)
      expect(capture.events("user.sign_in_throttled").map((line) => line["throttle.scope"])).toEqual(["email"]);
    } finally {
      capture.stop();
    }
  });
});

describe("password re-hashing", () => {
  it("signIn__hashWithOlderParameters__replacedByACurrentHashOnce", async () => {
    // Given a user whose stored hash was made with N=2^14 (before the parameters were raised)
    const user = await signUpUser();
    const salt = Buffer.from("fedcba9876543210");
    const key = scryptSync(user.password, salt, 64, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const legacy = ["scrypt", 16384, 8, 1, salt.toString("base64"), key.toString("base64")].join("$");
    await getDb().update(users).set({ passwordHash: legacy }).where(eq(users.id, user.userId));

    // When they sign in (twice)
    const capture = captureLogs();
    try {
      await callerFor(null).auth.signIn({ email: user.email, password: user.password });
      const [row] = await getDb().select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, user.userId));
      await callerFor(null).auth.signIn({ email: user.email, password: user.password });

      // Then the hash now uses N=2^17, r=8, p=1 and still verifies; it was re-hashed once
      expect(row.passwordHash).toMatch(/^scrypt\$131072\$8\$1\$/);
      expect(capture.events("user.password_rehashed")).toHaveLength(1);
      expect(JSON.stringify(capture.lines)).not.toContain(salt.toString("base64"));
    } finally {
      capture.stop();
    }
  });
});
