import { inject } from "vitest";
process.env.DATABASE_URL = inject("systemDatabaseUrl");

import { count, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { getDb } from "../../../src/server/db/client";
import { identities, traits } from "../../../src/server/db/schema";
import { expectTrpcError, projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { sdkClient, waitForDocuments } from "./support";

resetSettingsForTests();
const base = inject("systemUrl");

type SdkFlag = { feature: { name: string }; enabled: boolean; feature_state_value: unknown; variant?: string | null };
type View = Awaited<ReturnType<TestUser["caller"]["sdk"]["evaluateContext"]>>;

/** The SDK API's identity answer, flag by flag: name → { enabled, value, variant }. */
async function sdkIdentity(serverKey: string, body: unknown): Promise<{ identifier: string; flags: Map<string, { enabled: boolean; value: unknown; variant: string | null }> }> {
  const response = await sdkClient(base, serverKey).post("identities/", body);
  expect(response.status).toBe(200);
  const json = (await response.json()) as { identifier: string; flags: SdkFlag[] };
  return { identifier: json.identifier, flags: new Map(json.flags.map((f) => [f.feature.name, { enabled: f.enabled, value: f.feature_state_value, variant: f.variant ?? null }])) };
}

function viewFlags(view: View) {
  return new Map(view.flags.map((f) => [f.featureName, { enabled: f.enabled, value: f.value, variant: f.variant }]));
}

interface Fixture {
  user: TestUser;
  environmentId: number;
  serverKey: string;
  aliceId: number;
  beta: { id: number; name: string };
}

/**
 * One environment: `banner` (overridden for segment beta: plan = beta), `colour` (a 30/20 split
 * with keys), `vip` (overridden for identity alice), `secret` (server-side only). Alice has plan = beta.
 */
async function fixture(): Promise<Fixture> {
  const user = await signUpUser();
  const { project, environments: [env] } = await projectWithEnvironments(user, ["Production"]);
  const banner = await user.caller.features.create({ projectId: project.id, name: "banner", initialValue: "off" });
  await user.caller.features.create({
    projectId: project.id,
    name: "colour",
    initialValue: "grey",
    defaultEnabled: true,
    options: [
      { value: "red", key: "red", defaultPercentageAllocation: 30 },
      { value: "blue", key: "blue", defaultPercentageAllocation: 20 },
    ],
  });
  const vip = await user.caller.features.create({ projectId: project.id, name: "vip", initialValue: "nobody" });
  await user.caller.features.create({ projectId: project.id, name: "secret", initialValue: 42, isServerKeyOnly: true });
  const beta = await user.caller.segments.create({ projectId: project.id, name: "beta", rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "plan", value: "beta" }], rules: [] }] });
  await user.caller.segmentOverrides.create({ featureId: banner.id, environmentId: env.id, segmentId: beta.id, enabled: true, value: "beta-on" });
  const alice = await user.caller.identities.create({ environmentId: env.id, identifier: "alice" });
  await user.caller.identities.setTrait({ identityId: alice.id, key: "plan", value: "beta" });
  await user.caller.identities.createOverride({ identityId: alice.id, featureId: vip.id, enabled: true, value: "for-alice" });
  const { key } = await user.caller.environments.createServerKey({ environmentId: env.id, name: "server" });
  await waitForDocuments([env.id]);
  return { user, environmentId: env.id, serverKey: key, aliceId: alice.id, beta: { id: beta.id, name: beta.name } };
}

/** Identities and traits stored in the environment (only its own: other files write identities to the shared database meanwhile). */
async function storedCounts(environmentId: number) {
  const [identityCount] = await getDb().select({ n: count() }).from(identities).where(eq(identities.environmentId, environmentId));
  const [traitCount] = await getDb()
    .select({ n: count() })
    .from(traits)
    .innerJoin(identities, eq(identities.id, traits.identityId))
    .where(eq(identities.environmentId, environmentId));
  return { identities: identityCount.n, traits: traitCount.n };
}

describe("evaluation views", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });

  it("evaluateIdentity__segmentIdentityOverrideAndSplit__sameFlagsAsSdkIdentitiesWithReasons", async () => {
    // Given alice: in segment beta, with her own override of vip
    // When her evaluation view is computed, and the SDK API is asked for her flags (server key, no new traits)
    const view = await f.user.caller.sdk.evaluateIdentity({ identityId: f.aliceId });
    const sdk = await sdkIdentity(f.serverKey, { identifier: "alice", traits: [] });

    // Then every flag has the SDK's enabled, value and variant
    expect(viewFlags(view)).toEqual(sdk.flags);
    // …and says why: segment override, identity override, environment default (with its split bucket)
    const byName = new Map(view.flags.map((flag) => [flag.featureName, flag]));
    expect(byName.get("banner")).toMatchObject({ value: "beta-on", source: { kind: "segment", segmentId: f.beta.id, segmentName: "beta" }, reason: "TARGETING_MATCH; segment=beta" });
    expect(byName.get("vip")).toMatchObject({ value: "for-alice", source: { kind: "identity_override" } });
    const colour = byName.get("colour")!;
    expect(colour.source).toEqual({ kind: "default" });
    expect(colour.variant).toBe(sdk.flags.get("colour")!.variant);
    expect(colour.splitWeight).toBe(colour.variant === "red" ? 30 : colour.variant === "blue" ? 20 : null);
    expect(byName.get("secret")).toMatchObject({ serverKeyOnly: true, value: 42 });
    // …with her segments, her stored traits and the document it was computed from
    expect(view.segments).toEqual([f.beta]);
    expect(view.traits).toEqual([{ key: "plan", value: "beta", source: "stored" }]);
    expect(view).toMatchObject({ environmentId: f.environmentId, identifier: "alice", identityId: f.aliceId, upToDate: true, hideDisabledFlags: false });
  });

  it("evaluateContext__unknownIdentifierWithTraits__sameAsTransientSdkAnswerAndNothingWritten", async () => {
    // Given what is stored before
    const before = await storedCounts(f.environmentId);

    // When a context for an identifier nobody has, with plan = beta, is tested, and the SDK is asked the same transiently
    const view = await f.user.caller.sdk.evaluateContext({ environmentId: f.environmentId, identifier: "bob-not-stored", traits: [{ key: "plan", value: "beta" }] });
    const sdk = await sdkIdentity(f.serverKey, { identifier: "bob-not-stored", traits: [{ trait_key: "plan", trait_value: "beta" }], transient: true });

    // Then both agree flag for flag, bob is in beta without being an identity, and nothing was written
    expect(viewFlags(view)).toEqual(sdk.flags);
    expect(view).toMatchObject({ identifier: "bob-not-stored", identityId: null, segments: [f.beta], traits: [{ key: "plan", value: "beta", source: "given" }] });
    expect(await storedCounts(f.environmentId)).toEqual(before);
    expect(await getDb().select().from(identities).where(eq(identities.identifier, "bob-not-stored"))).toEqual([]);
  });

  it("evaluateContext__storedIdentifierWithOtherTraits__storedTraitsOverlaidOverridesKeptNothingWritten", async () => {
    // Given alice (plan = beta, an override of vip)
    const before = await storedCounts(f.environmentId);

    // When her identifier is tested with plan = free and a new trait, and the SDK is asked the same transiently
    const traitsIn = [
      { key: "plan", value: "free" },
      { key: "age", value: 41 },
    ];
    const view = await f.user.caller.sdk.evaluateContext({ environmentId: f.environmentId, identifier: "alice", traits: traitsIn });
    const sdk = await sdkIdentity(f.serverKey, { identifier: "alice", traits: traitsIn.map((t) => ({ trait_key: t.key, trait_value: t.value })), transient: true });

    // Then both agree: out of beta (banner back to its default), her own override still wins; her stored plan is untouched
    expect(viewFlags(view)).toEqual(sdk.flags);
    expect(view.segments).toEqual([]);
    expect(view.flags.find((flag) => flag.featureName === "banner")).toMatchObject({ value: "off", source: { kind: "default" }, reason: "DEFAULT" });
    expect(view.flags.find((flag) => flag.featureName === "vip")).toMatchObject({ value: "for-alice", source: { kind: "identity_override" } });
    expect(view.traits).toEqual([
      { key: "plan", value: "free", source: "given" },
      { key: "age", value: 41, source: "given" },
    ]);
    expect(view.identityId).toBe(f.aliceId);
    expect(await storedCounts(f.environmentId)).toEqual(before);
    expect((await f.user.caller.identities.get({ identityId: f.aliceId })).traits).toMatchObject([{ key: "plan", value: "beta" }]);
  });

  it("evaluateContext__noIdentifier__sdkFullyTransientIdentifierAndFlags", async () => {
    // Given traits only
    const traitsIn = [{ key: "plan", value: "beta" }];

    // When tested without an identifier, and the SDK is asked without one
    const view = await f.user.caller.sdk.evaluateContext({ environmentId: f.environmentId, traits: traitsIn });
    const sdk = await sdkIdentity(f.serverKey, { traits: [{ trait_key: "plan", trait_value: "beta" }] });

    // Then the derived identifier and every flag are the SDK's
    expect(view.identifier).toBe(sdk.identifier);
    expect(viewFlags(view)).toEqual(sdk.flags);
    expect(view.identityId).toBeNull();
  });

  it("evaluateContext__inputOverTheSdkBounds__badRequest", async () => {
    // Given a too-long identifier, too many traits, a trait value the SDK would refuse and a blank key
    const environmentId = f.environmentId;
    const tooMany = Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: i }));

    // When each is tested
    // Then each is refused as bad input
    await expectTrpcError(f.user.caller.sdk.evaluateContext({ environmentId, identifier: "x".repeat(2001) }), "BAD_REQUEST");
    await expectTrpcError(f.user.caller.sdk.evaluateContext({ environmentId, identifier: "é".repeat(1001) }), "BAD_REQUEST");
    await expectTrpcError(f.user.caller.sdk.evaluateContext({ environmentId, traits: tooMany }), "BAD_REQUEST");
    await expectTrpcError(f.user.caller.sdk.evaluateContext({ environmentId, traits: [{ key: "plan", value: "x".repeat(2001) }] }), "BAD_REQUEST");
    await expectTrpcError(f.user.caller.sdk.evaluateContext({ environmentId, traits: [{ key: " ", value: 1 }] }), "BAD_REQUEST");
    // @ts-expect-error an object is not a trait value (the SDK API stringifies; the form never sends one)
    await expectTrpcError(f.user.caller.sdk.evaluateContext({ environmentId, traits: [{ key: "plan", value: { a: 1 } }] }), "BAD_REQUEST");
  });

  it("evaluateContext__otherOrganisationsEnvironment__notFound", async () => {
    // Given another user
    const mallory = await signUpUser();

    // When they test a context in this environment, or view alice
    // Then neither is found
    await expectTrpcError(mallory.caller.sdk.evaluateContext({ environmentId: f.environmentId, identifier: "alice" }), "NOT_FOUND");
    await expectTrpcError(mallory.caller.sdk.evaluateIdentity({ identityId: f.aliceId }), "NOT_FOUND");
  });
});
