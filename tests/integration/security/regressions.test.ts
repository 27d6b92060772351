/**
 * Regression tests for every input issue 14 measured as a 500 (or as a missing limit) on a running
 * instance, and for those the fuzz tests found beyond them — over HTTP against the system under test
 * (`next start` + worker), as an attacker would send them.
 */
import { randomBytes, randomInt } from "node:crypto";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { waitForDocuments } from "../support/documents";

process.env.DATABASE_URL = inject("systemDatabaseUrl");
resetSettingsForTests();

const base = inject("systemUrl");
// The system trusts one proxy hop: each sign-up here comes from its own documentation address.
const address = () => `192.0.2.${randomInt(1, 255)}`;

interface Session {
  cookie: string;
  organisationId: number;
  projectId: number;
  environmentId: number;
  featureId: number;
  identityId: number;
  clientKey: string;
}

let session: Session;

async function trpc(path: string, input: unknown, options: { cookie?: string; method?: "GET" | "POST"; headers?: Record<string, string> } = {}): Promise<{ status: number; body: { result?: { data: unknown }; error?: { message: string; data: { code: string } } } }> {
  const headers: Record<string, string> = { "content-type": "application/json", ...(options.cookie ? { cookie: options.cookie } : {}), ...options.headers };
  const response =
    options.method === "GET"
      ? await fetch(`${base}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers })
      : await fetch(`${base}/api/trpc/${path}`, { method: "POST", headers, body: typeof input === "string" ? input : JSON.stringify(input) });
  return { status: response.status, body: (await response.json()) as never };
}

const data = <T>(answer: { body: { result?: { data: unknown } } }) => answer.body.result!.data as T;

/** A client error, never a 5xx: a typed tRPC error with a code and a message. */
function expectRefused(answer: { status: number; body: { error?: { message: string; data: { code: string } } } }, status = 400): void {
  expect(answer.status, JSON.stringify(answer.body).slice(0, 300)).toBe(status);
  expect(answer.body.error?.data.code).not.toBe("INTERNAL_SERVER_ERROR");
  expect(answer.body.error?.message).toEqual(expect.any(String));
}

beforeAll(async () => {
  const signUp = await fetch(`${base}/api/trpc/auth.signUp`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": address() },
    body: JSON.stringify({ email: `regress-${randomBytes(4).toString("hex")}@example.com`, name: "Regress", password: "long enough password" }),
  });
  const cookie = (signUp.headers.get("set-cookie") ?? "").split(";")[0];
  const { organisationId } = ((await signUp.json()) as { result: { data: { organisationId: number } } }).result.data;
  const project = data<{ id: number }>(await trpc("projects.create", { organisationId, name: "Regressions" }, { cookie }));
  const environment = data<{ id: number; apiKey: string }>(await trpc("environments.create", { projectId: project.id, name: "Env" }, { cookie }));
  const feature = data<{ id: number }>(await trpc("features.create", { projectId: project.id, name: "flag", initialValue: "v" }, { cookie }));
  const identity = data<{ id: number }>(await trpc("identities.create", { environmentId: environment.id, identifier: "someone" }, { cookie }));
  session = { cookie, organisationId, projectId: project.id, environmentId: environment.id, featureId: feature.id, identityId: identity.id, clientKey: environment.apiKey };
  await waitForDocuments([environment.id]);
}, 60_000);

describe("NUL characters in tRPC text fields (were 500)", () => {
  it("trpcTextFields__nulCharacter__400NamingTheField", async () => {
    // Given U+0000 in every kind of text field: names, descriptions, tags, search filters, identifiers, trait keys, key names, sign-up
    const { cookie, organisationId, projectId, environmentId, identityId } = session;
    const nul = "bad\u0000text";
    const calls: [string, unknown, "GET" | "POST"][] = [
      ["projects.create", { organisationId, name: nul }, "POST"],
      ["features.create", { projectId, name: "ok_name", description: nul }, "POST"],
      ["features.create", { projectId, name: "ok_tags", tags: [nul] }, "POST"],
      ["features.list", { projectId, search: nul }, "GET"],
      ["identities.list", { environmentId, search: nul }, "GET"],
      ["identities.create", { environmentId, identifier: nul }, "POST"],
      ["identities.setTrait", { identityId, key: nul, value: 1 }, "POST"],
      ["environments.createServerKey", { environmentId, name: nul }, "POST"],
      ["organisations.createApiKey", { organisationId, name: nul }, "POST"],
      ["auth.signUp", { email: "nul@example.com", name: nul, password: "long enough password" }, "POST"],
    ];

    // When each is sent
    for (const [path, input, method] of calls) {
      const answer = await trpc(path, input, { cookie: path === "auth.signUp" ? undefined : cookie, method, headers: { "x-forwarded-for": address() } });

      // Then each is a 400 with the shared message
      expectRefused(answer);
      expect(answer.body.error?.message, path).toBe("Text cannot contain null characters (U+0000)");
    }
  });
});

describe("unpaired surrogates in anything stored as jsonb (were 500)", () => {
  it("jsonbValues__unpairedSurrogate__400", async () => {
    // Given an unpaired surrogate in a feature value, a segment rule, and a name that would reach an audit entry's `after`
    const { cookie, projectId, environmentId, featureId, identityId } = session;
    const lone = "x\ud800y";

    // When each is saved
    const value = await trpc("features.updateState", { featureId, environmentId, value: lone }, { cookie });
    const rule = await trpc("segments.create", { projectId, name: "lone", rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "plan", value: lone }] }] }, { cookie });
    const rename = await trpc("features.update", { featureId, name: `renamed${lone}` }, { cookie });
    const trait = await trpc("identities.setTrait", { identityId, key: "k", value: lone }, { cookie });

    // Then each is refused
    for (const answer of [value, rule, rename, trait]) expectRefused(answer);
    expect(rule.body.error?.message).toBe("Text must be valid Unicode (it contains an unpaired surrogate)");
  });

  it("sdkTraitValue__unpairedSurrogate__400AndNothingStored", async () => {
    // Given an identify request whose trait value is an unpaired surrogate (JSON escapes make it one)
    const body = '{"identifier":"lone-trait","traits":[{"trait_key":"k","trait_value":"x\\ud800"}]}';

    // When posted to the SDK API
    const response = await fetch(`${base}/api/v1/identities/`, { method: "POST", headers: { "content-type": "application/json", "x-environment-key": session.clientKey }, body });

    // Then it is a 400 naming the field
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: string }).detail).toBe("traits[0].trait_value: Text must be valid Unicode (it contains an unpaired surrogate).");
  });
});

describe("identifiers of 1,000-2,000 CJK characters through tRPC (were 500: index row too large)", () => {
  it("identities__longCjkIdentifier__400ForItsBytes", async () => {
    // Given identifiers of 1,000 and 2,000 CJK characters (3,000 and 6,000 bytes)
    for (const length of [1000, 2000]) {
      // When created and ensured
      const created = await trpc("identities.create", { environmentId: session.environmentId, identifier: "中".repeat(length) }, { cookie: session.cookie });
      const ensured = await trpc("identities.ensure", { environmentId: session.environmentId, identifier: "中".repeat(length) }, { cookie: session.cookie });

      // Then both are 400s about the size
      expectRefused(created);
      expectRefused(ensured);
      expect(created.body.error?.message).toBe("Text is limited to 2000 bytes (UTF-8)");
    }
  });
});

describe("nesting (were 500: stack overflow)", () => {
  it("sdkTraitValue__nested10000Deep__400", async () => {
    // Given a trait value nested 10,000 deep
    const deep = "[".repeat(10_000) + "]".repeat(10_000);
    const body = `{"identifier":"deep","traits":[{"trait_key":"k","trait_value":${deep}}]}`;

    // When posted
    const response = await fetch(`${base}/api/v1/identities/`, { method: "POST", headers: { "content-type": "application/json", "x-environment-key": session.clientKey }, body });

    // Then it is a 400
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: string }).detail).toBe("traits[0].trait_value: Nested more than 100 levels deep.");
  });

  it("importDocument__nested5000Deep__400", async () => {
    // Given an import document nested 5,000 deep
    const deep = '{"a":'.repeat(5000) + "1" + "}".repeat(5000);

    // When posted
    const answer = await trpc("imports.flagsmith", `{"projectId":${session.projectId},"document":${deep}}`, { cookie: session.cookie });

    // Then it is a 400
    expectRefused(answer);
  });
});

describe("dates", () => {
  it("schedule__year275760__400", async () => {
    // Given a scheduled change for the last instant JavaScript can represent (year 275760), and one 11 years ahead
    const farFuture = new Date(Date.now() + 11 * 366 * 86_400_000).toISOString();

    // When scheduled
    for (const liveFrom of [new Date(8.64e15).toISOString(), 8.64e15, farFuture]) {
      const answer = await trpc("features.schedule", { environmentId: session.environmentId, featureId: session.featureId, enabled: false, liveFrom }, { cookie: session.cookie });

      // Then each is a 400 asking for a time within 10 years
      expectRefused(answer);
      expect(answer.body.error?.message).toBe("Choose a time within the next 10 years");
    }
  });
});

describe("malformed percent-encoding in URL paths (were plain-text, unlogged 500s)", () => {
  it("paths__invalidUtf8PercentEncoding__400JsonOrHtmlPage", async () => {
    // Given the measured paths and a few more
    for (const path of ["/api/v1/flags/%C0%80/", "/api/trpc/%C0%80", "/api/v1/identities/%ED%A0%80", "/p/%C0%80", "/p/1/e/%E0%A4%A/features", "/o/%FF"]) {
      // When requested
      const response = await fetch(`${base}${path}`);

      // Then each is a 400: JSON under /api/, an HTML page otherwise
      expect(response.status, path).toBe(400);
      if (path.startsWith("/api/")) expect((await response.json()) as object).toEqual({ detail: expect.stringContaining("not valid") });
      else expect(await response.text()).toContain("<h1>Bad request</h1>");
    }
  });
});

describe("inputs found by the fuzz tests", () => {
  it("trpcInput__ownProtoOrConstructorKey__ignoredNot500", async () => {
    // Given inputs with own `__proto__` and `constructor` keys (JSON.parse keeps them as own keys)
    const proto = `{"projectId":${session.projectId},"__proto__":{"isAdmin":true}}`;
    const ctor = `{"projectId":${session.projectId},"constructor":{"prototype":{"polluted":1}}}`;

    // When sent to a procedure whose scope is resolved from its input
    const first = await fetch(`${base}/api/trpc/features.list?input=${encodeURIComponent(proto)}`, { headers: { cookie: session.cookie } });
    const second = await fetch(`${base}/api/trpc/features.list?input=${encodeURIComponent(ctor)}`, { headers: { cookie: session.cookie } });

    // Then the extra keys name nothing: the features are listed, and nothing was polluted
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(({} as { isAdmin?: boolean }).isAdmin).toBeUndefined();
  });

  it("updates__nothingToChange__400", async () => {
    // Given updates that name no field to change
    // When they are sent
    const project = await trpc("projects.update", { projectId: session.projectId }, { cookie: session.cookie });
    const environment = await trpc("environments.update", { environmentId: session.environmentId }, { cookie: session.cookie });

    // Then each is a 400 (the database was asked to set nothing: a 500)
    for (const answer of [project, environment]) {
      expectRefused(answer);
      expect(answer.body.error?.message).toBe("Nothing to change");
    }
  });

  it("nextImage__malformedUrlParameter__404Not500", async () => {
    // Given Next's image optimizer endpoint with a URL it cannot decode (the UI uses no next/image)
    // When it is requested
    const response = await fetch(`${base}/_next/image?url=${encodeURIComponent("/x%zz")}&w=64&q=75`);

    // Then it is not served at all
    expect(response.status).toBe(404);
  });
});

describe("limits over HTTP", () => {
  it("trpc__50MbSignInBodyAnd1000CallBatch__413And400WithoutWork", async () => {
    // Given a 50 MB sign-in body and a batch of 1,000 sign-ups (each would hash a password)
    // When both are posted
    const started = Date.now();
    const large = await fetch(`${base}/api/trpc/auth.signIn`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "a@example.com", password: "x".repeat(50 * 1024 * 1024) }) });
    const paths = Array(1000).fill("auth.signUp").join(",");
    const inputs = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [i, { email: "taken@example.com", name: "x", password: "long enough password" }]));
    const batch = await fetch(`${base}/api/trpc/${paths}?batch=1`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(inputs) });

    // Then the body is a 413 and the batch a 400, both answered at once
    expect(large.status).toBe(413);
    expect(((await large.json()) as { error: { data: { code: string } } }).error.data.code).toBe("PAYLOAD_TOO_LARGE");
    expect(batch.status).toBe(400);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("signUp__elevenFromOneAddress__429WithRetryAfter", async () => {
    // Given ten sign-ups from one client address (for a taken email: refused before hashing, still counted)
    const from = `198.18.${randomInt(0, 255)}.${randomInt(1, 255)}`;
    const taken = `taken-${randomBytes(4).toString("hex")}@example.com`;
    expect((await trpc("auth.signUp", { email: taken, name: "First", password: "long enough password" }, { headers: { "x-forwarded-for": from } })).status).toBe(200);
    for (let i = 1; i < 10; i++) expect((await trpc("auth.signUp", { email: taken, name: "Again", password: "long enough password" }, { headers: { "x-forwarded-for": from } })).status).toBe(409);

    // When an eleventh arrives from it
    const response = await fetch(`${base}/api/trpc/auth.signUp`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": from },
      body: JSON.stringify({ email: `new-${randomBytes(4).toString("hex")}@example.com`, name: "Eleventh", password: "long enough password" }),
    });

    // Then it is a 429 saying when to retry
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(3000);
  });
});

describe("headers and metrics", () => {
  it("trpcAndPages__securityHeaders__present", async () => {
    // Given a tRPC answer and a page
    // When they are requested
    const trpcResponse = await fetch(`${base}/api/trpc/auth.me`);
    const page = await fetch(`${base}/login`);

    // Then both carry the security headers; the page's CSP has a nonce and forbids framing
    for (const response of [trpcResponse, page]) {
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("permissions-policy")).toContain("camera=()");
      expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    }
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
  });

  it("metrics__publicPort__404AndServedOnItsOwnPort", async () => {
    // Given the web process's public port and its metrics listener
    // When /metrics is requested on each
    const publicPort = await fetch(`${base}/metrics`);
    const own = await fetch(inject("systemMetricsUrl"));

    // Then the public port does not serve it; the metrics port does
    expect(publicPort.status).toBe(404);
    expect(own.status).toBe(200);
    expect(await own.text()).toContain("flagsmith_http_request_duration_seconds");
  });
});
