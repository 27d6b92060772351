/**
 * Acceptance: the official Flagsmith Node SDK (flagsmith-nodejs) against Flagpost's SDK API.
 *
 * One project exercising every segment operator (incl. semver, nested ALL/ANY/NONE rules), segment
 * overrides competing by priority (one order rewritten), multivariate features (with and without
 * variant keys, and a segment override carrying its own allocations) and identity overrides — built
 * through the tRPC callers. Then, for 300 generated identities with random traits, remote evaluation
 * (`POST /identities/`, persisted and transient), local evaluation (the SDK polls
 * `/environment-document/` with a server key and runs its own engine) and Flagpost's engine on the
 * served document must agree on every flag's `enabled` and `value`.
 *
 * Traits are generated where Flagsmith's Python semantics (ours) and the Node engine agree (see
 * ../shared/reference/flagsmith-compat.md §4.10): start-anchored regexes, non-negative MODULO
 * operands, no numeric-looking strings, no integral floats.
 */
import { sql } from "drizzle-orm";
import { Flagsmith, type Flags } from "flagsmith-nodejs";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { getDb } from "../../../src/server/db/client";
import type { EnvironmentDocument } from "../../../src/server/engine/document";
import { environmentDocumentToContext, getEvaluationResult, type TraitValue } from "../../../src/server/engine";
import { projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { sdkClient, waitForDocuments } from "./support";

process.env.DATABASE_URL = inject("systemDatabaseUrl");
resetSettingsForTests();

const base = inject("systemUrl");
const IDENTITIES = 300;
const OVERRIDDEN = ["override-0", "override-1", "override-2", "override-3", "override-4"];

type Condition = { operator: string; property?: string | null; value?: string | null };
type Rule = { type: "ALL" | "ANY" | "NONE"; conditions?: Condition[]; rules?: Rule[] };

/** ALL(ANY(conditions…)), the UI's usual shape. */
const any = (...conditions: Condition[]): Rule[] => [{ type: "ALL", conditions: [], rules: [{ type: "ANY", conditions, rules: [] }] }];

const SEGMENTS: Record<string, Rule[]> = {
  pro_plan: any({ operator: "EQUAL", property: "plan", value: "pro" }),
  not_france: any({ operator: "NOT_EQUAL", property: "country", value: "fr" }),
  seniors: any({ operator: "GREATER_THAN", property: "age", value: "60" }),
  adults: any({ operator: "GREATER_THAN_INCLUSIVE", property: "age", value: "18" }),
  low_score: any({ operator: "LESS_THAN", property: "score", value: "30.5" }),
  kids: any({ operator: "LESS_THAN_INCLUSIVE", property: "age", value: "12" }),
  acme: any({ operator: "CONTAINS", property: "email", value: "acme" }),
  not_example: any({ operator: "NOT_CONTAINS", property: "email", value: "example" }),
  corp_a_to_m: any({ operator: "REGEX", property: "email", value: "^[a-m][a-z]*@corp\\.net$" }),
  rollout_30: any({ operator: "PERCENTAGE_SPLIT", property: null, value: "30" }),
  every_third: any({ operator: "MODULO", property: "visits", value: "3|0" }),
  beta_set: any({ operator: "IS_SET", property: "beta" }),
  no_plan: any({ operator: "IS_NOT_SET", property: "plan" }),
  de_or_gb: any({ operator: "IN", property: "country", value: "de,gb" }),
  round_ages: any({ operator: "IN", property: "age", value: "20,30,40,50" }),
  modern_app: any({ operator: "GREATER_THAN_INCLUSIVE", property: "version", value: "2.0.0:semver" }),
  beta_true: any({ operator: "EQUAL", property: "beta", value: "true" }),
  // Nested: (adult AND (pro OR team)) AND NOT french.
  nested: [
    {
      type: "ALL",
      conditions: [{ operator: "GREATER_THAN_INCLUSIVE", property: "age", value: "18" }],
      rules: [
        { type: "ANY", conditions: [{ operator: "EQUAL", property: "plan", value: "pro" }, { operator: "EQUAL", property: "plan", value: "team" }], rules: [] },
        { type: "NONE", conditions: [{ operator: "EQUAL", property: "country", value: "fr" }], rules: [] },
      ],
    },
  ],
};

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type TraitInput = Exclude<TraitValue, null> | { value: Exclude<TraitValue, null>; transient: boolean };

function generateTraits(next: () => number): Record<string, TraitInput> {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const traits: Record<string, TraitInput> = {};
  const maybe = (probability: number, key: string, value: () => Exclude<TraitValue, null>) => {
    if (next() < probability) traits[key] = value();
  };
  maybe(0.9, "age", () => Math.floor(next() * 90));
  maybe(0.75, "plan", () => pick(["free", "pro", "team", "enterprise"]));
  maybe(0.9, "country", () => pick(["fr", "de", "us", "gb", "jp"]));
  maybe(0.85, "email", () => `${pick(["alice", "bob", "mia", "zoe", "ned", "kim"])}@${pick(["example.com", "acme.io", "corp.net", "mail.acme.org"])}`);
  maybe(0.8, "score", () => Math.floor(next() * 1000) / 10 + 0.05);
  maybe(0.8, "visits", () => Math.floor(next() * 100));
  maybe(0.5, "beta", () => next() < 0.5);
  maybe(0.8, "version", () => `${Math.floor(next() * 4)}.${Math.floor(next() * 10)}.${Math.floor(next() * 10)}`);
  // Some traits sent as transient trait configs (evaluated, not stored).
  if (traits.plan !== undefined && next() < 0.2) traits.plan = { value: traits.plan as string, transient: true };
  return traits;
}

function plainTraits(traits: Record<string, TraitInput>): Record<string, TraitValue> {
  return Object.fromEntries(Object.entries(traits).map(([key, value]) => [key, typeof value === "object" ? value.value : value]));
}

type FlagMap = Record<string, { enabled: boolean; value: unknown }>;

function sdkFlags(flags: Flags): FlagMap {
  const out: FlagMap = {};
  for (const flag of flags.allFlags()) out[flag.featureName] = { enabled: flag.enabled, value: flag.value ?? null };
  return out;
}

function engineFlags(doc: EnvironmentDocument, identifier: string, traits: Record<string, TraitValue>): FlagMap {
  const result = getEvaluationResult(environmentDocumentToContext(doc, { identifier, traits }));
  const out: FlagMap = {};
  for (const flag of Object.values(result.flags)) out[flag.name] = { enabled: flag.enabled, value: flag.value };
  return out;
}

let user: TestUser;
let environmentId: number;
let serverKey: string;
const featureIds: Record<string, number> = {};
let remote: Flagsmith;
let local: Flagsmith;
const logger = pino({ level: "silent" });

async function storedDocument(): Promise<EnvironmentDocument> {
  const [row] = (await getDb().execute<{ document: string }>(sql`select document from environment_documents where environment_id = ${environmentId}`)).rows;
  return JSON.parse(row.document) as EnvironmentDocument;
}

beforeAll(async () => {
  user = await signUpUser();
  const { project, environments } = await projectWithEnvironments(user, ["Production"]);
  environmentId = environments[0].id;
  const projectId = project.id;

  const feature = async (name: string, input: Record<string, unknown>) => {
    featureIds[name] = (await user.caller.features.create({ projectId, name, ...input })).id;
  };
  await feature("std_bool", { initialValue: true, defaultEnabled: true });
  await feature("std_str", { initialValue: "default", defaultEnabled: true });
  await feature("std_int", { initialValue: 0, defaultEnabled: false });
  await feature("std_off", { initialValue: null, defaultEnabled: false });
  await feature("server_only", { initialValue: "hidden from clients", defaultEnabled: true, isServerKeyOnly: true });
  await feature("mv_colour", {
    initialValue: "grey",
    defaultEnabled: true,
    options: [
      { value: "red", key: "red", defaultPercentageAllocation: 30 },
      { value: "green", key: "green", defaultPercentageAllocation: 30 },
      { value: "blue", key: "blue", defaultPercentageAllocation: 30 },
    ],
  });
  await feature("mv_size", {
    initialValue: 10,
    defaultEnabled: true,
    options: [
      { value: 20, defaultPercentageAllocation: 50 },
      { value: 30, defaultPercentageAllocation: 25 },
    ],
  });

  const segmentIds: Record<string, number> = {};
  for (const [name, rules] of Object.entries(SEGMENTS)) segmentIds[name] = (await user.caller.segments.create({ projectId, name, rules })).id;

  const override = (featureName: string, segment: string, enabled: boolean, value: unknown, allocations?: { optionId: number; percentageAllocation: number }[]) =>
    user.caller.segmentOverrides.create({ featureId: featureIds[featureName], environmentId, segmentId: segmentIds[segment], enabled, value: value as string, allocations });
  // std_str: many competing segments; created order = priority, then one order rewritten.
  const strSegments = ["pro_plan", "not_france", "seniors", "adults", "low_score", "kids", "acme", "not_example", "corp_a_to_m", "rollout_30", "every_third", "beta_set", "no_plan", "de_or_gb", "round_ages", "modern_app", "beta_true", "nested"];
  for (const segment of strSegments) await override("std_str", segment, true, `via_${segment}`);
  await user.caller.segmentOverrides.reorder({ featureId: featureIds.std_str, environmentId, segmentIds: ["nested", "rollout_30", ...strSegments.filter((s) => s !== "nested" && s !== "rollout_30")].map((s) => segmentIds[s]) });
  // Overrides that flip enabled states and values of other features.
  await override("std_off", "beta_set", true, "on for beta");
  await override("std_off", "kids", false, "kids off");
  await override("std_int", "every_third", true, 3);
  await override("std_int", "round_ages", true, 10);
  await override("std_bool", "seniors", false, false);
  await override("server_only", "de_or_gb", false, "off in de/gb");
  const colour = await user.caller.features.get({ featureId: featureIds.mv_colour });
  await override("mv_colour", "acme", true, "acme-grey", [
    { optionId: colour.options[0].id, percentageAllocation: 0 },
    { optionId: colour.options[1].id, percentageAllocation: 100 },
    { optionId: colour.options[2].id, percentageAllocation: 0 },
  ]);
  await override("mv_size", "modern_app", false, 99);

  // Identity overrides (these identifiers are among the generated identities).
  for (const [index, identifier] of OVERRIDDEN.entries()) {
    const identity = await user.caller.identities.create({ environmentId, identifier });
    await user.caller.identities.createOverride({ identityId: identity.id, featureId: featureIds.std_off, enabled: true, value: `identity ${index}` });
    if (index % 2 === 0) await user.caller.identities.createOverride({ identityId: identity.id, featureId: featureIds.mv_colour, enabled: index === 0, value: "purple" });
  }

  serverKey = (await user.caller.environments.createServerKey({ environmentId, name: "acceptance" })).key;
  await waitForDocuments([environmentId]);
  // The web process serves the revision just written (its notification has arrived).
  const stored = await storedDocument();
  const serverClient = sdkClient(base, serverKey);
  for (let i = 0; i < 200; i++) {
    const served = (await (await serverClient.get("environment-document/")).json()) as EnvironmentDocument;
    if (served.updated_at === stored.updated_at) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }

  const apiUrl = `${base}/api/v1/`;
  remote = new Flagsmith({ environmentKey: serverKey, apiUrl, logger, requestTimeoutSeconds: 30 });
  local = new Flagsmith({ environmentKey: serverKey, apiUrl, logger, enableLocalEvaluation: true, environmentRefreshIntervalSeconds: 60, requestTimeoutSeconds: 30 });
}, 180_000);

afterAll(async () => {
  await local?.close();
  await remote?.close();
});

describe("flagsmith-nodejs against Flagpost", () => {
  it("environmentFlags__remoteAndLocal__sameFlags", async () => {
    // Given the project above
    // When environment flags are read remotely and locally
    const viaApi = sdkFlags(await remote.getEnvironmentFlags());
    const viaDocument = sdkFlags(await local.getEnvironmentFlags());

    // Then both give every feature's environment default
    expect(Object.keys(viaApi).sort()).toEqual(["mv_colour", "mv_size", "server_only", "std_bool", "std_int", "std_off", "std_str"]);
    expect(viaApi).toEqual(viaDocument);
    expect(viaApi.mv_colour).toEqual({ enabled: true, value: "grey" });
    expect(viaApi.std_int).toEqual({ enabled: false, value: 0 });
  });

  it("identityFlags__300GeneratedIdentities__remoteLocalTransientAndEngineAgree", async () => {
    // Given 300 identities with generated traits (five of them with identity overrides)
    const next = random(20260101);
    const doc = await storedDocument();
    const seen = { values: new Map<string, Set<string>>(), identitiesOverridden: 0 };
    const mismatches: string[] = [];

    for (let i = 0; i < IDENTITIES; i++) {
      const identifier = i < OVERRIDDEN.length ? OVERRIDDEN[i] : `user-${i}-${Math.floor(next() * 1e9)}`;
      const traits = generateTraits(next);
      const transient = i % 5 === 4;

      // When it is evaluated remotely (persisted or transient), locally, and by Flagpost's engine
      const viaApi = sdkFlags(await remote.getIdentityFlags(identifier, traits, transient));
      const viaDocument = sdkFlags(await local.getIdentityFlags(identifier, traits));
      const viaEngine = engineFlags(doc, identifier, plainTraits(traits));

      // Then all three agree on every flag
      const expected = JSON.stringify(viaDocument, Object.keys(viaDocument).sort());
      if (JSON.stringify(viaApi, Object.keys(viaDocument).sort()) !== expected || JSON.stringify(viaEngine, Object.keys(viaDocument).sort()) !== expected) {
        mismatches.push(`${identifier} ${JSON.stringify(traits)}\n  api:    ${JSON.stringify(viaApi)}\n  local:  ${JSON.stringify(viaDocument)}\n  engine: ${JSON.stringify(viaEngine)}`);
      }
      for (const [name, flag] of Object.entries(viaApi)) {
        const values = seen.values.get(name) ?? new Set<string>();
        values.add(JSON.stringify([flag.enabled, flag.value]));
        seen.values.set(name, values);
      }
      if (OVERRIDDEN.includes(identifier)) seen.identitiesOverridden += viaApi.std_off.value === `identity ${i}` ? 1 : 0;
    }

    expect(mismatches.slice(0, 5).join("\n")).toBe("");
    // And the run exercised the overrides: identity overrides won, segment overrides and variants showed
    expect(seen.identitiesOverridden).toBe(OVERRIDDEN.length);
    const strValues = [...seen.values.get("std_str")!].map((v) => JSON.parse(v)[1] as string);
    expect(strValues.length).toBeGreaterThanOrEqual(8);
    expect(strValues).toContain("via_nested");
    expect(strValues).toContain("via_rollout_30");
    expect([...seen.values.get("mv_colour")!].map((v) => JSON.parse(v)[1])).toEqual(expect.arrayContaining(["red", "green", "blue", "grey", "purple"]));
    expect([...seen.values.get("mv_size")!].map((v) => JSON.parse(v)[1])).toEqual(expect.arrayContaining([10, 20, 30, 99]));
    expect([...seen.values.get("std_off")!].map((v) => JSON.parse(v)[1])).toEqual(expect.arrayContaining(["on for beta", "kids off", null]));
  });

  it("identityFlags__priorityOrder__strongestMatchingSegmentWins", async () => {
    // Given an identity matching `nested` (priority 0), `rollout_30` or not, and many weaker segments
    const traits = { age: 40, plan: "pro", country: "de", email: "kim@acme.io", beta: true, visits: 9, version: "3.1.0", score: 10.5 };

    // When evaluated remotely
    const flags = sdkFlags(await remote.getIdentityFlags("priority-check", traits));

    // Then the strongest segment override wins
    expect(flags.std_str.value).toBe("via_nested");
    expect(flags.mv_colour.value).toBe("green");
  });

  it("localEvaluation__documentChanged__pickedUpOnRefresh", async () => {
    // Given the local client's current view
    const before = sdkFlags(await local.getEnvironmentFlags());
    expect(before.std_bool.value).toBe(true);

    // When the flag changes, its document is written and the SDK refreshes its document
    await user.caller.features.updateState({ featureId: featureIds.std_bool, environmentId, value: "changed" });
    await waitForDocuments([environmentId]);
    let after = before;
    for (let i = 0; i < 100 && after.std_bool.value !== "changed"; i++) {
      await local.updateEnvironment();
      after = sdkFlags(await local.getEnvironmentFlags());
      if (after.std_bool.value !== "changed") await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // Then local and remote both serve the new value
    expect(after.std_bool.value).toBe("changed");
    expect(sdkFlags(await remote.getEnvironmentFlags()).std_bool.value).toBe("changed");
  });
});
