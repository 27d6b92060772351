/**
 * Mapper + engine oracles:
 * 1. the legacy-v1 fixture's recorded Flagsmith API responses;
 * 2. flagsmith-nodejs 8.1.2's own mapper and engine (imported from its build output) over generated documents
 *    covering every operator except REGEX (NODE's `String.match` is unanchored, Flagsmith's `re.match` is
 *    anchored at the start), multivariate features, segment overrides and identity overrides.
 *
 * The generated documents stay inside the domain where NODE and the Python engine agree; NODE's known
 * deviations (no trait coercion, PERCENTAGE_SPLIT on plain trait names never matching, IN rejecting falsy
 * values and never matching numeric JSON-array elements, `parseFloat` leniency, JS `%` sign, non-semver
 * NOT_EQUAL on `:semver` values, comma-joined identity-override identifiers) are avoided by construction and
 * covered against the Python semantics in operators.test.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { DocFeatureState, DocIdentityOverride, DocRule, DocSegment, EnvironmentDocument } from "@/server/engine/document";
import {
  buildEnvironmentContext,
  environmentDocumentToContext,
  getEvaluationResult,
  indexIdentityOverrides,
  mapTraits,
  toSdkFlags,
  withIdentity,
  type TraitValue,
} from "@/server/engine";
import { buildEnvironmentModel } from "../../../node_modules/flagsmith-nodejs/build/esm/flagsmith-engine/environments/util.js";
import { getEvaluationContext } from "../../../node_modules/flagsmith-nodejs/build/esm/flagsmith-engine/evaluation/evaluationContext/mappers.js";
import {
  IdentityModel,
  TraitModel,
  getEvaluationResult as nodeGetEvaluationResult,
} from "../../../node_modules/flagsmith-nodejs/build/esm/flagsmith-engine/index.js";
import type { EvaluationContextWithMetadata } from "../../../node_modules/flagsmith-nodejs/build/esm/flagsmith-engine/evaluation/models.js";

const LEGACY_FIXTURE = path.resolve(
  __dirname,
  "../../fixtures/flagsmith-engine-test-data/legacy-v1/environment_n9fbf9h3v4fFgH3U3ngWhb.json",
);

interface LegacyFixture {
  /** An older document shape (no `featurestate_uuid`, `feature_segment` or `identity_overrides` everywhere). */
  environment: EnvironmentDocument;
  identities_and_responses: {
    identity: { identifier: string; django_id: number; identity_traits: { trait_key: string; trait_value: TraitValue }[]; identity_features: DocFeatureState[] };
    response: { flags: { feature: { id: number; name: string }; feature_state_value: unknown; enabled: boolean }[] };
  }[];
}

// ---------------------------------------------------------------------------------------------------------------
// NODE oracle helpers

function nodeContext(doc: EnvironmentDocument, identifier: string, traits: Record<string, TraitValue>): EvaluationContextWithMetadata {
  const environment = buildEnvironmentModel(JSON.parse(JSON.stringify(doc)));
  const traitModels = Object.entries(traits).map(([key, value]) => new TraitModel(key, value));
  const identity = new IdentityModel("0", traitModels, [], doc.api_key, identifier);
  return getEvaluationContext(environment, identity) as EvaluationContextWithMetadata;
}

/**
 * Makes both mappers' outputs comparable: drops `undefined` members (NODE writes `priority: undefined`) and
 * null priorities (NODE copies `feature_segment.priority: null`; Flagpost omits it — both mean +∞), variant
 * `key`s (NODE does not map option keys) and turns null condition properties/values into "" (Flagpost maps
 * them to "", as the engine-test-data contexts do).
 */
function normaliseContext(value: unknown, parentKey = ""): unknown {
  if (Array.isArray(value)) return value.map((item) => normaliseContext(item, parentKey));
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  const isCondition = parentKey === "conditions";
  for (const [key, member] of Object.entries(value)) {
    if (member === undefined || (key === "priority" && member === null)) continue;
    if (parentKey === "variants" && key === "key") continue;
    if (isCondition && (key === "property" || key === "value") && member === null) out[key] = "";
    else out[key] = normaliseContext(member, key);
  }
  return out;
}

/** The parts of a result both engines produce (NODE has no `variant`). */
function comparableResult(result: { flags: Record<string, object>; segments: unknown[] }) {
  const flags: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(result.flags)) {
    flags[name] = Object.fromEntries(Object.entries(flag).filter(([key]) => key !== "variant"));
  }
  return { flags, segments: result.segments };
}

// ---------------------------------------------------------------------------------------------------------------
// Document generator (deterministic)

function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Generator {
  random: () => number;
  int: (min: number, max: number) => number;
  pick: <T>(items: readonly T[]) => T;
  chance: (p: number) => boolean;
}

function generator(seed: number): Generator {
  const random = prng(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  return { random, int, pick: (items) => items[int(0, items.length - 1)], chance: (p) => random() < p };
}

const PLANS = ["free", "pro", "enterprise"];
const NAMES = ["alice", "bob", "carol", "dave", "erin", "frank"];
const VERSIONS = ["1.0.0", "1.2.3", "2.0.0-beta.1", "2.0.0", "10.4.1-rc.2"];

function generateTraits(g: Generator): Record<string, TraitValue> {
  const traits: Record<string, TraitValue> = {};
  if (g.chance(0.85)) traits.age = g.int(1, 90);
  if (g.chance(0.8)) traits.score = Math.round(g.random() * 1000) / 10;
  if (g.chance(0.8)) traits.name = g.pick(NAMES);
  if (g.chance(0.8)) traits.plan = g.pick(PLANS);
  if (g.chance(0.7)) traits.beta = g.chance(0.5);
  if (g.chance(0.7)) traits.version = g.pick(VERSIONS);
  if (g.chance(0.1)) traits.optional = null;
  return traits;
}

type Condition = DocRule["conditions"][number];

/** A condition whose meaning NODE and the Python engine agree on. */
function generateCondition(g: Generator): Condition {
  const c = (operator: string, property_: string | null, value: string | null): Condition => ({ operator, property_, value });
  const ordering = ["EQUAL", "NOT_EQUAL", "GREATER_THAN", "GREATER_THAN_INCLUSIVE", "LESS_THAN", "LESS_THAN_INCLUSIVE"];
  switch (g.int(0, 13)) {
    case 0:
      return c(g.pick(ordering), "age", String(g.int(1, 90)));
    case 1:
      return c(g.pick(ordering), "score", (Math.round(g.random() * 1000) / 10).toFixed(1));
    case 2:
      return c(g.pick(ordering), g.pick(["name", "plan"]), g.pick([...NAMES, ...PLANS]));
    case 3:
      return c(g.pick(["EQUAL", "NOT_EQUAL"]), "beta", g.pick(["true", "false", "True", "False"]));
    case 4:
      return c(g.pick(ordering), "version", `${g.pick(VERSIONS)}:semver`);
    case 5:
      return c(g.pick(["CONTAINS", "NOT_CONTAINS"]), "name", g.pick(["a", "ol", "ve", "x"]));
    case 6:
      return c("IN", "plan", g.pick(["free,pro", '["pro","enterprise"]', "enterprise", "[]"]));
    case 7:
      // JSON arrays of strings only: NODE compares numeric JSON elements with the trait's string form.
      return c("IN", "age", g.pick(["10,20,30", '["5","15","25","35"]', "42"]));
    case 8:
      return c("MODULO", "age", g.pick(["2|0", "3|1", "5|0", "2.5|0.5", "4|3"]));
    case 9:
      return c(g.pick(["IS_SET", "IS_NOT_SET"]), g.pick(["age", "beta", "version", "optional", "nothing"]), g.pick([null, ""]));
    case 10:
      return c("PERCENTAGE_SPLIT", "", String(g.int(0, 100)));
    case 11:
      return c("PERCENTAGE_SPLIT", g.pick(["$.identity.identifier", "$.identity.key"]), String(g.int(10, 90)));
    case 12:
      return c("EQUAL", "$.environment.name", g.pick(["Development", "Production"]));
    default:
      return c(g.pick(["EQUAL", "NOT_EQUAL", "IN"]), "$.identity.identifier", `user-${g.int(0, 20)}`);
  }
}

function generateRule(g: Generator, depth: number): DocRule {
  const conditions = Array.from({ length: g.int(depth === 0 ? 0 : 1, 3) }, () => generateCondition(g));
  const rules = depth < 2 ? Array.from({ length: g.int(0, depth === 0 ? 2 : 1) }, () => generateRule(g, depth + 1)) : [];
  return { type: depth === 0 ? g.pick(["ALL", "ALL", "ANY"] as const) : g.pick(["ALL", "ANY", "NONE"] as const), conditions, rules };
}

let nextId = 1000;

function generateFeatureState(
  g: Generator,
  feature: DocFeatureState["feature"],
  priority: number | null | undefined,
): DocFeatureState {
  const multivariate = feature.type === "MULTIVARIATE";
  const variantCount = multivariate ? g.int(1, 3) : 0;
  let remaining = 100;
  const mv = Array.from({ length: variantCount }, (_, index) => {
    const weight = index === variantCount - 1 && g.chance(0.3) ? remaining : Math.min(remaining, g.pick([0, 10, 25, 33.3, 50]));
    remaining -= weight;
    const id = g.int(1, 100000);
    return {
      id,
      mv_fs_value_uuid: `mv-${id}`,
      percentage_allocation: weight,
      multivariate_feature_option: { id: id + 1, value: g.pick(["red", "green", 7, true]), ...(g.chance(0.5) ? { key: `variant_${id}` } : {}) },
    };
  });
  const id = nextId++;
  return {
    feature,
    enabled: g.chance(0.5),
    django_id: id,
    featurestate_uuid: `fs-${id}`,
    feature_state_value: g.pick(["a", "b", 12, false, null]),
    feature_segment: priority === undefined ? null : { priority },
    multivariate_feature_state_values: mv,
  };
}

function generateDocument(seed: number): EnvironmentDocument {
  const g = generator(seed);
  const features = Array.from({ length: 10 }, (_, i) => ({
    id: 100 + i,
    name: `feature_${i}`,
    type: g.chance(0.4) ? ("MULTIVARIATE" as const) : ("STANDARD" as const),
  }));
  const segments: DocSegment[] = Array.from({ length: 10 }, (_, i) => ({
    id: g.pick([7, 30, 400, 5000]) + i * 3,
    name: `segment_${i}`,
    rules: g.chance(0.05) ? [] : Array.from({ length: g.int(1, 2) }, () => generateRule(g, 0)),
    feature_states: Array.from({ length: g.int(0, 3) }, () =>
      generateFeatureState(g, g.pick(features), g.pick([0, 1, 2, 5, null])),
    ),
  }));
  // Identity overrides: standard features only (Flagsmith does not give identity overrides variants); some
  // identities share an identical override set so that NODE's grouping is exercised.
  const sharedOverride = generateFeatureState(g, features.find((f) => f.type === "STANDARD") ?? features[0], undefined);
  sharedOverride.multivariate_feature_state_values = [];
  sharedOverride.feature_segment = null;
  const identityOverrides: DocIdentityOverride[] = Array.from({ length: 6 }, (_, i) => {
    const own = generateFeatureState(g, g.pick(features), undefined);
    own.multivariate_feature_state_values = [];
    own.feature_segment = null;
    return {
      identifier: `user-${i * 3}`,
      environment_api_key: "env_api_key",
      created_date: "2026-01-01T00:00:00Z",
      identity_uuid: `uuid-${i}`,
      django_id: i,
      composite_key: `env_api_key_user-${i * 3}`,
      dashboard_alias: null,
      identity_traits: [],
      identity_features: i % 2 === 0 ? [sharedOverride] : [own, sharedOverride],
    };
  });
  return {
    id: 1,
    api_key: "env_api_key",
    name: g.pick(["Development", "Production"]),
    allow_client_traits: true,
    updated_at: "2026-01-01T00:00:00.000000+00:00",
    hide_sensitive_data: false,
    hide_disabled_flags: null,
    use_identity_composite_key_for_hashing: true,
    use_identity_overrides_in_local_eval: true,
    project: {
      id: 1,
      name: "Project",
      hide_disabled_flags: false,
      enable_realtime_updates: false,
      server_key_only_feature_ids: [],
      organisation: { id: 1, name: "Org", feature_analytics: false, stop_serving_flags: false, persist_trait_data: true },
      segments,
    },
    feature_states: features.map((feature) => generateFeatureState(g, feature, undefined)),
    identity_overrides: identityOverrides,
  };
}

const SEEDS = Array.from({ length: 25 }, (_, i) => i + 1);
const IDENTITIES_PER_DOCUMENT = 40;

// ---------------------------------------------------------------------------------------------------------------

describe("legacy-v1 recorded responses", () => {
  const fixture = JSON.parse(fs.readFileSync(LEGACY_FIXTURE, "utf8")) as LegacyFixture;

  it("legacyFixture__loaded__has101Identities", () => {
    // Given the legacy fixture
    // When its identities are counted
    const count = fixture.identities_and_responses.length;
    // Then all 101 recorded responses are available
    expect(count).toBe(101);
  });

  it.each(fixture.identities_and_responses.map((entry) => [entry.identity.identifier, entry] as const))(
    "mapperAndEngine__legacyIdentity_%s__matchRecordedFlags",
    (_identifier, { identity, response }) => {
      // Given the environment context and the identity, hashed by its id as in the recorded responses
      const environmentContext = buildEnvironmentContext(fixture.environment);
      const context = withIdentity(
        environmentContext,
        { identifier: identity.identifier, key: String(identity.django_id), traits: mapTraits(identity.identity_traits) },
        identity.identity_features,
      );
      // When evaluating and mapping back to SDK flags
      const flags = toSdkFlags(getEvaluationResult(context));
      // Then every feature's id, value and enabled state equal Flagsmith's recorded response
      const actual = Object.fromEntries(flags.map((f) => [f.featureName, { id: f.featureId, value: f.value, enabled: f.enabled }]));
      const expected = Object.fromEntries(
        response.flags.map((f) => [f.feature.name, { id: f.feature.id, value: f.feature_state_value, enabled: f.enabled }]),
      );
      expect(actual).toStrictEqual(expected);
    },
  );
});

describe("flagsmith-nodejs oracle", () => {
  it.each(SEEDS)("environmentDocumentToContext__generatedDocument%i__equalsNodeMapper", (seed) => {
    // Given a generated document and identities with and without identity overrides
    const doc = generateDocument(seed);
    const g = generator(seed * 7919);
    for (let i = 0; i < 5; i++) {
      const identifier = `user-${i * 3}`;
      const traits = generateTraits(g);
      // When both mappers map it
      const ours = environmentDocumentToContext(doc, { identifier, traits });
      const theirs = nodeContext(doc, identifier, traits);
      // Then the contexts are equal (modulo NODE's undefined members, option keys and null condition values)
      expect(normaliseContext(ours)).toEqual(normaliseContext(theirs));
    }
  });

  it.each(SEEDS)("getEvaluationResult__generatedDocument%i__equalsNodeEngine", (seed) => {
    // Given a generated document and many identities
    const doc = generateDocument(seed);
    const g = generator(seed * 104729);
    const environmentContext = buildEnvironmentContext(doc);
    for (let i = 0; i < IDENTITIES_PER_DOCUMENT; i++) {
      const identifier = `user-${i}`;
      const traits = generateTraits(g);
      // When both engines evaluate the identity
      const ours = getEvaluationResult(withIdentity(environmentContext, { identifier, traits }));
      const theirs = nodeGetEvaluationResult(nodeContext(doc, identifier, traits));
      // Then flags (name, enabled, value, reason, metadata) and matched segments agree
      expect(comparableResult(ours)).toEqual(comparableResult(theirs));
    }
  });

  it.each(SEEDS)("withIdentity__singleIdentityOverrides%i__sameFlagsAsNodeWithAllOverrides", (seed) => {
    // Given an environment context without identity-override segments, and the per-identity override index
    const doc = generateDocument(seed);
    const g = generator(seed * 15485863);
    const environmentContext = buildEnvironmentContext(doc, { includeIdentityOverrides: false });
    const overridesByIdentifier = indexIdentityOverrides(doc);
    for (let i = 0; i < 20; i++) {
      const identifier = `user-${i}`;
      const traits = generateTraits(g);
      // When evaluating with just this identity's overrides
      const context = withIdentity(environmentContext, { identifier, traits }, overridesByIdentifier.get(identifier));
      const ours = getEvaluationResult(context);
      const theirs = nodeGetEvaluationResult(nodeContext(doc, identifier, traits));
      // Then the flags equal NODE's evaluation over all identity overrides, and so do the segment lists
      expect(comparableResult(ours)).toEqual(comparableResult(theirs));
    }
  });

  it("generatedDocuments__overAllSeeds__coverEveryOperatorExceptRegex", () => {
    // Given the generated documents
    const operators = new Set<string>();
    const collect = (rule: DocRule): void => {
      for (const condition of rule.conditions) operators.add(condition.operator);
      rule.rules.forEach(collect);
    };
    // When collecting their condition operators
    for (const seed of SEEDS) for (const segment of generateDocument(seed).project.segments) segment.rules.forEach(collect);
    // Then every operator except REGEX occurs
    expect([...operators].sort()).toEqual(
      [
        "CONTAINS",
        "EQUAL",
        "GREATER_THAN",
        "GREATER_THAN_INCLUSIVE",
        "IN",
        "IS_NOT_SET",
        "IS_SET",
        "LESS_THAN",
        "LESS_THAN_INCLUSIVE",
        "MODULO",
        "NOT_CONTAINS",
        "NOT_EQUAL",
        "PERCENTAGE_SPLIT",
      ].sort(),
    );
  });
});

describe("identity override mapping", () => {
  it("buildEnvironmentContext__identitiesWithEqualOverrides__shareOneSegmentLikeNode", () => {
    // Given a document whose identities share override sets
    const doc = generateDocument(3);
    // When mapping it
    const segments = Object.values(buildEnvironmentContext(doc).segments ?? {}).filter((s) => s.name === "identity_overrides");
    // Then there is one segment per distinct set, keyed like NODE's and carrying priority -Infinity overrides
    const theirs = Object.values(nodeContext(doc, "x", {}).segments ?? {}).filter((s) => s.name === "identity_overrides");
    expect(segments.map((s) => s.key)).toEqual(theirs.map((s) => s.key));
    expect(segments.length).toBeLessThan(doc.identity_overrides.length);
    for (const segment of segments) for (const override of segment.overrides ?? []) expect(override.priority).toBe(-Infinity);
  });

  it("buildEnvironmentContext__identifierWithComma__usesListValueSoIdsAreNotSplit", () => {
    // Given an identity override for an identifier containing a comma
    const doc = generateDocument(4);
    doc.identity_overrides = [{ ...doc.identity_overrides[0], identifier: "a,b" }];
    // When evaluating for "a" (which NODE's comma-joined IN value would wrongly match) and for "a,b"
    const environmentContext = buildEnvironmentContext(doc);
    const forA = getEvaluationResult(withIdentity(environmentContext, { identifier: "a" }));
    const forAB = getEvaluationResult(withIdentity(environmentContext, { identifier: "a,b" }));
    // Then only "a,b" gets the override segment
    expect(forA.segments.some((s) => s.name === "identity_overrides")).toBe(false);
    expect(forAB.segments.some((s) => s.name === "identity_overrides")).toBe(true);
  });

  it("buildEnvironmentContext__anyDocument__isDeeplyFrozen", () => {
    // Given a mapped environment context
    const context = buildEnvironmentContext(generateDocument(5));
    // When inspecting nested objects
    const firstSegment = Object.values(context.segments ?? {})[0];
    // Then they are frozen, so the engine's caches can never go stale
    expect(Object.isFrozen(context)).toBe(true);
    expect(Object.isFrozen(firstSegment.rules)).toBe(true);
  });

  it("toSdkFlags__resultOfForeignContext__throwsWithoutFeatureId", () => {
    // Given a result whose flags lack the mapper's metadata
    const result = getEvaluationResult({
      environment: { key: "k", name: "n" },
      features: { f: { key: "1", name: "f", enabled: true, value: null } },
    });
    // When mapping it to SDK flags
    const map = () => toSdkFlags(result as Parameters<typeof toSdkFlags>[0]);
    // Then it refuses
    expect(map).toThrow(TypeError);
  });
});
