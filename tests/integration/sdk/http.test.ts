/**
 * The SDK API over HTTP against the system server (`next start` + worker): every endpoint, both
 * trailing-slash forms, auth and bad input, conditional requests, trait rules, and cache freshness.
 * Admin changes go through tRPC callers on the system's database; the system's worker writes the
 * documents.
 */
import { randomBytes } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { getDb } from "../../../src/server/db/client";
import { featureEvaluations, identities, traits } from "../../../src/server/db/schema";
import { projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { eventually, sdkClient, waitForDocuments, type SdkClient } from "./support";

process.env.DATABASE_URL = inject("systemDatabaseUrl");
resetSettingsForTests();

const base = inject("systemUrl");

interface Flag {
  id: number | null;
  feature: { id: number; name: string; created_date: string | null; description: string | null; initial_value: unknown; default_enabled: boolean | null; type: string };
  feature_state_value: unknown;
  environment: number | null;
  identity: number | null;
  feature_segment: null;
  enabled: boolean;
  variant?: string | null;
}

interface Fixture {
  user: TestUser;
  projectId: number;
  environmentId: number;
  clientKey: string;
  serverKey: string;
  client: SdkClient;
  server: SdkClient;
  features: Record<string, number>;
  segmentId: number;
  vipIdentityId: number;
}

const ADULTS = [{ type: "ALL", conditions: [], rules: [{ type: "ANY", rules: [], conditions: [{ operator: "GREATER_THAN_INCLUSIVE", property: "age", value: "18" }] }] }];

/** A project with one environment: features of every kind, a segment override, an identity override, a server key. */
async function environmentFixture(user?: TestUser): Promise<Fixture> {
  user ??= await signUpUser();
  const { project, environments } = await projectWithEnvironments(user, ["Development"]);
  const environment = environments[0];
  const features: Record<string, number> = {};
  const create = async (name: string, input: Record<string, unknown>) => {
    features[name] = (await user.caller.features.create({ projectId: project.id, name, ...input })).id;
  };
  await create("banner", { initialValue: "hello", defaultEnabled: true, description: "Top banner" });
  await create("disabled_flag", { initialValue: null, defaultEnabled: false });
  await create("secret", { initialValue: "s3cr3t", defaultEnabled: true, isServerKeyOnly: true });
  await create("limit", { initialValue: 10, defaultEnabled: true });
  await create("mv", {
    initialValue: "control",
    defaultEnabled: true,
    options: [
      { value: "red", key: "red", defaultPercentageAllocation: 50 },
      { value: "blue", key: "blue", defaultPercentageAllocation: 50 },
    ],
  });
  const segment = await user.caller.segments.create({ projectId: project.id, name: "adults", rules: ADULTS });
  await user.caller.segmentOverrides.create({ featureId: features.banner, environmentId: environment.id, segmentId: segment.id, enabled: true, value: "grown-up" });
  const vip = await user.caller.identities.create({ environmentId: environment.id, identifier: "vip" });
  await user.caller.identities.createOverride({ identityId: vip.id, featureId: features.limit, enabled: true, value: 99 });
  const serverKey = (await user.caller.environments.createServerKey({ environmentId: environment.id, name: "backend" })).key;
  await waitForDocuments([environment.id]);
  return {
    user,
    projectId: project.id,
    environmentId: environment.id,
    clientKey: environment.apiKey,
    serverKey,
    client: sdkClient(base, environment.apiKey),
    server: sdkClient(base, serverKey),
    features,
    segmentId: segment.id,
    vipIdentityId: vip.id,
  };
}

/** Waits until the web process serves the environment's current revision (the notification has arrived). */
async function settled(fx: Fixture): Promise<void> {
  await waitForDocuments([fx.environmentId]);
  const [row] = (await getDb().execute<{ updated: string }>(sql`select extract(epoch from updated_at)::text as updated from environments where id = ${fx.environmentId}`)).rows;
  await eventually(async () => (await fx.server.get("flags/")).headers.get("x-flagsmith-document-updated-at") === String(Number(row.updated)), 5_000, "current revision served");
}

const names = (flags: Flag[]) => flags.map((f) => f.feature.name).sort();

let fx: Fixture;

beforeAll(async () => {
  fx = await environmentFixture();
});

describe("GET /api/v1/flags/", () => {
  it("flags__withAndWithoutTrailingSlash__sameFlagsAndUpdatedAtHeader", async () => {
    // Given an environment with a stored document
    // When its flags are fetched at both paths
    const slash = await fx.server.get("flags/");
    const bare = await fx.server.get("flags");

    // Then both answer the same body, with the document's updated_at as Unix seconds
    expect(slash.status).toBe(200);
    expect(bare.status).toBe(200);
    const body = await slash.text();
    expect(await bare.text()).toBe(body);
    expect(slash.headers.get("content-type")).toContain("application/json");
    const [row] = (await getDb().execute<{ updated: string }>(sql`select extract(epoch from environment_updated_at)::text as updated from environment_documents where environment_id = ${fx.environmentId}`)).rows;
    expect(slash.headers.get("x-flagsmith-document-updated-at")).toBe(String(Number(row.updated)));
    expect(slash.headers.get("x-flagsmith-document-updated-at")).toMatch(/^\d{10}\.\d+$/);
  });

  it("flags__serverKey__environmentDefaultsAsFlagsmithObjects", async () => {
    // Given the fixture's features (a segment and an identity override exist but do not apply here)
    // When environment flags are fetched with a server key
    const flags = (await (await fx.server.get("flags/")).json()) as Flag[];

    // Then every feature's environment default is returned in Flagsmith's shape
    expect(names(flags)).toEqual(["banner", "disabled_flag", "limit", "mv", "secret"]);
    const banner = flags.find((f) => f.feature.name === "banner")!;
    expect(banner).toMatchObject({
      feature: { id: fx.features.banner, name: "banner", description: "Top banner", initial_value: "hello", default_enabled: true, type: "STANDARD" },
      feature_state_value: "hello",
      environment: fx.environmentId,
      identity: null,
      feature_segment: null,
      enabled: true,
    });
    expect(banner.id).toEqual(expect.any(Number));
    expect(banner.feature.created_date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(flags.find((f) => f.feature.name === "mv")).toMatchObject({ feature_state_value: "control", feature: { type: "MULTIVARIATE" } });
    expect(flags.find((f) => f.feature.name === "limit")?.feature_state_value).toBe(10);
    expect(banner).not.toHaveProperty("variant");
  });

  it("flags__clientKey__serverKeyOnlyFeatureHidden", async () => {
    // Given a server-key-only feature
    // When flags are fetched with the client key
    const flags = (await (await fx.client.get("flags/")).json()) as Flag[];

    // Then it is not among them
    expect(names(flags)).toEqual(["banner", "disabled_flag", "limit", "mv"]);
    expect((await fx.client.get("flags/?feature=secret")).status).toBe(404);
  });

  it("flags__featureParameter__singleObjectOr404", async () => {
    // Given the fixture
    // When one feature is asked for, and an unknown one
    const one = await fx.client.get("flags/?feature=banner");
    const missing = await fx.client.get("flags?feature=nope");

    // Then the first is a single object, the second Flagsmith's 404
    expect(one.status).toBe(200);
    expect(((await one.json()) as Flag).feature.name).toBe("banner");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ detail: "Given feature not found" });
  });

  it("flags__hideDisabledFlags__environmentValueElseProjects", async () => {
    // Given a project hiding disabled flags
    const local = await environmentFixture(fx.user);
    await local.user.caller.projects.update({ projectId: local.projectId, hideDisabledFlags: true });
    await settled(local);

    // When flags are fetched, then again after the environment overrides the setting with false
    const hidden = names((await (await local.server.get("flags/")).json()) as Flag[]);
    const hiddenForClient = names((await (await local.client.get("flags/")).json()) as Flag[]);
    await local.user.caller.environments.update({ environmentId: local.environmentId, hideDisabledFlags: false });
    await settled(local);
    const shown = names((await (await local.server.get("flags/")).json()) as Flag[]);

    // Then the disabled flag is hidden only while the effective setting is on, and client keys still
    // never see the server-key-only feature (both filters apply)
    expect(hidden).toEqual(["banner", "limit", "mv", "secret"]);
    expect(hiddenForClient).toEqual(["banner", "limit", "mv"]);
    expect(shown).toEqual(["banner", "disabled_flag", "limit", "mv", "secret"]);
  });

  it("flags__hideSensitiveData__idsAndFeatureMetadataNull", async () => {
    // Given an environment hiding sensitive data
    const local = await environmentFixture(fx.user);
    await local.user.caller.environments.update({ environmentId: local.environmentId, hideSensitiveData: true });
    await settled(local);

    // When flags and identity flags are fetched
    const flags = (await (await local.server.get("flags/")).json()) as Flag[];
    const identity = (await (await local.server.post("identities/", { identifier: "vip", traits: [{ trait_key: "age", trait_value: 40 }] })).json()) as { traits: unknown[]; flags: Flag[] };

    // Then ids and metadata are null and traits are not returned
    const banner = flags.find((f) => f.feature.name === "banner")!;
    expect(banner).toEqual({
      id: null,
      feature: { id: local.features.banner, name: "banner", created_date: null, description: null, initial_value: null, default_enabled: null, type: "STANDARD" },
      feature_state_value: "hello",
      environment: null,
      identity: null,
      feature_segment: null,
      enabled: true,
    });
    expect(identity.traits).toEqual([]);
    expect(identity.flags.find((f) => f.feature.name === "limit")).toMatchObject({ feature_state_value: 99, identity: null });
  });

  it("flags__changeWritten__visibleWithoutWaitingForTtl", async () => {
    // Given a warm cache in the web process while it LISTENs (it then trusts the cache for 30 s; the
    // 1 s revision check only applies without the listener)
    const local = await environmentFixture(fx.user);
    for (let i = 0; i < 3; i++) expect((await local.client.get("flags/?feature=banner")).status).toBe(200);
    // (polled: a listener heartbeat that timed out on a loaded machine reconnects it within a second)
    await eventually(async () => /^flagsmith_sdk_document_listener_connected 1$/m.test(await (await fetch(inject("systemMetricsUrl"))).text()), 10_000, "listener connected");

    // When the flag is changed and its document is written by the worker
    await local.user.caller.features.updateState({ featureId: local.features.banner, environmentId: local.environmentId, enabled: false, value: "changed" });
    await waitForDocuments([local.environmentId]);

    // Then the change is served well before the 30 s the cache would otherwise be trusted for
    await eventually(
      async () => {
        const flag = (await (await local.client.get("flags/?feature=banner")).json()) as Flag;
        return flag.feature_state_value === "changed" && flag.enabled === false;
      },
      5_000,
      "change visible",
    );
  });
});

describe("authentication", () => {
  it("sdkEndpoints__missingOrUnknownKey__401InvalidKey", async () => {
    // Given no key and an unknown key
    const none = sdkClient(base, null);
    const unknown = sdkClient(base, `nope${randomBytes(4).toString("hex")}`);
    const unknownServer = sdkClient(base, `ser.${randomBytes(8).toString("hex")}`);

    // When every endpoint is called
    const responses = await Promise.all([
      none.get("flags/"),
      unknown.get("flags/"),
      unknownServer.get("flags"),
      unknown.get("identities/?identifier=a"),
      unknown.post("identities/", { identifier: "a" }),
      unknown.get("environment-document/"),
      unknownServer.post("analytics/flags/", { banner: 1 }),
      sdkClient(base, "x".repeat(5000)).get("flags/"),
    ]);

    // Then each is Flagsmith's 401
    for (const response of responses) {
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ detail: "Invalid or missing Environment key" });
    }
  });

  it("environmentDocument__clientKey__401", async () => {
    // Given the environment's client key
    // When the document is asked for with it
    const response = await fx.client.get("environment-document/");

    // Then it is refused (server keys only)
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ detail: "Invalid or missing Environment key" });
  });

  it("serverKey__revokedOrExpiredBeforeUse__401", async () => {
    // Given a revoked and an expired server key (never used, so never cached)
    const revoked = await fx.user.caller.environments.createServerKey({ environmentId: fx.environmentId, name: "to-revoke" });
    const list = await fx.user.caller.environments.serverKeys({ environmentId: fx.environmentId });
    await fx.user.caller.environments.revokeServerKey({ environmentId: fx.environmentId, serverKeyId: list.find((k) => k.name === "to-revoke")!.id });
    const expired = await fx.user.caller.environments.createServerKey({ environmentId: fx.environmentId, name: "to-expire" });
    await getDb().execute(sql`update environment_api_keys set expires_at = now() - interval '1 second' where environment_id = ${fx.environmentId} and name = 'to-expire'`);

    // When they are used
    const responses = await Promise.all([sdkClient(base, revoked.key).get("environment-document/"), sdkClient(base, expired.key).get("flags/")]);

    // Then both are refused
    expect(responses.map((r) => r.status)).toEqual([401, 401]);
  });

  it("organisationStopsServingFlags__anyKey__401AsFlagsmith", async () => {
    // Given an organisation that stops serving flags
    const user = await signUpUser();
    const local = await environmentFixture(user);
    await user.caller.organisations.update({ organisationId: user.organisationId, stopServingFlags: true });
    await waitForDocuments([local.environmentId]);

    // When its SDKs call
    const response = await eventually(async () => (await local.client.get("flags/")).status === 401, 5_000, "refused").then(() => local.server.post("identities/", { identifier: "u" }));

    // Then they are refused with Flagsmith's message
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ detail: "Organisation is disabled from serving flags." });
  });

  it("environmentWithoutDocument__anyEndpoint__503RetryAfter", async () => {
    // Given an environment whose first document has not been written
    const apiKey = `nodoc${randomBytes(6).toString("hex")}`;
    await getDb().execute(sql`insert into environments (project_id, name, api_key) values (${fx.projectId}, ${`No document ${apiKey}`}, ${apiKey})`);
    const client = sdkClient(base, apiKey);

    // When its flags are asked for
    const responses = await Promise.all([client.get("flags/"), client.post("identities/", { identifier: "u" })]);

    // Then the client is told to retry shortly
    for (const response of responses) {
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("1");
      expect(await response.json()).toEqual({ detail: "Environment document not yet available" });
    }
  });
});

interface IdentityResponse {
  identifier: string;
  traits: { id: null; trait_key: string; trait_value: unknown; transient: boolean }[];
  flags: Flag[];
}

async function storedTraits(environmentId: number, identifier: string): Promise<Record<string, unknown> | null> {
  const [identity] = await getDb().select().from(identities).where(and(eq(identities.environmentId, environmentId), eq(identities.identifier, identifier)));
  if (!identity) return null;
  const rows = await getDb().select().from(traits).where(eq(traits.identityId, identity.id));
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

const flagOf = (body: IdentityResponse, name: string) => body.flags.find((f) => f.feature.name === name);

describe("/api/v1/identities/", () => {
  it("identitiesGet__noIdentifier__200MissingIdentifier", async () => {
    // Given no identifier (Flagsmith answers 200 here)
    // When identities are asked for
    const response = await fx.client.get("identities/");

    // Then the body says so
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ detail: "Missing identifier" });
  });

  it("identitiesGet__newIdentifier__createdWithStoredTraitsAndVariant", async () => {
    // Given an identity known only by its identifier
    const identifier = `get-${randomBytes(4).toString("hex")}`;

    // When its flags are fetched (both path forms)
    const response = await fx.client.get(`identities/?identifier=${identifier}`);
    const bare = await fx.client.get(`identities?identifier=${identifier}`);

    // Then it is created, and flags carry `variant` (a multivariate key, null for standard features)
    expect(response.status).toBe(200);
    expect(bare.status).toBe(200);
    const body = (await response.json()) as IdentityResponse;
    expect(body.identifier).toBe(identifier);
    expect(body.traits).toEqual([]);
    expect(["red", "blue"]).toContain(flagOf(body, "mv")?.variant);
    expect(flagOf(body, "mv")?.feature_state_value).toBe(flagOf(body, "mv")?.variant);
    expect(flagOf(body, "banner")).toMatchObject({ variant: null, feature_state_value: "hello" });
    expect(flagOf(body, "secret")).toBeUndefined();
    expect(await storedTraits(fx.environmentId, identifier)).toEqual({});
    expect(response.headers.get("x-flagsmith-document-updated-at")).toMatch(/^\d+\.\d+$/);
  });

  it("identitiesGet__transientAndFeatureParameters__notCreatedSingleFlag", async () => {
    // Given an unknown identifier
    const identifier = `transient-${randomBytes(4).toString("hex")}`;

    // When asked for transiently, for one feature, and for an unknown feature
    const one = await fx.client.get(`identities/?identifier=${identifier}&transient=true&feature=banner`);
    const missing = await fx.client.get(`identities/?identifier=${identifier}&transient=1&feature=nope`);
    const bad = await fx.client.get(`identities/?identifier=${identifier}&transient=maybe`);

    // Then nothing is stored, the single flag is returned, and bad booleans are refused
    expect(one.status).toBe(200);
    expect(((await one.json()) as Flag).feature.name).toBe("banner");
    expect(missing.status).toBe(404);
    expect(bad.status).toBe(400);
    expect(await storedTraits(fx.environmentId, identifier)).toBeNull();
  });

  it("identitiesPost__traits__persistedEvaluatedAndSegmentOverrideApplied", async () => {
    // Given an adult identity
    const identifier = `post-${randomBytes(4).toString("hex")}`;

    // When it identifies with traits (one transient)
    const response = await fx.client.post("identities/", {
      identifier,
      traits: [
        { trait_key: "age", trait_value: 30 },
        { trait_key: "plan", trait_value: "pro" },
        { trait_key: "session", trait_value: "abc", transient: true },
      ],
    });

    // Then the segment override applies, the traits are returned, and only non-transient ones are stored
    expect(response.status).toBe(200);
    const body = (await response.json()) as IdentityResponse;
    expect(flagOf(body, "banner")).toMatchObject({ feature_state_value: "grown-up", enabled: true });
    expect(body.traits).toEqual([
      { id: null, trait_key: "age", trait_value: 30, transient: false },
      { id: null, trait_key: "plan", trait_value: "pro", transient: false },
      { id: null, trait_key: "session", trait_value: "abc", transient: true },
    ]);
    expect(await storedTraits(fx.environmentId, identifier)).toEqual({ age: 30, plan: "pro" });

    // And when it identifies again with a null age, stored traits still count
    const again = (await (await fx.client.post("identities/", { identifier, traits: [{ trait_key: "age", trait_value: null }] })).json()) as IdentityResponse;
    expect(again.traits).toEqual([{ id: null, trait_key: "plan", trait_value: "pro", transient: false }]);
    expect(flagOf(again, "banner")?.feature_state_value).toBe("hello");
    expect(await storedTraits(fx.environmentId, identifier)).toEqual({ plan: "pro" });
  });

  it("identitiesPost__identityOverride__winsWithIdentityId", async () => {
    // Given the identity "vip" overriding `limit`
    // When it identifies
    const body = (await (await fx.client.post("identities/", { identifier: "vip", traits: [] })).json()) as IdentityResponse;

    // Then the override wins and names the identity
    expect(flagOf(body, "limit")).toMatchObject({ feature_state_value: 99, identity: fx.vipIdentityId });
    expect(flagOf(body, "banner")?.identity).toBeNull();
  });

  it("identitiesPost__transientIdentity__nothingStored", async () => {
    // Given an identity asking to be transient
    const identifier = `ephemeral-${randomBytes(4).toString("hex")}`;

    // When it identifies with traits
    const body = (await (await fx.client.post("identities/", { identifier, transient: true, traits: [{ trait_key: "age", trait_value: 20 }] })).json()) as IdentityResponse;

    // Then its traits are used (and marked transient) but nothing is stored
    expect(flagOf(body, "banner")?.feature_state_value).toBe("grown-up");
    expect(body.traits).toEqual([{ id: null, trait_key: "age", trait_value: 20, transient: true }]);
    expect(await storedTraits(fx.environmentId, identifier)).toBeNull();
  });

  it("identitiesPost__transientExistingIdentity__storedTraitsAndOverridesUsedNothingWritten", async () => {
    // Given a stored identity with a stored trait, and the overridden "vip"
    const identifier = `known-${randomBytes(4).toString("hex")}`;
    await fx.client.post("identities/", { identifier, traits: [{ trait_key: "age", trait_value: 50 }] });

    // When both identify transiently with new traits
    const known = (await (await fx.client.post("identities/", { identifier, transient: true, traits: [{ trait_key: "plan", trait_value: "x" }] })).json()) as IdentityResponse;
    const vip = (await (await fx.client.post("identities/", { identifier: "vip", transient: true })).json()) as IdentityResponse;

    // Then stored traits and overrides count, and nothing new is written
    expect(flagOf(known, "banner")?.feature_state_value).toBe("grown-up");
    expect(known.traits.map((t) => [t.trait_key, t.transient])).toEqual([
      ["age", false],
      ["plan", true],
    ]);
    expect(await storedTraits(fx.environmentId, identifier)).toEqual({ age: 50 });
    expect(flagOf(vip, "limit")?.feature_state_value).toBe(99);
  });

  it("identitiesPost__noIdentifier__derivedIdentifierNothingStored", async () => {
    // Given a body without identifier
    const traitsBody = [
      { trait_key: "b", trait_value: true },
      { trait_key: "a", trait_value: 3 },
    ];

    // When it identifies twice with the same traits
    const first = (await (await fx.client.post("identities/", { traits: traitsBody })).json()) as IdentityResponse;
    const second = (await (await fx.client.post("identities/", { identifier: "", traits: traitsBody })).json()) as IdentityResponse;

    // Then the identifier is Flagsmith's sha256 of the sorted traits, stable, and no identity is stored
    expect(first.identifier).toMatch(/^[0-9a-f]{64}$/);
    expect(second.identifier).toBe(first.identifier);
    expect(await storedTraits(fx.environmentId, first.identifier)).toBeNull();
  });

  it("identitiesPost__clientTraitsDisallowed__clientTraitsDroppedServerTraitsKept", async () => {
    // Given an environment that disallows client-side traits
    const local = await environmentFixture(fx.user);
    await local.user.caller.environments.update({ environmentId: local.environmentId, allowClientTraits: false });
    await settled(local);
    const identifier = `adult-${randomBytes(4).toString("hex")}`;

    // When a client key and then a server key send traits
    const viaClient = await local.client.post("identities/", { identifier, traits: [{ trait_key: "age", trait_value: 30 }] });
    const clientBody = (await viaClient.json()) as IdentityResponse;
    const storedAfterClient = await storedTraits(local.environmentId, identifier);
    const serverBody = (await (await local.server.post("identities/", { identifier, traits: [{ trait_key: "age", trait_value: 30 }] })).json()) as IdentityResponse;

    // Then the client's traits are silently ignored (200, not stored, not evaluated); the server's count
    expect(viaClient.status).toBe(200);
    expect(clientBody.traits).toEqual([]);
    expect(flagOf(clientBody, "banner")?.feature_state_value).toBe("hello");
    expect(storedAfterClient).toEqual({});
    expect(flagOf(serverBody, "banner")?.feature_state_value).toBe("grown-up");
    expect(await storedTraits(local.environmentId, identifier)).toEqual({ age: 30 });
  });

  it("identitiesPost__organisationDoesNotPersistTraits__evaluatedNotStored", async () => {
    // Given an organisation that does not persist trait data
    const user = await signUpUser();
    const local = await environmentFixture(user);
    await user.caller.organisations.update({ organisationId: user.organisationId, persistTraitData: false });
    await settled(local);
    const identifier = `nopersist-${randomBytes(4).toString("hex")}`;

    // When an identity sends traits
    const body = (await (await local.client.post("identities/", { identifier, traits: [{ trait_key: "age", trait_value: 30 }] })).json()) as IdentityResponse;

    // Then they are evaluated but the identity has none stored
    expect(flagOf(body, "banner")?.feature_state_value).toBe("grown-up");
    expect(await storedTraits(local.environmentId, identifier)).toEqual({});
  });

  it("identitiesPost__formBody__accepted", async () => {
    // Given a form-encoded body (Flagsmith accepts forms)
    const identifier = `form-${randomBytes(4).toString("hex")}`;
    const form = new URLSearchParams({ identifier, traits: JSON.stringify([{ trait_key: "age", trait_value: 21 }]) });

    // When posted
    const response = await fetch(`${base}/api/v1/identities/`, {
      method: "POST",
      headers: { "x-environment-key": fx.clientKey, "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });

    // Then it is handled like JSON
    expect(response.status).toBe(200);
    expect(flagOf((await response.json()) as IdentityResponse, "banner")?.feature_state_value).toBe("grown-up");
  });

  it("deprecatedFlagsIdentifier__bothForms__identityFlagsList", async () => {
    // Given the identity "vip"
    // When the deprecated route is used
    const responses = await Promise.all([fx.client.get("flags/vip"), fx.client.get("flags/vip/")]);

    // Then it answers the identity's flags as a list
    for (const response of responses) {
      expect(response.status).toBe(200);
      const flags = (await response.json()) as Flag[];
      expect(flags.find((f) => f.feature.name === "limit")?.feature_state_value).toBe(99);
    }
  });
});

describe("bad input", () => {
  it.each([
    ["malformed JSON", "{not json", {}, 400, /JSON parse error/],
    ["traits not a list", JSON.stringify({ identifier: "u", traits: "age=3" }), {}, 400, /traits: Expected a list/],
    ["identifier too long", JSON.stringify({ identifier: "x".repeat(2001) }), {}, 400, /identifier: Ensure this field has no more than 2000/],
    ["a huge body", JSON.stringify({ identifier: "u", padding: "x".repeat(300_000) }), {}, 413, /exceeds/],
    ["an unsupported content type", "<xml/>", { "content-type": "application/xml" }, 415, /Unsupported media type/],
  ])("identitiesPost__%s__clientErrorWithDetail", async (_name, body, headers, status, detail) => {
    // Given a bad request body
    // When posted
    const response = await fx.client.post("identities/", body, headers as Record<string, string>);

    // Then it is a client error with a clear detail
    expect(response.status).toBe(status);
    expect(((await response.json()) as { detail: string }).detail).toMatch(detail);
  });

  it("sdkEndpoints__oddInputs__neverA500", async () => {
    // Given a sweep of odd requests
    const requests = [
      fx.client.get("flags/?feature="),
      fx.client.get("flags/?feature=%00%ff"),
      fx.client.get(`identities/?identifier=${"y".repeat(3000)}`),
      fx.client.get("identities/?identifier=%F0%9F%98%80&transient="),
      fx.client.post("identities/", "null"),
      fx.client.post("identities/", "[]"),
      fx.client.post("identities/", JSON.stringify({ identifier: "u", traits: [{ trait_key: "k", trait_value: { nested: [1, 2] } }] })),
      fx.client.post("identities/", new Uint8Array([0xff, 0xfe, 0x00]), { "content-type": "application/json" }),
      fx.client.post("analytics/flags/", "{"),
      fx.client.post("analytics/flags/", { banner: -1 }),
      fx.server.get("environment-document/", { "if-modified-since": "garbage", "if-none-match": "" }),
      fx.client.get(`flags/${"z".repeat(2100)}`),
      fx.client.get("identities/?identifier=a%00b"),
      fx.client.post("identities/", JSON.stringify({ identifier: "u", traits: [{ trait_key: "k", trait_value: "nul\u0000" }] })),
      fx.client.post("identities/", JSON.stringify({ identifier: "\u{1F600}".repeat(600) })),
    ];

    // When sent
    const statuses = (await Promise.all(requests)).map((r) => r.status);

    // Then none is a server error
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses).toEqual([404, 404, 400, 200, 400, 400, 200, 400, 400, 400, 200, 400, 400, 400, 400]);
  });
});

describe("GET /api/v1/environment-document/", () => {
  it("environmentDocument__serverKey__storedBytesVerbatimWithValidators", async () => {
    // Given the stored document
    const [row] = (await getDb().execute<{ document: string }>(sql`select document from environment_documents where environment_id = ${fx.environmentId}`)).rows;

    // When fetched twice without conditional headers (both path forms)
    const first = await fx.server.get("environment-document/");
    const second = await fx.server.get("environment-document");

    // Then both are 200 with the exact stored bytes, a strong ETag, Last-Modified and the updated-at header
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(await first.text()).toBe(row.document);
    expect(await second.text()).toBe(row.document);
    expect(first.headers.get("etag")).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(first.headers.get("last-modified")).toMatch(/GMT$/);
    expect(first.headers.get("x-flagsmith-document-updated-at")).toMatch(/^\d+\.\d+$/);
  });

  it("environmentDocument__conditionalHeaders__304OnlyWhenUnchanged", async () => {
    // Given the document's validators
    const first = await fx.server.get("environment-document/");
    const etag = first.headers.get("etag")!;
    const lastModified = first.headers.get("last-modified")!;

    // When conditional requests are made
    const byEtag = await fx.server.get("environment-document/", { "if-none-match": etag });
    const byWeakEtag = await fx.server.get("environment-document/", { "if-none-match": `"other", W/${etag}` });
    const otherEtag = await fx.server.get("environment-document/", { "if-none-match": '"other"' });
    const byDate = await fx.server.get("environment-document/", { "if-modified-since": lastModified });
    const olderDate = await fx.server.get("environment-document/", { "if-modified-since": new Date(Date.parse(lastModified) - 60_000).toUTCString() });
    const etagWins = await fx.server.get("environment-document/", { "if-none-match": '"other"', "if-modified-since": lastModified });

    // Then unchanged documents are 304 (empty, validators repeated), everything else 200
    expect(byEtag.status).toBe(304);
    expect(await byEtag.text()).toBe("");
    expect(byEtag.headers.get("etag")).toBe(etag);
    expect(byEtag.headers.get("last-modified")).toBe(lastModified);
    expect(byWeakEtag.status).toBe(304);
    expect(otherEtag.status).toBe(200);
    expect(byDate.status).toBe(304);
    expect(olderDate.status).toBe(200);
    expect(etagWins.status).toBe(200);
  });

  it("environmentDocument__afterChange__newEtagAnd200ForOldValidator", async () => {
    // Given a document's ETag
    const local = await environmentFixture(fx.user);
    const before = (await local.server.get("environment-document/")).headers.get("etag")!;

    // When the environment changes and its document is rewritten
    await local.user.caller.features.updateState({ featureId: local.features.limit, environmentId: local.environmentId, value: 11 });
    await settled(local);
    const response = await local.server.get("environment-document/", { "if-none-match": before });

    // Then the old ETag no longer matches
    expect(response.status).toBe(200);
    expect(response.headers.get("etag")).not.toBe(before);
  });
});

describe("POST /api/v1/analytics/flags/", () => {
  it("analytics__counts__hourlySumsForKnownFeaturesAndChartProcedure", async () => {
    // Given a fresh environment
    const local = await environmentFixture(fx.user);

    // When SDKs report evaluations twice (one name unknown)
    const first = await local.client.post("analytics/flags/", { banner: 3, limit: 1, unknown_feature: 5 });
    const second = await local.server.post("analytics/flags", { banner: 2 });

    // Then known names are summed per hour, unknown ones dropped, and the chart procedure sees them
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const rows = await getDb().select().from(featureEvaluations).where(eq(featureEvaluations.environmentId, local.environmentId));
    expect(Object.fromEntries(rows.map((r) => [r.featureName, r.count]))).toEqual({ banner: 5, limit: 1 });
    const hourly = await local.user.caller.sdk.analytics({ featureId: local.features.banner, environmentId: local.environmentId, days: 1 });
    expect(hourly.granularity).toBe("hour");
    expect(hourly.buckets).toHaveLength(24);
    expect(hourly.total).toBe(5);
    expect(hourly.buckets.at(-1)?.count).toBe(5);
    const daily = await local.user.caller.sdk.analytics({ featureId: local.features.banner, environmentId: local.environmentId });
    expect(daily.granularity).toBe("day");
    expect(daily.buckets).toHaveLength(7);
    expect(daily.total).toBe(5);
  });

  it("analyticsProcedure__featureOfAnotherProject__notFound", async () => {
    // Given a feature of another project
    const other = await environmentFixture(fx.user);

    // When its analytics are asked for in this environment
    const attempt = fx.user.caller.sdk.analytics({ featureId: other.features.banner, environmentId: fx.environmentId });

    // Then the scope check refuses it
    await expect(attempt).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("CORS", () => {
  it("sdkEndpoints__browserPreflightAndRequest__anyOriginAllowedUpdatedAtExposed", async () => {
    // Given a browser SDK on another origin
    const origin = { origin: "https://app.example" };

    // When it preflights and then calls the endpoints
    const preflights = await Promise.all(
      ["flags/", "identities/", "environment-document/", "analytics/flags/", "flags/u1"].map((path) =>
        fetch(`${base}/api/v1/${path}`, {
          method: "OPTIONS",
          headers: { ...origin, "access-control-request-method": "POST", "access-control-request-headers": "x-environment-key,content-type" },
        }),
      ),
    );
    const get = await fx.client.get("flags/", origin);
    const refused = await sdkClient(base, "nope").get("flags/", origin);

    // Then preflights allow the SDK headers, and responses (errors too) allow any origin
    for (const response of preflights) {
      expect(response.status).toBe(204);
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(response.headers.get("access-control-allow-headers")).toBe("x-environment-key,content-type");
      expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    }
    expect(get.headers.get("access-control-allow-origin")).toBe("*");
    expect(get.headers.get("access-control-expose-headers")).toContain("X-Flagsmith-Document-Updated-At");
    expect(refused.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("metrics", () => {
  it("metrics__afterSdkTraffic__sdkAndRouteMetricsExported", async () => {
    // Given SDK traffic
    await fx.client.get("flags/");

    // When the web process is scraped
    const text = await (await fetch(inject("systemMetricsUrl"))).text();

    // Then the SDK metrics and per-route latency are there
    expect(text).toMatch(/flagsmith_http_request_duration_seconds_count\{route="\/api\/v1\/flags\/",method="GET",status="200"\} [1-9]/);
    expect(text).toMatch(/flagsmith_sdk_document_cache_lookups_total\{result="hit"\} [1-9]/);
    expect(text).toMatch(/^flagsmith_sdk_document_listener_connected [01]$/m);
    expect(text).toContain("flagsmith_sdk_auth_failures_total");
  });
});

/** The system web process's `flagsmith_sdk_identity_cache_lookups_total{result}`. */
async function identityCacheLookups(result: string): Promise<number> {
  const text = await (await fetch(inject("systemMetricsUrl"))).text();
  return Number(new RegExp(`^flagsmith_sdk_identity_cache_lookups_total\\{result="${result}"\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);
}

async function storedIdentityId(environmentId: number, identifier: string): Promise<number | null> {
  const [identity] = await getDb().select().from(identities).where(and(eq(identities.environmentId, environmentId), eq(identities.identifier, identifier)));
  return identity?.id ?? null;
}

describe("/api/v1/identities/ identity cache (changes made by other processes)", () => {
  it("identitiesPost__sameRequestAgain__answeredFromCacheWithTheSameBody", async () => {
    // Given an identity that has identified once with its traits
    const identifier = `repeat-${randomBytes(4).toString("hex")}`;
    const request = { identifier, traits: [{ trait_key: "age", trait_value: 30 }] };
    const first = await (await fx.client.post("identities/", request)).text();
    const second = await (await fx.client.post("identities/", request)).text();
    const answeredBefore = await identityCacheLookups("answered");

    // When it sends the same request again, then another trait value
    const again = await (await fx.client.post("identities/", request)).text();
    const answeredAfter = await identityCacheLookups("answered");
    const changed = (await (await fx.client.post("identities/", { identifier, traits: [{ trait_key: "age", trait_value: 12 }] })).json()) as IdentityResponse;

    // Then the same request is answered from the cache with the same bytes; the change is evaluated and stored
    expect(again).toBe(first);
    expect(second).toBe(first);
    // (at least: the counter is the shared web process's, and another file's repeated identify may count meanwhile)
    expect(answeredAfter).toBeGreaterThanOrEqual(answeredBefore + 1);
    expect(flagOf(JSON.parse(first) as IdentityResponse, "banner")?.feature_state_value).toBe("grown-up");
    expect(flagOf(changed, "banner")?.feature_state_value).toBe("hello");
    expect(await storedTraits(fx.environmentId, identifier)).toEqual({ age: 12 });
  });

  it("identitiesGet__traitChangedThroughTheAdminApi__nextAnswerUsesTheNewValue", async () => {
    // Given an adult identity the web process has cached (asked twice)
    const identifier = `admin-trait-${randomBytes(4).toString("hex")}`;
    await fx.client.post("identities/", { identifier, traits: [{ trait_key: "age", trait_value: 30 }] });
    const banner = async () => flagOf((await (await fx.client.get(`identities/?identifier=${identifier}`)).json()) as IdentityResponse, "banner")?.feature_state_value;
    expect(await banner()).toBe("grown-up");
    expect(await banner()).toBe("grown-up");

    // When the trait is changed from another process (the admin API here)
    await fx.user.caller.identities.setTrait({ identityId: (await storedIdentityId(fx.environmentId, identifier))!, key: "age", value: 12 });

    // Then the web process answers from the new value (its cache entries live 30 s: only the notification can do this)
    await eventually(async () => (await banner()) === "hello", 5_000, "new trait value used");
  });

  it("identitiesPost__identityDeletedThroughTheAdminApi__createdAgainWithoutError", async () => {
    // Given a cached identity
    const identifier = `deleted-${randomBytes(4).toString("hex")}`;
    const request = { identifier, traits: [{ trait_key: "plan", trait_value: "pro" }] };
    await fx.client.post("identities/", request);
    await fx.client.post("identities/", request);
    const before = (await storedIdentityId(fx.environmentId, identifier))!;

    // When it is deleted from another process and at once identifies again, changing a trait (the
    // web process may not have heard of the deletion yet)
    await fx.user.caller.identities.delete({ identityId: before });
    const response = await fx.client.post("identities/", { identifier, traits: [{ trait_key: "plan", trait_value: "team" }] });

    // Then it is a new identity with the new trait, never an error
    expect(response.status).toBe(200);
    const after = await storedIdentityId(fx.environmentId, identifier);
    expect(after).not.toBe(before);
    expect(await storedTraits(fx.environmentId, identifier)).toEqual({ plan: "team" });
  });
});
