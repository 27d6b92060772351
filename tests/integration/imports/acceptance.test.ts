/**
 * Acceptance: after importing a Flagsmith environment document, Flagpost's remote evaluation over HTTP
 * (the official SDK pointed at the running system with the document's own client key) gives every identity
 * the same flags as the official SDK evaluating the ORIGINAL document file offline — percentage splits,
 * multivariate buckets, segment priorities and identity overrides included.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { Flagsmith, LocalFileHandler, type Flags } from "flagsmith-nodejs";
import pino from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";

// The system under test (next start + worker) runs on its own database: import there.
process.env.DATABASE_URL = inject("systemDatabaseUrl");
const { resetSettingsForTests } = await import("../../../src/server/config");
resetSettingsForTests();

const { getDb } = await import("../../../src/server/db/client");
const { importFlagsmithEnvironment } = await import("../../../src/server/imports/flagsmith");
const { SYSTEM_ACTOR } = await import("../../../src/server/auth/principal");
const { generateDocument, generateIdentities, legacyFile, randomApiKey } = await import("../../support/flagsmith-documents");
const { signUpUser } = await import("../support/fixtures");

const systemUrl = inject("systemUrl");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-acceptance-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const quiet = pino({ level: "silent" });

type FlagView = Record<string, { enabled: boolean; value: unknown }>;

function view(flags: Flags): FlagView {
  const out: FlagView = {};
  for (const flag of flags.allFlags()) out[flag.featureName] = { enabled: flag.enabled, value: flag.value ?? null };
  return out;
}

/** Waits until the worker has written the environment's document at its current revision. */
async function waitForDocument(environmentId: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await getDb().execute<{ ready: boolean }>(sql`
      select coalesce(d.revision >= e.revision, false) as ready
        from environments e left join environment_documents d on d.environment_id = e.id
       where e.id = ${environmentId}`);
    if (result.rows[0]?.ready) return;
    if (Date.now() > deadline) throw new Error(`the worker did not write the document of environment ${environmentId} in time`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Imports the document file into the system, then compares the two SDKs for every identity. */
async function compareSdks(file: string, apiKey: string, identities: { identifier: string; traits: Record<string, string | number | boolean | null> }[]) {
  const user = await signUpUser();
  const imported = await importFlagsmithEnvironment(SYSTEM_ACTOR, JSON.parse(fs.readFileSync(file, "utf8")), { organisationId: user.organisationId });
  expect(imported.environmentKey).toBe(apiKey);
  await waitForDocument(imported.environmentId);

  const offline = new Flagsmith({ offlineMode: true, offlineHandler: new LocalFileHandler(file), logger: quiet });
  const remote = new Flagsmith({ environmentKey: apiKey, apiUrl: `${systemUrl}/api/v1/`, logger: quiet, requestTimeoutSeconds: 30 });

  expect(view(await remote.getEnvironmentFlags())).toEqual(view(await offline.getEnvironmentFlags()));
  const seen: FlagView[] = [];
  for (let i = 0; i < identities.length; i += 10) {
    const batch = identities.slice(i, i + 10);
    const results = await Promise.all(
      batch.map(async (identity) => {
        const expected = view(await offline.getIdentityFlags(identity.identifier, identity.traits));
        const actual = view(await remote.getIdentityFlags(identity.identifier, identity.traits));
        return { identity, expected, actual };
      }),
    );
    for (const { identity, expected, actual } of results) {
      expect(actual, `identity ${identity.identifier} ${JSON.stringify(identity.traits)}`).toEqual(expected);
      seen.push(expected);
    }
  }
  return seen;
}

describe("Flagsmith import — official SDK offline vs Flagpost remote", () => {
  it("importedGeneratedDocument__400Identities__remoteFlagsEqualOfflineSdk", async () => {
    // Given a generated document (every operator, MV buckets, split segments, priorities, identity overrides)
    // written to a file, with a key unique to this test
    const apiKey = randomApiKey();
    const document = generateDocument({ apiKey });
    const file = path.join(tmp, "generated.json");
    fs.writeFileSync(file, JSON.stringify(document));
    const identities = generateIdentities(400, 2026, { overrides: 25 });

    // When it is imported into the running system and both SDKs evaluate 400 identities with traits
    const seen = await compareSdks(file, apiKey, identities);

    // Then they agreed on every flag (asserted per identity), and the sample spans buckets and overrides
    expect(new Set(seen.map((flags) => JSON.stringify(flags.checkout_flow.value))).size).toBeGreaterThanOrEqual(4);
    expect(seen.some((flags) => flags.dark_mode.value === false)).toBe(true); // the 10 % split segment
    expect(seen.some((flags) => flags.pricing.value === "half")).toBe(true); // the 50 % split with a trait
    expect(seen.some((flags) => typeof flags.banner_text.value === "string" && flags.banner_text.value.startsWith("override-"))).toBe(true);
  });

  it("importedLegacyDocument__300Identities__remoteFlagsEqualOfflineSdk", async () => {
    // Given the legacy engine-test-data document (old format) under a key unique to this test
    const apiKey = randomApiKey();
    const legacy = legacyFile();
    const file = path.join(tmp, "legacy.json");
    fs.writeFileSync(file, JSON.stringify({ ...legacy.environment, api_key: apiKey }));
    const identities = [
      ...legacy.identities_and_responses.map(({ identity }) => ({
        identifier: `${identity.identifier}-${apiKey}`,
        traits: Object.fromEntries(identity.identity_traits.map((t) => [t.trait_key, t.trait_value])),
      })),
      ...generateIdentities(200, 77).map((identity, i) => ({
        identifier: identity.identifier,
        traits: { age: identity.traits.age ?? 30, favourite_colour: ["green", "blue", "red"][i % 3], two: i % 2 === 0 ? "2" : 2, three: 3 },
      })),
    ];

    // When it is imported and both SDKs evaluate every identity
    const seen = await compareSdks(file, apiKey, identities);

    // Then they agreed, and the sample reached the multivariate buckets and the 0.1 % / priority segments
    expect(new Set(seen.map((flags) => JSON.stringify(flags.mv_feature.value))).size).toBeGreaterThanOrEqual(3);
    expect(new Set(seen.map((flags) => flags.string_feature.value)).size).toBeGreaterThanOrEqual(3);
  });
});
