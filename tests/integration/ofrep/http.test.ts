/**
 * OFREP over HTTP against the system server (`next start` + worker): auth as the providers send it, client and
 * server keys, the bulk ETag and 304, every error code (400 PARSE_ERROR / INVALID_CONTEXT, 401, 403, 404
 * FLAG_NOT_FOUND, 413, 415, 429 with Retry-After on a process of its own, 503 with Retry-After), CORS for browser
 * providers, eventStreams, and hostile input that never gets a 5xx.
 */
import { randomBytes } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { getDb } from "../../../src/server/db/client";
import { identities } from "../../../src/server/db/schema";
import { startWebProcess, stopProcess } from "../../support/system";
import { projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { eventually, waitForDocuments } from "../sdk/support";

process.env.DATABASE_URL = inject("systemDatabaseUrl");
resetSettingsForTests();

const base = inject("systemUrl");

interface Fixture {
  user: TestUser;
  projectId: number;
  environmentId: number;
  clientKey: string;
  serverKey: string;
  features: Record<string, number>;
}

interface Evaluation {
  key: string;
  value?: unknown;
  reason: string;
  variant?: string;
  metadata?: Record<string, unknown>;
  errorCode?: string;
  errorDetails?: string;
}

interface Bulk {
  flags: Evaluation[];
  metadata: { flagSetId: string; version: string };
  eventStreams: Array<{ type: string; endpoint: { requestUri: string } }>;
}

const ADULTS = [{ type: "ALL", conditions: [], rules: [{ type: "ANY", rules: [], conditions: [{ operator: "GREATER_THAN_INCLUSIVE", property: "age", value: "18" }] }] }];

async function environmentFixture(): Promise<Fixture> {
  const user = await signUpUser();
  const { project, environments } = await projectWithEnvironments(user, ["Production"]);
  const environment = environments[0];
  const features: Record<string, number> = {};
  const create = async (name: string, input: Record<string, unknown>) => {
    features[name] = (await user.caller.features.create({ projectId: project.id, name, ...input })).id;
  };
  await create("banner", { initialValue: "hello", defaultEnabled: true });
  await create("secret", { initialValue: "s3cr3t", defaultEnabled: true, isServerKeyOnly: true });
  await create("retired", { initialValue: 3, defaultEnabled: false });
  await create("limit", { initialValue: 10, defaultEnabled: true });
  const segment = await user.caller.segments.create({ projectId: project.id, name: "adults", rules: ADULTS });
  await user.caller.segmentOverrides.create({ featureId: features.banner, environmentId: environment.id, segmentId: segment.id, enabled: true, value: "grown-up" });
  const serverKey = (await user.caller.environments.createServerKey({ environmentId: environment.id, name: "backend" })).key;
  await waitForDocuments([environment.id]);
  return { user, projectId: project.id, environmentId: environment.id, clientKey: environment.apiKey, serverKey, features };
}

function evaluate(path: string, body: unknown, headers: Record<string, string>, url = base): Promise<Response> {
  return fetch(`${url}/ofrep/v1/evaluate/flags${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

let fx: Fixture;

beforeAll(async () => {
  fx = await environmentFixture();
});

describe("OFREP evaluation", () => {
  it("evaluateFlag__bearerOrApiKeyHeader__evaluationWithVariantReasonAndMetadata", async () => {
    // Given a targeting key and an attribute matching the segment override
    const context = { context: { targetingKey: "user-1", age: 30 } };

    // When one flag is evaluated with the key in Authorization: Bearer, and in X-API-Key
    const viaBearer = await evaluate("/banner", context, bearer(fx.serverKey));
    const viaApiKey = await evaluate("/banner", context, { "x-api-key": fx.clientKey });

    // Then both answer the override's value, its flagd variant, TARGETING_MATCH and the flag set and revision
    for (const response of [viaBearer, viaApiKey]) {
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("application/json");
      const evaluation = (await response.json()) as Evaluation;
      expect(evaluation).toEqual({
        key: "banner",
        value: "grown-up",
        reason: "TARGETING_MATCH",
        variant: "override_adults",
        metadata: { flagSetId: expect.stringMatching(/\/production$/), version: expect.stringMatching(/^\d+$/), "flagpost.featureId": fx.features.banner },
      });
    }
  });

  it("evaluateFlags__withoutTargetingKey__environmentFlagsWithDisabledAsNoValue", async () => {
    // Given a context with attributes but no targeting key
    // When every flag is evaluated with the server key
    const response = await evaluate("", { context: { age: 30 } }, bearer(fx.serverKey));
    const bulk = (await response.json()) as Bulk;

    // Then it is the environment's flags (no segment applies): values, and the disabled flag without a value
    expect(response.status).toBe(200);
    const byKey = Object.fromEntries(bulk.flags.map((flag) => [flag.key, flag]));
    expect(Object.keys(byKey).sort()).toEqual(["banner", "limit", "retired", "secret"]);
    expect(byKey.banner).toMatchObject({ value: "hello", reason: "DEFAULT", variant: "control" });
    expect(byKey.limit).toMatchObject({ value: 10, reason: "STATIC", variant: "control" });
    expect(byKey.retired).toEqual({ key: "retired", reason: "DISABLED", metadata: { flagSetId: bulk.metadata.flagSetId, "flagpost.featureId": fx.features.retired } });
    expect(bulk.metadata.version).toMatch(/^\d+$/);
  });

  it("evaluate__clientKey__serverOnlyFeatureNotFound", async () => {
    // Given a server-only feature
    // When it is asked for with the client key, singly and in bulk
    const single = await evaluate("/secret", { context: { targetingKey: "u" } }, bearer(fx.clientKey));
    const bulk = (await (await evaluate("", { context: { targetingKey: "u" } }, bearer(fx.clientKey))).json()) as Bulk;
    const server = await evaluate("/secret", { context: { targetingKey: "u" } }, bearer(fx.serverKey));

    // Then the client key does not see it (FLAG_NOT_FOUND, absent from bulk); the server key does
    expect(single.status).toBe(404);
    expect(await single.json()).toEqual({ key: "secret", errorCode: "FLAG_NOT_FOUND", errorDetails: "Flag 'secret' was not found" });
    expect(bulk.flags.map((flag) => flag.key)).not.toContain("secret");
    expect(((await server.json()) as Evaluation).value).toBe("s3cr3t");
  });

  it("evaluate__newTargetingKeyWithAttributes__nothingWritten", async () => {
    // Given a targeting key that names no stored identity
    const identifier = `ofrep-${randomBytes(4).toString("hex")}`;

    // When it is evaluated with attributes, singly and in bulk
    await evaluate("/banner", { context: { targetingKey: identifier, age: 40 } }, bearer(fx.serverKey));
    await evaluate("", { context: { targetingKey: identifier, age: 40 } }, bearer(fx.clientKey));

    // Then no identity (and so no trait) was stored
    const rows = await getDb().select().from(identities).where(and(eq(identities.environmentId, fx.environmentId), eq(identities.identifier, identifier)));
    expect(rows).toEqual([]);
  });

  it("evaluate__storedIdentityWithTraitSetInAdmin__itsTraitsLentToTheEvaluation", async () => {
    // Given a stored identity whose trait (set in the admin UI) puts it in the segment
    const identity = await fx.user.caller.identities.create({ environmentId: fx.environmentId, identifier: `stored-${randomBytes(3).toString("hex")}` });
    await fx.user.caller.identities.setTrait({ identityId: identity.id, key: "age", value: 50 });

    // When it is evaluated with only its targeting key, and with an attribute that overrides the trait
    const stored = (await (await evaluate("/banner", { context: { targetingKey: identity.identifier } }, bearer(fx.serverKey))).json()) as Evaluation;
    const overridden = (await (await evaluate("/banner", { context: { targetingKey: identity.identifier, age: 5 } }, bearer(fx.serverKey))).json()) as Evaluation;

    // Then the stored trait applies (as /identities/ with transient: true), and the context's attribute wins over it
    expect(stored.value).toBe("grown-up");
    expect(overridden.value).toBe("hello");
  });
});

describe("OFREP bulk ETag", () => {
  it("evaluateFlags__ifNoneMatch__304UntilTheContextOrDocumentChanges", async () => {
    // Given a bulk evaluation and its ETag
    const context = { context: { targetingKey: "etag-user", age: 20 } };
    const first = await evaluate("", context, bearer(fx.serverKey));
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[\w-]{43}"$/);

    // When the same request is repeated with If-None-Match (also as a weak validator and in a list), with another
    // context, and after a change of the environment
    const again = await evaluate("", context, { ...bearer(fx.serverKey), "if-none-match": etag });
    const weakList = await evaluate("", context, { ...bearer(fx.serverKey), "if-none-match": `"other", W/${etag}` });
    const otherContext = await evaluate("", { context: { targetingKey: "etag-user", age: 10 } }, { ...bearer(fx.serverKey), "if-none-match": etag });
    await fx.user.caller.features.updateState({ featureId: fx.features.limit, environmentId: fx.environmentId, value: 11 });
    await waitForDocuments([fx.environmentId]);
    let changed: Response | undefined;
    await eventually(async () => (changed = await evaluate("", context, { ...bearer(fx.serverKey), "if-none-match": etag })).status === 200, 5_000, "new revision served");

    // Then 304 (no body, the ETag again) while nothing changed; 200 with another ETag otherwise
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect(await again.text()).toBe("");
    expect(weakList.status).toBe(304);
    expect(otherContext.status).toBe(200);
    expect(otherContext.headers.get("etag")).not.toBe(etag);
    expect(changed!.headers.get("etag")).not.toBe(etag);
    expect(((await changed!.json()) as Bulk).flags.find((flag) => flag.key === "limit")?.value).toBe(11);
  });

  it("evaluateFlags__flagConfigEtagOfAnAnnouncedRevision__answeredFromThatRevision", async () => {
    // Given the revision the environment serves now
    const now = (await (await evaluate("", { context: {} }, bearer(fx.serverKey))).json()) as Bulk;

    // When a re-fetch names it (as after a stream notification), and names a revision that does not exist (yet)
    const current = await fetch(`${base}/ofrep/v1/evaluate/flags?flagConfigEtag=${encodeURIComponent(`"${now.metadata.version}"`)}&flagConfigLastModified=1`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(fx.serverKey) },
      body: "{}",
    });
    const future = await fetch(`${base}/ofrep/v1/evaluate/flags?flagConfigEtag=%2299999999%22`, { method: "POST", headers: { "content-type": "application/json", ...bearer(fx.serverKey) }, body: "{}" });

    // Then both answer 200 with what is stored (a revision not stored yet is checked for, not waited for)
    expect(current.status).toBe(200);
    expect(future.status).toBe(200);
    expect(((await future.json()) as Bulk).metadata.version).toBe(now.metadata.version);
  });

  it("evaluateFlags__eventStreams__ofrepStreamOfTheClientKeyThatOpens", async () => {
    // Given a bulk evaluation made with the server key
    const bulk = (await (await evaluate("", { context: {} }, bearer(fx.serverKey))).json()) as Bulk;

    // When its event stream is opened (relative to the OFREP base URL's origin)
    const [stream] = bulk.eventStreams;
    const controller = new AbortController();
    const response = await fetch(`${base}${stream.endpoint.requestUri}`, { signal: controller.signal });
    controller.abort();

    // Then it names the client key (never the server key) and is an event stream
    expect(bulk.eventStreams).toEqual([{ type: "sse", endpoint: { requestUri: `/sse/environments/${fx.clientKey}/ofrep` } }]);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
  });
});

describe("OFREP errors", () => {
  it("evaluate__missingOrUnknownKey__401", async () => {
    // Given requests without a key, with an unknown one, and with a key in a scheme the providers do not use
    const responses = await Promise.all([
      evaluate("/banner", { context: {} }, {}),
      evaluate("", { context: {} }, bearer("unknown-key")),
      evaluate("", { context: {} }, { authorization: `Basic ${fx.serverKey}` }),
    ]);

    // Then each is 401 with details, CORS open so browsers can read it
    for (const response of responses) {
      expect(response.status).toBe(401);
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(((await response.json()) as { errorDetails: string }).errorDetails).toMatch(/environment key/);
    }
  });

  it("evaluate__malformedBodies__400ParseErrorOrInvalidContext", async () => {
    // Given bodies that are not JSON objects, and contexts OFREP cannot evaluate
    const parseErrors = [await evaluate("/banner", "{nope", bearer(fx.serverKey)), await evaluate("", "[1,2]", bearer(fx.serverKey))];
    const invalid = [
      await evaluate("/banner", { context: { targetingKey: 7 } }, bearer(fx.serverKey)),
      await evaluate("", { context: "user" }, bearer(fx.serverKey)),
      await evaluate("", { context: { targetingKey: "u", plan: "x".repeat(20_001) } }, bearer(fx.serverKey)),
    ];

    // Then OFREP's codes: the single endpoint names the key, bulk does not
    expect(await Promise.all(parseErrors.map(async (r) => [r.status, await r.json()]))).toEqual([
      [400, { key: "banner", errorCode: "PARSE_ERROR", errorDetails: expect.stringContaining("JSON") }],
      [400, { errorCode: "PARSE_ERROR", errorDetails: expect.stringContaining("JSON object") }],
    ]);
    for (const response of invalid) {
      expect(response.status).toBe(400);
      expect(((await response.json()) as Evaluation).errorCode).toBe("INVALID_CONTEXT");
    }
  });

  it("evaluate__unknownFlag__404FlagNotFound", async () => {
    // Given a flag key the environment does not have (URL-encoded, as the providers send it)
    // When it is evaluated
    const response = await evaluate(`/${encodeURIComponent("no such/flag")}`, { context: { targetingKey: "u" } }, bearer(fx.serverKey));

    // Then 404 FLAG_NOT_FOUND names it
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ key: "no such/flag", errorCode: "FLAG_NOT_FOUND", errorDetails: "Flag 'no such/flag' was not found" });
  });

  it("evaluate__organisationStoppedServingFlags__403", async () => {
    // Given an organisation that stopped serving flags
    const other = await signUpUser();
    const { environments } = await projectWithEnvironments(other, ["Production"]);
    await other.caller.features.create({ projectId: (await other.caller.environments.get({ environmentId: environments[0].id })).projectId, name: "f", initialValue: "v", defaultEnabled: true });
    await other.caller.organisations.update({ organisationId: other.organisationId, stopServingFlags: true });
    await waitForDocuments([environments[0].id]);

    // When its client key evaluates
    let response: Response | undefined;
    await eventually(async () => (response = await evaluate("", { context: {} }, bearer(environments[0].apiKey))).status === 403, 5_000, "stop served");

    // Then 403
    expect(((await response!.json()) as { errorDetails: string }).errorDetails).toMatch(/disabled from serving flags/);
  });

  it("evaluate__environmentWithoutDocument__503RetryAfter", async () => {
    // Given an environment whose first document has not been written
    const apiKey = `nodoc${randomBytes(6).toString("hex")}`;
    await getDb().execute(sql`insert into environments (project_id, name, api_key) values (${fx.projectId}, ${`No document ${apiKey}`}, ${apiKey})`);

    // When it is evaluated
    const response = await evaluate("", { context: {} }, bearer(apiKey));

    // Then the provider is told to retry shortly
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
  });

  it("evaluate__bodyTooLargeOrNotJson__413Or415", async () => {
    // Given a body over SDK_MAX_BODY_BYTES (256 KiB) and a body of another media type
    const large = await evaluate("", { context: { targetingKey: "u", blob: "x".repeat(300 * 1024) } }, bearer(fx.serverKey));
    const xml = await fetch(`${base}/ofrep/v1/evaluate/flags`, { method: "POST", headers: { "content-type": "application/xml", ...bearer(fx.serverKey) }, body: "<context/>" });

    // Then 413 and 415
    expect(large.status).toBe(413);
    expect(xml.status).toBe(415);
  });

  it("evaluate__hostileInput__alwaysAnAnswerBelow500", async () => {
    // Given hostile bodies, paths and headers
    const bodies = [
      "",
      "null",
      "\u0000",
      '{"context":{"targetingKey":"u","__proto__":{"polluted":true}}}',
      `{"context":{"targetingKey":"u","deep":${"[".repeat(5000)}${"]".repeat(5000)}}}`,
      `{"context":${"{".repeat(3000)}}`,
      '{"context":{"targetingKey":"\\ud800"}}',
      '{"context":{"targetingKey":"u","a":1e400}}',
      JSON.stringify({ context: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])) }),
      JSON.stringify({ context: { targetingKey: "u", ...Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, { x: [i] }])) } }),
    ];
    const ordinary = '{"context":{"targetingKey":"ordinary-user"}}';
    const before = await (await evaluate("", ordinary, bearer(fx.serverKey))).text();
    const responses: Response[] = [];
    for (const body of bodies) responses.push(await evaluate("", body, bearer(fx.serverKey)));
    responses.push(await fetch(`${base}/ofrep/v1/evaluate/flags`, { method: "POST", headers: { "content-type": "application/json", ...bearer(fx.serverKey) }, body: Buffer.from([0xff, 0xfe, 0x00]) }));
    responses.push(await evaluate(`/${"%E0%A4%A"}`, "{}", bearer(fx.serverKey)));
    responses.push(await evaluate(`/${"a".repeat(5000)}`, "{}", bearer(fx.serverKey)));
    responses.push(await evaluate("", "{}", bearer("x".repeat(10_000))));
    responses.push(await evaluate("", "{}", { "x-api-key": "ser.\u00ff" }));

    // Then every one is answered, none with a server error
    const statuses = responses.map((response) => response.status);
    expect(statuses.flatMap((status, i) => (status >= 500 ? [`#${i}: ${status}`] : []))).toEqual([]);
    // And `__proto__` was an ordinary attribute (evaluated, 200), polluting nothing in the server: an ordinary
    // context evaluates to exactly what it did before
    expect(responses[3].status).toBe(200);
    expect(await (await evaluate("", ordinary, bearer(fx.serverKey))).text()).toBe(before);
  });
});

describe("OFREP CORS", () => {
  it("preflight__browserProviderHeaders__allowedFromAnyOrigin", async () => {
    // Given a browser provider's preflight for a bulk evaluation with its headers
    const response = await fetch(`${base}/ofrep/v1/evaluate/flags`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, if-none-match" },
    });

    // Then it is allowed, and the evaluation's ETag is readable from scripts
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    expect(response.headers.get("access-control-allow-headers")).toBe("authorization, content-type, if-none-match");
    const evaluation = await evaluate("", { context: {} }, { origin: "https://app.example.com", ...bearer(fx.clientKey) });
    expect(evaluation.headers.get("access-control-allow-origin")).toBe("*");
    expect(evaluation.headers.get("access-control-expose-headers")).toContain("ETag");
  });
});

describe("OFREP rate limit", () => {
  let web: { url: string; child: ChildProcess } | undefined;

  afterAll(async () => {
    if (web) await stopProcess(web.child);
  });

  it("evaluate__overTheRateLimit__429WithRetryAfter", { timeout: 120_000 }, async () => {
    // Given a web process allowing 2 evaluations per second per client address, its route warmed up (a first request
    // loads it: ten sent to a cold process may spread over seconds) and its bucket full again
    web = await startWebProcess({ databaseUrl: inject("systemDatabaseUrl"), env: { OFREP_RATE_LIMIT_PER_SECOND: "2", LOG_LEVEL: "warn" } });
    expect((await evaluate("/banner", { context: {} }, bearer(fx.serverKey), web.url)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    // When one client sends 10 at once
    const responses = await Promise.all(Array.from({ length: 10 }, () => evaluate("/banner", { context: {} }, bearer(fx.serverKey), web!.url)));

    // Then a second's worth are answered (2, and at most a token or three refilled meanwhile on a busy machine) and the
    // rest told when to come back
    const statuses = responses.map((response) => response.status);
    const limited = responses.filter((response) => response.status === 429);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(2);
    expect(limited.length).toBeGreaterThanOrEqual(5);
    expect(Number(limited[0].headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await limited[0].json()) as { errorDetails: string }).errorDetails).toMatch(/Too many requests/);
  });
});
