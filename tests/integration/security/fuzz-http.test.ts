/**
 * Property-based fuzzing of every public HTTP endpoint of the running system (`next start` web
 * process + worker, tests/support/system.ts): the SDK API (`/flags/`, `/flags/<identifier>/`,
 * `/identities/` GET and POST, `/environment-document/`, analytics), flagd sync (`flags.json`,
 * `diagnostics.json`), OFREP (bulk and single evaluations), the event streams (`/sse/…`), health,
 * and arbitrary URL paths and percent-encodings on every prefix. Requests are raw HTTP (node:http),
 * so paths, bytes and headers arrive exactly as generated.
 *
 * Property: never a 5xx; a refused SDK write (identities POST, analytics) changed none of the
 * environment's identities, traits or evaluation counts; an OFREP evaluation, answered or refused,
 * never changes them.
 */
import http from "node:http";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";
import { waitForDocuments } from "../support/documents";
import { Deep, FUZZ_RUNS, FUZZ_SEED, hostileJson, hostileNumber, hostileString, toJson, withPrototypeKeys } from "./support";

process.env.DATABASE_URL = inject("systemDatabaseUrl");
resetSettingsForTests();

const base = new URL(inject("systemUrl"));

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One raw HTTP request: the path, headers and body bytes exactly as given. */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // (maxHeaderSize: Next's 308 for a path with `//` repeats the path in Location and Refresh, up to twice Node's 16 KiB request limit)
    const request = http.request({ host: base.hostname, port: base.port, method, path, headers: { connection: "close", ...headers }, maxHeaderSize: 64 * 1024 }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
    });
    request.on("error", reject);
    if (body !== undefined) request.end(body);
    else request.end();
  });
}

/** The head of a response (status and headers), then the connection is dropped: for streams, which do not end. */
function head(method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: base.hostname, port: base.port, method, path, headers: { connection: "close", ...headers }, maxHeaderSize: 64 * 1024 }, (response) => {
      const status = response.statusCode ?? 0;
      if ((response.headers["content-type"] ?? "").startsWith("text/event-stream")) {
        resolve({ status, headers: response.headers, body: "" });
        request.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end();
  });
}

/** Percent-encodes every byte (so any bytes, valid UTF-8 or not, can be sent in a path or query). */
const percentEncoded = (bytes: Uint8Array) => [...bytes].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("");
/** A string as UTF-8 percent-encoding (an unpaired surrogate becomes U+FFFD, as in any URL). */
const encoded = (text: string) => percentEncoded(Buffer.from(text, "utf8"));

/** Path or query text: UTF-8 strings, hostile strings, raw bytes (overlong, truncated, lone-surrogate encodings). */
const urlText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 30, unit: "grapheme" }).map(encoded) },
  { weight: 3, arbitrary: hostileString.map(encoded) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 12 }).map(percentEncoded) },
  { weight: 2, arbitrary: fc.constantFrom("%C0%80", "%E0%A4%A", "%ED%A0%80", "%", "%zz", "%00", "..", "%2e%2e", "%2F", "a/b", "~", "%FF%FE", "%F4%90%80%80") },
);

/** Header values Node will send (printable Latin-1), including hostile ones. */
const headerValue = fc.oneof(
  fc.string({ maxLength: 60 }).map((text) => text.replace(/[^\x20-\x7e]/g, "x")),
  fc.constantFrom("ser.", "ser.abcdefghijklmnopqrstuvwxyz", "Bearer ", "Bearer ser.nope", "*", "W/\"x\"", '"', "Thu, 01 Jan 1970 00:00:00 GMT", "not a date", "x".repeat(4000), "é\u00ff"),
);

let clientKey: string;
let serverKey: string;
let environmentId: number;
let db: pg.Client;

/** The environment's identities, traits and evaluation counts, as one checksum. */
async function sdkRows(): Promise<string> {
  const result = await db.query<{ h: string }>(
    `select md5(coalesce((select string_agg(x::text, '|' order by x::text) from (select i.id, i.identifier, t.key, t.value from identities i left join traits t on t.identity_id = i.id where i.environment_id = $1) x), '')
             || coalesce((select string_agg(e::text, '|' order by e::text) from feature_evaluations e where e.environment_id = $1), '')) as h`,
    [environmentId],
  );
  return result.rows[0].h;
}

beforeAll(async () => {
  db = new pg.Client({ connectionString: inject("systemDatabaseUrl") });
  await db.connect();
  const user = await signUpUser();
  const { project, environments } = await projectWithEnvironments(user, ["Fuzz"]);
  const environment = environments[0];
  environmentId = environment.id;
  clientKey = environment.apiKey;
  await user.caller.features.create({ projectId: project.id, name: "banner", initialValue: "hello", defaultEnabled: true });
  const mv = await user.caller.features.create({
    projectId: project.id,
    name: "mv",
    type: "MULTIVARIATE",
    initialValue: "control",
    defaultEnabled: true,
    options: [{ value: "red", key: "red", defaultPercentageAllocation: 50 }],
  });
  const segment = await user.caller.segments.create({
    projectId: project.id,
    name: "hostile",
    rules: [{ type: "ANY", conditions: [{ operator: "REGEX", property: "email", value: "(a|a)*$" }, { operator: "IN", property: "plan", value: "pro,team" }, { operator: "MODULO", property: "n", value: "2|0" }, { operator: "PERCENTAGE_SPLIT", value: "50" }] }],
  });
  await user.caller.segmentOverrides.create({ featureId: mv.id, environmentId, segmentId: segment.id, enabled: true, value: "seg" });
  const vip = await user.caller.identities.create({ environmentId, identifier: "vip" });
  await user.caller.identities.createOverride({ identityId: vip.id, featureId: mv.id, enabled: true, value: "mine" });
  serverKey = (await user.caller.environments.createServerKey({ environmentId, name: "fuzz" })).key;
  await user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });
  await waitForDocuments([environmentId]);
}, 120_000);

afterAll(async () => {
  await db?.end();
});

const keyHeader = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null).map(() => clientKey) },
  { weight: 3, arbitrary: fc.constant(null).map(() => serverKey) },
  { weight: 2, arbitrary: headerValue },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const PARAMS = ["identifier", "feature", "transient", "traits", "x"];
const query = fc.array(fc.tuple(fc.constantFrom(...PARAMS), urlText), { maxLength: 4 }).map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}` : ""));

function expectNo5xx(answer: Answer, what: string): void {
  expect(answer.status, `${what} → ${answer.status}: ${answer.body.slice(0, 300)}`).toBeLessThan(500);
}

/** Trait values: scalars, hostile text, deep and huge values, and things that are not values. */
const traitValue = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)) },
  { weight: 3, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileNumber },
  { weight: 2, arbitrary: hostileJson },
  { weight: 1, arbitrary: fc.constantFrom(new Deep(10_000), new Deep(10_000, "object"), new Deep(99)) },
);

const identifyBody = fc.record({
  identifier: fc.oneof(fc.string({ maxLength: 20 }), hostileString, hostileNumber, hostileJson),
  traits: fc.oneof(
    { weight: 5, arbitrary: fc.array(fc.record({ trait_key: fc.oneof(fc.string({ maxLength: 10 }), hostileString, hostileNumber), trait_value: traitValue, transient: fc.oneof(fc.boolean(), hostileString) }, { requiredKeys: ["trait_key"] }), { maxLength: 4 }) },
    { weight: 1, arbitrary: hostileJson },
  ),
  transient: fc.oneof(fc.boolean(), fc.constantFrom<unknown>("yes", "no", 2, null, "\u0000")),
}, { requiredKeys: [] });

/** A body as sent: JSON of a generated value (sometimes with own `__proto__` keys), or raw bytes. */
function bodyOf(value: unknown, kind: "json" | "proto" | "bytes" | "text", bytes: Uint8Array, text: string): Buffer | string {
  if (kind === "bytes") return Buffer.from(bytes);
  if (kind === "text") return text;
  if (kind === "proto" && value && typeof value === "object" && !Array.isArray(value)) return toJson(withPrototypeKeys(value as Record<string, unknown>, "x"));
  return toJson(value);
}

const CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "", "application/vnd.api+json"];

/** Request headers Next.js itself reads (RSC, router state, server actions, prefetches), garbled or not. */
const nextHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({}) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom("rsc", "next-router-state-tree", "next-action", "next-router-prefetch", "next-router-segment-prefetch", "next-url", "next-hmr-refresh"), headerValue)
      .map(([name, value]) => ({ [name]: value })),
  },
  { weight: 1, arbitrary: fc.constant({ rsc: "1", "next-router-state-tree": encodeURIComponent('["",{"children":["p",{}]}]') }) },
);

describe("public HTTP endpoints under hostile input", () => {
  it("sdkGets__hostileKeysQueriesAndHeaders__never5xx", { timeout: 120_000 }, async () => {
    // Given GETs of every SDK read endpoint with generated keys, queries and conditional headers
    const paths = ["/api/v1/flags/", "/api/v1/flags", "/api/v1/identities/", "/api/v1/environment-document/", "/api/v1/flagd/flags.json", "/api/v1/flagd/diagnostics.json", "/api/health"];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), keyHeader, query, fc.option(headerValue, { nil: undefined }), fc.option(headerValue, { nil: undefined }), async (path, key, search, ifNoneMatch, authorization) => {
        const headers: Record<string, string> = {};
        if (key !== undefined) headers["x-environment-key"] = key;
        if (ifNoneMatch !== undefined) headers["if-none-match"] = ifNoneMatch;
        if (authorization !== undefined) headers.authorization = path.includes("flagd") && key ? `Bearer ${key}` : authorization;
        // When each is requested
        const answer = await raw("GET", path + search, headers);
        // Then it is never a 5xx
        expectNo5xx(answer, `GET ${path}${search}`);
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS(150), endOnFailure: true },
    );
  });

  it("deprecatedIdentityFlags__arbitraryIdentifierBytes__never5xx", { timeout: 120_000 }, async () => {
    // Given /flags/<identifier>/ with any bytes as the identifier
    await fc.assert(
      fc.asyncProperty(urlText, keyHeader, fc.boolean(), async (identifier, key, slash) => {
        // When requested
        const answer = await raw("GET", `/api/v1/flags/${identifier}${slash ? "/" : ""}`, key ? { "x-environment-key": key } : {});
        // Then it is never a 5xx
        expectNo5xx(answer, `GET /api/v1/flags/${identifier}`);
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS(100), endOnFailure: true },
    );
  });

  it("identitiesPost__hostileBodies__never5xxAndNoWriteWhenRefused", { timeout: 180_000 }, async () => {
    // Given identify requests: generated bodies (deep trait values, unpaired surrogates, 2,000 CJK
    // characters, __proto__ keys), raw bytes, odd media types, client and server keys
    let before = await sdkRows();
    await fc.assert(
      fc.asyncProperty(
        identifyBody,
        fc.constantFrom<"json" | "proto" | "bytes" | "text">("json", "json", "json", "proto", "bytes", "text"),
        fc.uint8Array({ maxLength: 64 }),
        fc.oneof(hostileString, fc.string()),
        fc.constantFrom(...CONTENT_TYPES),
        fc.constantFrom("client", "server"),
        async (value, kind, bytes, text, contentType, keyKind) => {
          const headers: Record<string, string> = { "x-environment-key": keyKind === "client" ? clientKey : serverKey };
          if (contentType) headers["content-type"] = contentType;
          // When posted
          const answer = await raw("POST", "/api/v1/identities/", headers, bodyOf(value, kind, bytes, text));
          const after = await sdkRows();
          try {
            // Then it is never a 5xx, and a refusal wrote nothing
            expectNo5xx(answer, `POST identities ${kind}`);
            if (answer.status >= 400) expect(after, `refused (${answer.status}) but identities/traits changed: ${answer.body.slice(0, 200)}`).toBe(before);
          } finally {
            before = after;
          }
        },
      ),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS(200), endOnFailure: true },
    );
  });

  it("analyticsPost__hostileBodies__never5xxAndNoWriteWhenRefused", { timeout: 120_000 }, async () => {
    // Given analytics reports of any shape
    const report = fc.oneof(fc.dictionary(fc.oneof(fc.constantFrom("banner", "mv", "__proto__", "constructor"), hostileString, fc.string()), fc.oneof(fc.integer(), hostileNumber, hostileJson)), hostileJson);
    let before = await sdkRows();
    await fc.assert(
      fc.asyncProperty(report, fc.constantFrom<"json" | "proto" | "bytes">("json", "json", "proto", "bytes"), fc.uint8Array({ maxLength: 32 }), keyHeader, async (value, kind, bytes, key) => {
        // When posted
        const answer = await raw("POST", "/api/v1/analytics/flags/", { "content-type": "application/json", ...(key ? { "x-environment-key": key } : {}) }, bodyOf(value, kind, bytes, ""));
        const after = await sdkRows();
        try {
          // Then it is never a 5xx, and a refusal counted nothing
          expectNo5xx(answer, `POST analytics ${kind}`);
          if (answer.status >= 400) expect(after).toBe(before);
        } finally {
          before = after;
        }
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS(100), endOnFailure: true },
    );
  });

  it("ofrepEvaluations__hostileContextsKeysPathsAndHeaders__never5xxAndNeverAWrite", { timeout: 180_000 }, async () => {
    // Given OFREP evaluations (bulk, and single with any bytes as the flag key): generated contexts (hostile
    // targeting keys and attribute values, deep and huge values, own __proto__ keys), raw bytes, odd media
    // types, keys as either header (client, server, hostile), re-fetch queries and conditional headers
    const context = fc.record({ targetingKey: fc.oneof(fc.string({ maxLength: 20 }), hostileString, hostileNumber, hostileJson), plan: traitValue, email: traitValue }, { requiredKeys: [] });
    const body = fc.oneof({ weight: 5, arbitrary: fc.record({ context: fc.oneof({ weight: 5, arbitrary: context }, { weight: 1, arbitrary: hostileJson }) }, { requiredKeys: [] }) }, { weight: 1, arbitrary: hostileJson });
    const auth = fc.oneof(
      fc.constant(null).map(() => ({ authorization: `Bearer ${clientKey}` })),
      fc.constant(null).map(() => ({ authorization: `Bearer ${serverKey}` })),
      fc.constant(null).map(() => ({ "x-api-key": serverKey })),
      headerValue.map((value) => ({ authorization: value })),
      headerValue.map((value) => ({ "x-api-key": value })),
      fc.constant({}),
    );
    const target = fc.oneof(fc.constant("/ofrep/v1/evaluate/flags"), fc.constantFrom("banner", "mv", "nope").map((key) => `/ofrep/v1/evaluate/flags/${key}`), urlText.map((key) => `/ofrep/v1/evaluate/flags/${key}`));
    const refetch = fc.option(urlText.map((etag) => `?flagConfigEtag=${etag}`), { nil: "" });
    const before = await sdkRows();
    await fc.assert(
      fc.asyncProperty(
        target,
        refetch,
        body,
        fc.constantFrom<"json" | "proto" | "bytes" | "text">("json", "json", "json", "proto", "bytes", "text"),
        fc.uint8Array({ maxLength: 64 }),
        fc.oneof(hostileString, fc.string()),
        fc.constantFrom(...CONTENT_TYPES),
        auth,
        fc.option(headerValue, { nil: undefined }),
        async (path, search, value, kind, bytes, text, contentType, keyHeaders, ifNoneMatch) => {
          const headers: Record<string, string> = { ...keyHeaders };
          if (contentType) headers["content-type"] = contentType;
          if (ifNoneMatch !== undefined) headers["if-none-match"] = ifNoneMatch;
          // When posted
          const answer = await raw("POST", path + search, headers, bodyOf(value, kind, bytes, text));
          // Then it is never a 5xx, and nothing was written (OFREP evaluation is transient, answered or refused)
          expectNo5xx(answer, `POST ${path}${search} ${kind}`);
          expect(await sdkRows(), `identities/traits changed by an OFREP evaluation (${answer.status})`).toBe(before);
        },
      ),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS(150), endOnFailure: true },
    );
  });

  it("eventStreams__hostileKeysWiresAndLastEventIds__never5xx", { timeout: 120_000 }, async () => {
    // Given stream requests: the client key, the server key, or any bytes as the key; either wire or any
    // path after it; any Last-Event-ID
    const key = fc.oneof(fc.constant(null).map(() => clientKey), fc.constant(null).map(() => serverKey), urlText);
    const wire = fc.oneof(fc.constantFrom("stream", "ofrep", "stream/", "ofrep/"), urlText);
    await fc.assert(
      fc.asyncProperty(key, wire, fc.option(headerValue, { nil: undefined }), fc.constantFrom("GET", "GET", "POST", "HEAD", "OPTIONS"), async (streamKey, streamWire, lastEventId, method) => {
        const path = `/sse/environments/${streamKey}/${streamWire}`;
        // When opened (a stream that opens is dropped at once)
        const answer = await head(method, path, lastEventId !== undefined ? { "last-event-id": lastEventId } : {});
        // Then it is never a 5xx
        expectNo5xx(answer, `${method} ${path}`);
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS(120), endOnFailure: true },
    );
  });

  it("anyPath__arbitraryMethodsPathsAndEncodings__never5xx", { timeout: 180_000 }, async () => {
    // Given any method on any path under every prefix the web process knows, with any percent-encoding
    const prefixes = ["/", "/api/", "/api/v1/", "/api/v1/flags/", "/api/v1/identities/", "/api/v1/flagd/", "/api/trpc/", "/api/trpc/auth.me/", "/p/", "/p/1/e/", "/o/", "/login/", "/metrics/", "/_next/", "/_next/static/", "/_next/image?url=", "/api/health/", "/ofrep/", "/ofrep/v1/evaluate/flags/", "/sse/", "/sse/environments/"];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
        fc.constantFrom(...prefixes),
        fc.array(urlText, { minLength: 0, maxLength: 3 }),
        query,
        nextHeaders,
        async (method, prefix, segments, search, extra) => {
          // When requested (with Next.js's own request headers, garbled)
          const path = prefix + segments.join("/") + search;
          const answer = await raw(method, path, { ...(method === "POST" ? { "content-type": "application/json" } : {}), ...extra }, method === "POST" ? "{}" : undefined);
          // Then it is never a 5xx
          expectNo5xx(answer, `${method} ${path}`);
        },
      ),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS(150), endOnFailure: true },
    );
  });
});
