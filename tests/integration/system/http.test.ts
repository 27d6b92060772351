import pg from "pg";
import { describe, expect, it, inject } from "vitest";
import { signInAddressThrottleKey } from "../../../src/server/auth/throttle";

const base = inject("systemUrl");

async function trpcPost(path: string, input: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}/api/trpc/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(input),
  });
}

describe("web process over HTTP", () => {
  it("signUpOverHttp__thenAuthenticatedQuery__cookieWorksAndMetricsCountRequests", async () => {
    // Given a sign-up through the real tRPC endpoint
    const email = `http-${Date.now()}@example.com`;
    const signUp = await trpcPost("auth.signUp", { email, name: "Http", password: "long enough" });
    expect(signUp.status).toBe(200);
    const cookie = signUp.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/flagpost_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax/);

    // When the cookie is used for a query
    const session = cookie.split(";")[0];
    const me = await fetch(`${base}/api/trpc/auth.me`, { headers: { cookie: session } });

    // Then the user is recognised, and /metrics reports the requests by route
    expect((await me.json()).result.data.email).toBe(email);
    const metrics = await (await fetch(inject("systemMetricsUrl"))).text();
    expect(metrics).toMatch(/flagsmith_http_request_duration_seconds_count\{route="\/api\/trpc\/auth\.signUp",method="POST",status="200"\} [1-9]/);
    expect(metrics).toContain("process_cpu_user_seconds_total");
  });

  it("crossSiteTrpcMutation__browserHeaders__403AndNoAccount", async () => {
    // Given a forged cross-site form post
    const email = `csrf-${Date.now()}@example.com`;

    // When it reaches the tRPC endpoint
    const response = await trpcPost("auth.signUp", { email, name: "X", password: "long enough" }, { origin: "https://evil.example", "sec-fetch-site": "cross-site" });

    // Then it is refused, and the email is still free
    expect(response.status).toBe(403);
    const retry = await trpcPost("auth.signUp", { email, name: "X", password: "long enough" });
    expect(retry.status).toBe(200);
  });

  it("badInput__malformedTrpcBody__4xxNever500", async () => {
    // Given malformed and invalid inputs
    const malformed = await fetch(`${base}/api/trpc/auth.signIn`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    const invalid = await trpcPost("auth.signIn", { email: 42 });
    const unknown = await trpcPost("nope.nothing", {});

    // Then each is a client error
    expect(malformed.status).toBeGreaterThanOrEqual(400);
    expect(malformed.status).toBeLessThan(500);
    expect(invalid.status).toBe(400);
    expect(unknown.status).toBe(404);
  });

  it("signInThrottled__overHttp__429WithRetryAfterAndNoCookie", async () => {
    // Given ten wrong passwords for one email
    const email = `throttle-${Date.now()}@example.com`;
    for (let i = 0; i < 10; i++) expect((await trpcPost("auth.signIn", { email, password: `wrong-${i}` })).status).toBe(401);

    // When an eleventh attempt arrives
    const refused = await trpcPost("auth.signIn", { email, password: "wrong-10" });

    // Then it is a 429 saying when to retry, with no session cookie
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(800);
    expect(refused.headers.get("set-cookie")).toBeNull();
    expect((await refused.json()).error.message).toMatch(/^Too many sign-in attempts/);
  });

  it("signInOverHttp__forgedAddressHeader__countedForTheSocketsAddressNotTheClaimedOne", async () => {
    // Given the throttle counts of the loopback address and of an address a client will claim
    const db = new pg.Client({ connectionString: inject("systemDatabaseUrl") });
    await db.connect();
    const forged = "203.0.113.77";
    const attempts = async (address: string) =>
      Number((await db.query("select attempts from sign_in_throttles where key = $1", [signInAddressThrottleKey(address)])).rows[0]?.attempts ?? 0);
    try {
      const before = await attempts("127.0.0.1");

      // When a wrong password arrives with a forged client-address header
      const response = await trpcPost("auth.signIn", { email: `addr-${Date.now()}@example.com`, password: "wrong-pass" }, { "x-flagpost-client-address": forged });

      // Then it is counted once for the address the connection came from, and never for the claimed one
      expect(response.status).toBe(401);
      expect(await attempts("127.0.0.1")).toBe(before + 1);
      expect(await attempts(forged)).toBe(0);
    } finally {
      await db.end();
    }
  });
});
