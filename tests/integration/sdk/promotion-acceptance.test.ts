/**
 * Acceptance: after "copy to environment" (promotion.preview → promotion.copy), the official Flagsmith
 * Node SDK (flagsmith-nodejs, remote evaluation against the running system) returns the same flags in
 * both environments for every generated identity — values, toggles, segment overrides (with their
 * order) and multivariate weights — once the target's document is written by the worker in the usual
 * way (commitChange → environment_document_write job).
 *
 * A user's multivariate bucket hashes `<environment key>_<identifier>` (Flagsmith's composite key), so
 * a split such as 30/70 assigns a given user independently in each environment, in Flagsmith as here:
 * such a feature is compared by its shares, every other flag identity by identity.
 */
import { Flagsmith, type Flags } from "flagsmith-nodejs";
import pino from "pino";
import { describe, expect, inject, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { generateIdentities } from "../../support/flagsmith-documents";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";
import { eventually, waitForDocuments } from "./support";

process.env.DATABASE_URL = inject("systemDatabaseUrl");
resetSettingsForTests();

const base = inject("systemUrl");
const quiet = pino({ level: "silent" });
const IDENTITIES = 300;

type FlagView = Record<string, { enabled: boolean; value: unknown }>;

function view(flags: Flags): FlagView {
  const out: FlagView = {};
  for (const flag of flags.allFlags()) out[flag.featureName] = { enabled: flag.enabled, value: flag.value ?? null };
  return out;
}

const condition = (operator: string, property: string, value: string) => ({ type: "ALL" as const, conditions: [], rules: [{ type: "ANY" as const, conditions: [{ operator, property, value }], rules: [] }] });

describe("copy to environment — official SDK in both environments", () => {
  it("copyToEnvironment__300GeneratedIdentities__sdkReturnsTheSameFlagsInBothEnvironments", async () => {
    // Given Development configured differently from Production: values, toggles, segment overrides in
    // another order, multivariate weights
    const user = await signUpUser();
    const { project, environments: [dev, prod] } = await projectWithEnvironments(user, ["Development", "Production"]);
    const caller = user.caller;
    const adults = await caller.segments.create({ projectId: project.id, name: "adults", rules: [condition("GREATER_THAN_INCLUSIVE", "age", "18")] });
    const premium = await caller.segments.create({ projectId: project.id, name: "premium", rules: [condition("IN", "plan", "premium,gold")] });
    const testers = await caller.segments.create({ projectId: project.id, name: "testers", rules: [condition("EQUAL", "beta", "true")] });
    const banner = await caller.features.create({ projectId: project.id, name: "banner", initialValue: "old" });
    const limit = await caller.features.create({ projectId: project.id, name: "limit", initialValue: 10, defaultEnabled: true });
    const darkMode = await caller.features.create({ projectId: project.id, name: "dark_mode", initialValue: false });
    const checkout = await caller.features.create({
      projectId: project.id,
      name: "checkout",
      initialValue: "control",
      options: [
        { value: "green", key: "green", defaultPercentageAllocation: 30 },
        { value: "red", key: "red", defaultPercentageAllocation: 20 },
      ],
    });
    const pricing = await caller.features.create({ projectId: project.id, name: "pricing", initialValue: "standard", options: [{ value: "discount", key: "discount", defaultPercentageAllocation: 10 }] });
    const [green, red] = (await caller.features.get({ featureId: checkout.id })).options;
    const [discount] = (await caller.features.get({ featureId: pricing.id })).options;

    await caller.features.updateState({ featureId: banner.id, environmentId: dev.id, enabled: true, value: "new" });
    await caller.segmentOverrides.create({ featureId: banner.id, environmentId: dev.id, segmentId: adults.id, enabled: true, value: "grown-up" });
    await caller.segmentOverrides.create({ featureId: limit.id, environmentId: dev.id, segmentId: premium.id, enabled: true, value: 100 });
    await caller.segmentOverrides.create({ featureId: limit.id, environmentId: dev.id, segmentId: testers.id, enabled: true, value: 5 });
    await caller.segmentOverrides.create({ featureId: limit.id, environmentId: prod.id, segmentId: testers.id, enabled: true, value: 5 });
    await caller.segmentOverrides.create({ featureId: limit.id, environmentId: prod.id, segmentId: premium.id, enabled: false, value: 50 });
    await caller.segmentOverrides.create({ featureId: darkMode.id, environmentId: prod.id, segmentId: testers.id, enabled: true, value: true });
    await caller.features.updateState({ featureId: darkMode.id, environmentId: dev.id, enabled: true });
    await caller.features.updateState({ featureId: checkout.id, environmentId: dev.id, enabled: true, allocations: [{ optionId: green.id, percentageAllocation: 0 }, { optionId: red.id, percentageAllocation: 100 }] });
    await caller.features.updateState({ featureId: pricing.id, environmentId: dev.id, enabled: true, allocations: [{ optionId: discount.id, percentageAllocation: 30 }] });
    const identities = generateIdentities(IDENTITIES, 1818);
    const sdk = (key: string) => new Flagsmith({ environmentKey: key, apiUrl: `${base}/api/v1/`, logger: quiet, requestTimeoutSeconds: 30 });
    const [devSdk, prodSdk] = [sdk(dev.apiKey), sdk(prod.apiKey)];
    await waitForDocuments([dev.id, prod.id], 60_000);
    const before = await Promise.all(identities.slice(0, 50).map(async (i) => [view(await devSdk.getIdentityFlags(i.identifier, i.traits)), view(await prodSdk.getIdentityFlags(i.identifier, i.traits))]));
    expect(before.some(([d, p]) => JSON.stringify(d) !== JSON.stringify(p))).toBe(true);

    // When every feature is previewed and copied from Development to Production
    const request = { projectId: project.id, sourceEnvironmentId: dev.id, targetEnvironmentId: prod.id, featureIds: [banner.id, limit.id, darkMode.id, checkout.id, pricing.id] };
    const preview = await caller.promotion.preview(request);
    expect(preview.changed).toBe(5);
    await caller.promotion.copy({ ...request, sourceRevision: preview.source.revision, targetRevision: preview.target.revision });

    // Then, once Production's document is written and served, the SDK's environment flags are the same…
    await waitForDocuments([prod.id], 60_000);
    await eventually(async () => JSON.stringify(view(await prodSdk.getEnvironmentFlags())) === JSON.stringify(view(await devSdk.getEnvironmentFlags())), 20_000, "Production serves the copy");
    // …and so is every identity's flags (the 30 % split compared by its share)
    const shares = { dev: 0, prod: 0 };
    const seen = { banner: new Set<unknown>(), limit: new Set<unknown>(), darkMode: new Set<unknown>(), checkout: new Set<unknown>() };
    for (let i = 0; i < identities.length; i += 20) {
      const batch = identities.slice(i, i + 20);
      const results = await Promise.all(
        batch.map(async (identity) => ({
          identity,
          dev: view(await devSdk.getIdentityFlags(identity.identifier, identity.traits)),
          prod: view(await prodSdk.getIdentityFlags(identity.identifier, identity.traits)),
        })),
      );
      for (const { identity, dev: devFlags, prod: prodFlags } of results) {
        seen.banner.add(devFlags.banner.value);
        seen.limit.add(devFlags.limit.value);
        seen.darkMode.add(devFlags.dark_mode.value);
        seen.checkout.add(devFlags.checkout.value);
        if (devFlags.pricing.value === "discount") shares.dev++;
        if (prodFlags.pricing.value === "discount") shares.prod++;
        const { pricing: _devPricing, ...devRest } = devFlags;
        const { pricing: _prodPricing, ...prodRest } = prodFlags;
        expect(prodRest, `${identity.identifier} ${JSON.stringify(identity.traits)}`).toEqual(devRest);
      }
    }
    // (the sample reaches every segment override: adults, premium before testers, testers)
    expect([...seen.banner].sort()).toEqual(["grown-up", "new"]);
    expect([...seen.limit].sort()).toEqual([10, 100, 5]);
    expect(seen.darkMode).toEqual(new Set([false]));
    expect(seen.checkout).toEqual(new Set(["red"]));
    // (binomial, n = 300, p = 0.3: a standard deviation of 2.6 points; 12 points is over 4)
    for (const share of [shares.dev, shares.prod]) expect(Math.abs(share / IDENTITIES - 0.3)).toBeLessThan(0.12);
  }, 240_000);
});
