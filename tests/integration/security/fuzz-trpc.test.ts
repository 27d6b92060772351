/**
 * Property-based fuzzing of every tRPC procedure (issue 14). For each procedure of the app router,
 * inputs are generated from its own zod input schema, mixed with hostile values (NUL, unpaired
 * surrogates, 2,000 CJK characters, JSON nested 5,000 deep, huge numbers, year-275760 dates,
 * `__proto__` keys), with the real ids of a test organisation wherever an input names an id. Each
 * is sent through the real tRPC HTTP handler (limits, context, middleware, error formatting) as a
 * signed-in admin.
 *
 * Property: the answer is a typed tRPC error or a success, never INTERNAL_SERVER_ERROR nor a 5xx;
 * and when the request is refused, no row of the app's tables changed.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { handleTrpcRequest } from "../../../src/server/api/trpc-handler";
import { appRouter } from "../../../src/server/api/trpc-router";
import { generateDocument } from "../../support/flagsmith-documents";
import { signUpUser, type TestUser } from "../support/fixtures";
import { APP_TABLES, Deep, FUZZ_RUNS, FUZZ_SEED, hostileJson, hostileNumber, hostileString, internalErrors, tableChecksum, toJson, withPrototypeKeys } from "./support";

type Schema = z.ZodType & { def: { type: string } & Record<string, unknown> };
type Procedure = { _def: { type: "query" | "mutation"; inputs: Schema[] } };

const procedures = Object.entries((appRouter._def as unknown as { procedures: Record<string, Procedure> }).procedures);

/** Ids (and other real values) of the test organisation, by input key. */
type RealValues = Record<string, (number | string)[]>;

let admin: TestUser;
let real: RealValues;
let db: pg.Client;

const FUTURE = () => new Date(Date.now() + 86_400_000).toISOString();

beforeAll(async () => {
  db = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  admin = await signUpUser({ name: "Fuzz Admin" });
  const c = admin.caller;
  const project = await c.projects.create({ organisationId: admin.organisationId, name: "Fuzz" });
  const environment = await c.environments.create({ projectId: project.id, name: "Fuzz env" });
  const other = await c.environments.create({ projectId: project.id, name: "Other env" });
  const standard = await c.features.create({ projectId: project.id, name: "fuzz_flag", initialValue: "v", defaultEnabled: true, tags: ["t"] });
  const multivariate = await c.features.create({
    projectId: project.id,
    name: "fuzz_mv",
    type: "MULTIVARIATE",
    initialValue: "control",
    options: [
      { value: "a", key: "a", defaultPercentageAllocation: 30 },
      { value: "b", key: "b", defaultPercentageAllocation: 30 },
    ],
  });
  const optionIds = (await c.features.get({ featureId: multivariate.id })).options.map((o) => o.id);
  const segment = await c.segments.create({ projectId: project.id, name: "fuzz segment", rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "plan", value: "pro" }] }] });
  const override = await c.segmentOverrides.create({ featureId: standard.id, environmentId: environment.id, segmentId: segment.id, enabled: true, value: "seg" });
  const identity = await c.identities.create({ environmentId: environment.id, identifier: "fuzz-identity" });
  await c.identities.setTrait({ identityId: identity.id, key: "plan", value: "pro" });
  const identityOverride = await c.identities.createOverride({ identityId: identity.id, featureId: standard.id, enabled: false, value: "mine" });
  const scheduled = await c.features.schedule({ environmentId: environment.id, featureId: standard.id, enabled: false, liveFrom: new Date(Date.now() + 86_400_000) });
  const serverKey = await c.environments.createServerKey({ environmentId: environment.id, name: "fuzz key" });
  const apiKey = await c.organisations.createApiKey({ organisationId: admin.organisationId, name: "fuzz api key" });
  const idOf = (value: unknown) => (value as { id: number }).id;
  real = {
    organisationId: [admin.organisationId],
    projectId: [project.id],
    environmentId: [environment.id, other.id],
    featureId: [standard.id, multivariate.id],
    segmentId: [segment.id],
    segmentIds: [segment.id],
    identityId: [identity.id],
    featureStateId: [idOf(override), idOf(identityOverride)],
    scheduledChangeId: [idOf(scheduled)],
    optionId: optionIds,
    serverKeyId: [idOf(serverKey)],
    apiKeyId: [idOf(apiKey)],
    userId: [admin.userId],
    identifier: ["fuzz-identity"],
    key: ["plan", "a"],
    email: [admin.email],
    password: [admin.password],
    currentPassword: [admin.password],
    confirmName: ["not the name"],
  };
}, 120_000);

afterAll(async () => {
  await db?.end();
});

// ---------------------------------------------------------------------------------------------
// Arbitraries from zod schemas

const ID_KEY = /(^|[a-z])(Id|Ids)$|^id$|^cursor$/;

function idArbitrary(key: string): fc.Arbitrary<unknown> {
  const known = real[key] ?? [];
  return fc.oneof(
    { weight: known.length > 0 ? 6 : 0, arbitrary: known.length > 0 ? fc.constantFrom(...known) : fc.constant(1) },
    { weight: 2, arbitrary: hostileNumber },
    { weight: 1, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.constantFrom<unknown>("1", null, true, [1], { id: 1 }) },
  );
}

function stringArbitrary(key: string): fc.Arbitrary<unknown> {
  const known = real[key] ?? [];
  const typical: fc.Arbitrary<unknown> =
    key === "email"
      ? fc.oneof(fc.constant(`fuzz-${randomBytes(3).toString("hex")}@example.com`), fc.emailAddress())
      : key.toLowerCase().includes("password")
        ? fc.constantFrom("long enough password", "short", "x".repeat(300))
        : fc.string({ maxLength: 40, unit: "grapheme" });
  return fc.oneof(
    { weight: 3, arbitrary: typical },
    { weight: 4, arbitrary: hostileString },
    { weight: known.length > 0 ? 2 : 0, arbitrary: known.length > 0 ? fc.constantFrom(...known) : fc.constant("") },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(42, null, ["a"], { a: 1 }) },
  );
}

const RULE_OPERATORS = ["EQUAL", "NOT_EQUAL", "REGEX", "IN", "MODULO", "PERCENTAGE_SPLIT", "IS_SET", "GREATER_THAN", "CONTAINS", "NOPE"];

/** Segment rules: plausible ones with hostile text, deep ones, and things that are not rules. */
const rulesArbitrary: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.array(
      fc.record({
        type: fc.constantFrom("ALL", "ANY", "NONE", "SOME"),
        conditions: fc.array(fc.record({ operator: fc.constantFrom(...RULE_OPERATORS), property: fc.oneof(hostileString, fc.string()), value: fc.oneof(hostileString, fc.string(), hostileNumber) }), { maxLength: 3 }),
        rules: fc.constantFrom<unknown>([], [{ type: "ANY", conditions: [{ operator: "EQUAL", property: "p", value: "\ud800" }], rules: [] }]),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constant(null).map(() => {
      // Rules nested 50 deep (the limit is 5).
      let rule: unknown = { type: "ALL", conditions: [{ operator: "EQUAL", property: "p", value: "v" }], rules: [] };
      for (let i = 0; i < 50; i++) rule = { type: "ANY", conditions: [], rules: [rule] };
      return [rule];
    }),
  },
  { weight: 1, arbitrary: hostileJson },
);

/** Import documents: a real one with hostile edits, or anything at all. */
const documentArbitrary: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(hostileString, hostileJson, fc.constantFrom("feature", "segment", "identifier", "trait", "api_key")).map(([text, json, where]) => {
      const doc = generateDocument({ apiKey: `fuzz${randomBytes(4).toString("hex")}` }) as unknown as Record<string, unknown> & {
        feature_states: { feature: { name: string } }[];
        project: { segments: { name: string }[] };
        identity_overrides: { identifier: string; identity_traits?: unknown[] }[];
      };
      if (where === "feature" && doc.feature_states[0]) doc.feature_states[0].feature.name = text;
      if (where === "segment" && doc.project.segments[0]) doc.project.segments[0].name = text;
      if (where === "identifier" && doc.identity_overrides[0]) doc.identity_overrides[0].identifier = text;
      if (where === "trait" && doc.identity_overrides[0]) doc.identity_overrides[0].identity_traits = [{ trait_key: text, trait_value: json }];
      if (where === "api_key") doc.api_key = text;
      return doc;
    }),
  },
  { weight: 1, arbitrary: hostileJson },
);

const dateArbitrary: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null).map(FUTURE),
  fc.constantFrom<unknown>("+275760-09-13T00:00:00.000Z", 8.64e15, -8.64e15, "not a date", 0, "2000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "10000-01-01T00:00:00Z", 1e300, true, [], {}),
);

function arbitraryFor(schema: Schema, key: string): fc.Arbitrary<unknown> {
  const def = schema.def;
  switch (def.type) {
    case "string":
      return stringArbitrary(key);
    case "number":
      return ID_KEY.test(key) ? idArbitrary(key) : fc.oneof(hostileNumber, fc.integer({ min: -5, max: 300 }), fc.double({ noNaN: true }), fc.constantFrom<unknown>("5", null));
    case "boolean":
      return fc.oneof({ weight: 5, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constantFrom<unknown>("true", 1, null) });
    case "enum":
      return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...Object.values(def.entries as Record<string, string>)) }, { weight: 1, arbitrary: hostileString });
    case "optional":
      return fc.option(arbitraryFor(def.innerType as Schema, key), { nil: undefined, freq: 3 });
    case "nullable":
      return fc.option(arbitraryFor(def.innerType as Schema, key), { nil: null, freq: 4 });
    case "default":
      return fc.option(arbitraryFor(def.innerType as Schema, key), { nil: undefined, freq: 3 });
    case "array": {
      const element = arbitraryFor(def.element as Schema, key.endsWith("Ids") ? key : key.replace(/s$/, ""));
      return fc.oneof({ weight: 5, arbitrary: fc.array(element, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.array(element, { minLength: 25, maxLength: 40 }) }, { weight: 1, arbitrary: hostileJson });
    }
    case "union":
      return fc.oneof(...(def.options as Schema[]).map((option) => arbitraryFor(option, key)));
    case "object": {
      const shape = def.shape as Record<string, Schema>;
      const record = fc.record(Object.fromEntries(Object.entries(shape).map(([name, child]) => [name, arbitraryFor(child, name)])));
      return fc.oneof(
        { weight: 8, arbitrary: record },
        { weight: 1, arbitrary: fc.tuple(record, hostileJson).map(([value, extra]) => withPrototypeKeys(value as Record<string, unknown>, extra)) },
      );
    }
    case "date":
      return dateArbitrary;
    case "custom":
      return rulesArbitrary;
    case "unknown":
      return key === "document" ? documentArbitrary : hostileJson;
    case "pipe":
      return arbitraryFor(def.in as Schema, key);
    default:
      return hostileJson;
  }
}

/** The whole input: mostly from the schema, sometimes something else entirely. */
function inputArbitrary(procedure: Procedure): fc.Arbitrary<unknown> {
  const schema = procedure._def.inputs[0];
  if (!schema) return fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hostileJson });
  return fc.oneof({ weight: 12, arbitrary: arbitraryFor(schema, "") }, { weight: 1, arbitrary: hostileJson }, { weight: 1, arbitrary: fc.constant(new Deep(5000, "object")) });
}

// ---------------------------------------------------------------------------------------------
// Calling through the real handler

async function call(path: string, type: "query" | "mutation", input: unknown): Promise<{ status: number; body: unknown; text: string }> {
  const headers = { cookie: `flagpost_session=${admin.token}`, "content-type": "application/json" };
  const json = input === undefined ? undefined : toJson(input);
  const request =
    type === "query"
      ? new Request(`http://flagpost.local/api/trpc/${path}${json === undefined ? "" : `?input=${encodeURIComponent(json)}`}`, { headers })
      : new Request(`http://flagpost.local/api/trpc/${path}`, { method: "POST", headers, body: json ?? "" });
  const response = await handleTrpcRequest(request);
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: response.status, body, text };
}

/** Procedures that end the admin's session or delete the fixture go last, so the others see real data. */
const LAST = ["delete", "deleteOption", "deleteOverride", "deleteTrait", "cancelScheduled", "revokeServerKey", "revokeApiKey", "removeMember", "updateMember", "signOut"];
const rank = (name: string) => {
  const method = name.split(".").pop()!;
  if (name === "auth.signOut") return 3;
  if (name === "organisations.delete") return 2;
  return LAST.includes(method) ? 1 : 0;
};
const ordered = [...procedures].sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
/** Each valid call hashes a password (~0.4 s): fewer runs. */
const PASSWORD_PROCEDURES = new Set(["auth.signUp", "auth.signIn", "auth.changePassword"]);

describe("tRPC procedures under hostile input", () => {
  it("fuzzSetup__appRouter__everyProcedureIsFuzzed", () => {
    // Given the app router
    // When its procedures are listed
    // Then there are many, each with its type (the fuzz below covers every one of them)
    expect(ordered.length).toBeGreaterThan(60);
    expect(ordered.every(([, p]) => p._def.type === "query" || p._def.type === "mutation")).toBe(true);
  });

  for (const [path, procedure] of ordered) {
    it(`${path}__generatedAndHostileInput__typedAnswerAndNoWriteWhenRefused`, { timeout: 120_000 }, async () => {
      // Given inputs generated from the procedure's schema, mixed with hostile values and real ids
      const runs = FUZZ_RUNS(PASSWORD_PROCEDURES.has(path) ? 8 : 40);
      let before = await tableChecksum(db, APP_TABLES);

      // When each is sent through the tRPC handler as the signed-in admin
      await fc.assert(
        fc.asyncProperty(inputArbitrary(procedure), async (input) => {
          const answer = await call(path, procedure._def.type, input);
          const after = await tableChecksum(db, APP_TABLES);
          try {
            // Then the answer is never a 5xx nor INTERNAL_SERVER_ERROR…
            expect(answer.status, answer.text.slice(0, 500)).toBeLessThan(500);
            expect(internalErrors(answer.body), answer.text.slice(0, 500)).toEqual([]);
            // …and a refusal changed no row
            if (answer.status >= 400) expect(after, `refused with ${answer.status} but rows changed: ${answer.text.slice(0, 300)}`).toBe(before);
          } finally {
            before = after;
          }
        }),
        { seed: FUZZ_SEED, numRuns: runs, endOnFailure: true },
      );
    });
  }
});
