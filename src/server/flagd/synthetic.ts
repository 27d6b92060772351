/**
 * Deterministic synthetic environment documents (and identity contexts) for translator tests and benchmarks.
 *
 * `generateSyntheticEnvironment({ features: 1000, segments: 200, identityOverrides: 1000 })` is the performance
 * reference size. Documents exercise every Flagsmith operator (including REGEX, unknown operators and malformed
 * values), nested ALL/ANY/NONE rules, JSONPath properties, multivariate features (fractional percentages), segment
 * overrides with priorities (ties, nulls, own multivariate splits), identity overrides (numeric identifiers too)
 * and value types (string, number, boolean, null, mixed). Contexts draw trait values from the same pools so that
 * conditions match often, including the coercion corner cases (numeric strings, booleans, whitespace).
 */
import type {
  DocCondition,
  DocFeatureState,
  DocIdentityOverride,
  DocMultivariateFeatureStateValue,
  DocRule,
  DocSegment,
  EnvironmentDocument,
  FeatureStateValue,
  RuleType,
} from "@/server/engine/document";

export interface SyntheticOptions {
  features?: number;
  segments?: number;
  /** Number of overridden identities (each overrides 1–3 features). */
  identityOverrides?: number;
  seed?: number;
}

export interface SyntheticIdentity {
  identifier: string;
  traits: Record<string, string | number | boolean | null>;
}

/** mulberry32: small, fast, deterministic. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const chance = (random: Random, p: number): boolean => random() < p;

/** Trait names used by conditions (plain names, and JSONPath forms resolved by the engine). */
export const SYNTHETIC_TRAITS = ["plan", "country", "age", "score", "version", "email", "beta", "user_id", "ratio", "a.b", "name"] as const;

const PROPERTIES: readonly string[] = [
  ...SYNTHETIC_TRAITS,
  "$.identity.identifier",
  "$.identity.key",
  "$.environment.name",
  "$.identity.traits.plan",
  "$.identity.traits['a.b']",
  "$.environment",
  "$.nowhere.at.all",
  "",
];

/** Values traits take in generated contexts. */
export const SYNTHETIC_TRAIT_VALUES: ReadonlyArray<string | number | boolean | null> = [
  "free", "pro", "Pro", "pro ", "enterprise", "DE", "US", "FR", "", "abc", "a,b", "x@acme.com", "y@example.com",
  "z@acme.com\n", "line1\nx@acme.com", "007", "7", "42", "18", "-3", "2.50", "2.5", "1e3", " 5", "0x10", "1.", ".5",
  "1.2.3", "2.0.0", "1.10.0-beta.1", "v1.2.3", "1.2", "01.2.3", "1.2.3+build.5", " 1.2.3", "True", "true", "false",
  "Production", "user-1", "12345", "-0", "10a", "9", "ééé", "😀", "Ｚ",
  0, 1, 2, 3, 5, 7, 18, 21, 42, 99, 100, -3, -7, 2.5, 0.5, 35, 1000, 12345, -0.5,
  true, false, null,
];

const CONDITION_VALUES: Record<string, readonly (string | null)[]> = {
  EQUAL: ["free", "pro", "18", "2.5", "true", "false", "False", "1", "0", "abc", "", "7", "1.2.3:semver", "1_000", " 5 ", "Production", "user-1", "12345", "2.50", "-3", null],
  NOT_EQUAL: ["free", "18", "true", "abc", "1", "2.0.0:semver", "", "7.0"],
  GREATER_THAN: ["18", "2.5", "9", "free", "1.2.0:semver", "false", "abc", "-3", "1e2", "inf", "Ｚ"],
  GREATER_THAN_INCLUSIVE: ["18", "21", "2.5", "1.2.3:semver", "m", "0"],
  LESS_THAN: ["18", "100", "2.5", "2.0.0:semver", "m", "true", "nan"],
  LESS_THAN_INCLUSIVE: ["18", "42", "1.10.0-beta.1:semver", "pro", "-0.5"],
  CONTAINS: ["ro", "a", "", "@acme", "1", "1.2.3:semver", "\n"],
  NOT_CONTAINS: ["ro", "a", "", "@acme", "x"],
  IN: ["free,pro", "DE,US, FR", '["DE", 1, 2.0, true]', "1,2,3,42", "007,7", "[bad", "", "Production,Staging", "user-1,12345", "-0,0,-3", "a,b"],
  REGEX: ["^pro", "free", ".*@acme\\.com$", "(DE|US)$", "^[a-z]+$", "\\d+", ".*acme", "^1", "[", "^(free|pro)", "abc\\Z", "^-?[0-9]+$", "1", ""],
  MODULO: ["2|0", "3|1", "2.5|0.5", "-3|1", "4|-1", "bad", "0|0", "", "7|0", "2|1"],
  IS_SET: [""],
  IS_NOT_SET: [""],
  PERCENTAGE_SPLIT: ["10", "33.3", "0.1", "0", "100", "-1", "abc", "50", "99.995", "12.3456"],
  FOO_BAR: ["x"],
};

function condition(random: Random): DocCondition {
  const operator = pick(random, Object.keys(CONDITION_VALUES));
  let property: string | null = pick(random, PROPERTIES);
  if (operator === "PERCENTAGE_SPLIT") property = pick(random, ["", "", "user_id", "plan", "$.identity.identifier", "$.environment.name", null]);
  if (operator === "IS_SET" || operator === "IS_NOT_SET") property = pick(random, [...PROPERTIES, null]);
  return { operator, property_: property, value: pick(random, CONDITION_VALUES[operator]) };
}

function rule(random: Random, depth: number): DocRule {
  const type: RuleType = pick(random, ["ALL", "ANY", "NONE", "ALL", "ANY"]);
  const conditions = Array.from({ length: 1 + Math.floor(random() * 3) }, () => condition(random));
  const rules = depth < 1 && chance(random, 0.25) ? [rule(random, depth + 1)] : [];
  return { type, conditions, rules };
}

function segmentRules(random: Random): DocRule[] {
  if (chance(random, 0.03)) return []; // never matches
  // Typical UI shape: an ALL root with child rules, sometimes several top-level rules.
  const roots = chance(random, 0.15) ? 2 : 1;
  return Array.from({ length: roots }, () => ({
    type: "ALL" as RuleType,
    conditions: chance(random, 0.2) ? [condition(random)] : [],
    rules: Array.from({ length: 1 + Math.floor(random() * 2) }, () => rule(random, 0)),
  }));
}

type ValueKind = "string" | "number" | "boolean" | "null" | "mixed";
const VALUE_POOLS: Record<ValueKind, readonly FeatureStateValue[]> = {
  string: ["blue", "green", "red", "", "on"],
  number: [0, 1, 42, 2.5, -7],
  boolean: [true, false],
  null: [null],
  mixed: ["blue", 42, true, "42"],
};

function uuidFactory(random: Random): () => string {
  let counter = 0;
  const hex = () => Math.floor(random() * 0x10000).toString(16).padStart(4, "0");
  return () => {
    counter++;
    return `${hex()}${hex()}-${hex()}-4${hex().slice(1)}-a${hex().slice(1)}-${hex()}${counter.toString(16).padStart(8, "0")}`;
  };
}

const MV_WEIGHTS: readonly (readonly number[])[] = [
  [33.3, 33.3, 33.4],
  [10, 20],
  [0.1],
  [50, 50],
  [25, 25, 25],
  [30, 30],
  [100],
  [0, 40],
  [60, 60],
  [12.345, 0.005],
];

export function generateSyntheticEnvironment(options: SyntheticOptions = {}): EnvironmentDocument {
  const featureCount = options.features ?? 1000;
  const segmentCount = options.segments ?? 200;
  const identityCount = options.identityOverrides ?? 1000;
  const random = createRandom(options.seed ?? 1);
  let nextId = 1000;
  const id = () => nextId++;
  const uuid = uuidFactory(random);

  interface FeatureSpec {
    id: number;
    name: string;
    type: "STANDARD" | "MULTIVARIATE";
    kind: ValueKind;
    options: Array<{ id: number; value: FeatureStateValue; key: string | null }>;
  }
  const features: FeatureSpec[] = Array.from({ length: featureCount }, (_, i) => {
    const kind: ValueKind = pick(random, ["string", "string", "number", "boolean", "null", "null", "mixed"]);
    const multivariate = kind !== "null" && chance(random, 0.3);
    const pool = VALUE_POOLS[kind];
    const optionCount = multivariate ? 1 + Math.floor(random() * 3) : 0;
    return {
      id: 1 + i,
      name: chance(random, 0.05) ? `feature ${i}.ünïcode/${i}` : `feature_${i}`,
      type: multivariate ? "MULTIVARIATE" : "STANDARD",
      kind,
      options: Array.from({ length: optionCount }, (_, j) => ({ id: 5000 + i * 10 + j, value: pick(random, pool), key: chance(random, 0.5) ? `opt_${j}` : null })),
    };
  });

  function featureState(spec: FeatureSpec, priority: number | null | undefined, allowMv: boolean): DocFeatureState {
    const weights = pick(random, MV_WEIGHTS);
    const mv: DocMultivariateFeatureStateValue[] =
      allowMv && spec.options.length > 0
        ? spec.options.map((option, j) => ({
            id: id(),
            mv_fs_value_uuid: uuid(),
            percentage_allocation: weights[j] ?? 0,
            multivariate_feature_option: { id: option.id, value: option.value, key: option.key },
          }))
        : [];
    return {
      feature: { id: spec.id, name: spec.name, type: spec.type },
      enabled: chance(random, 0.7),
      django_id: id(),
      featurestate_uuid: uuid(),
      feature_state_value: pick(random, VALUE_POOLS[spec.kind]),
      feature_segment: priority === undefined ? null : { priority },
      multivariate_feature_state_values: mv,
    };
  }

  const segments: DocSegment[] = Array.from({ length: segmentCount }, (_, i) => ({
    id: 100 + ((i * 7919) % (segmentCount * 10)), // ids not in creation order
    name: chance(random, 0.1) ? `Segment ${i % 5}` : `segment-${i}`, // some duplicate names (slug collisions)
    rules: segmentRules(random),
    feature_states: [],
  }));
  // Segment overrides: each feature gets 0–4 segment overrides.
  for (const spec of features) {
    const count = Math.floor(random() * 5);
    for (let k = 0; k < count && segments.length > 0; k++) {
      const segment = pick(random, segments);
      const priority = chance(random, 0.1) ? null : chance(random, 0.2) ? k : Math.floor(random() * 10);
      segment.feature_states.push(featureState(spec, priority, chance(random, 0.4)));
    }
  }

  const identityOverrides: DocIdentityOverride[] = Array.from({ length: identityCount }, (_, i) => {
    const identifier = syntheticIdentifier(i);
    const overridden = Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(random, features));
    return {
      identifier,
      environment_api_key: "synthetic_env_key",
      created_date: "2026-01-01T00:00:00+00:00",
      identity_uuid: uuid(),
      django_id: 900000 + i,
      composite_key: `synthetic_env_key_${identifier}`,
      dashboard_alias: null,
      identity_traits: [],
      identity_features: overridden.map((spec) => featureState(spec, undefined, chance(random, 0.1))),
    };
  });

  return {
    id: 77,
    api_key: "synthetic_env_key",
    name: "Production",
    allow_client_traits: true,
    updated_at: "2026-01-01T12:00:00.000000+00:00",
    hide_sensitive_data: false,
    hide_disabled_flags: null,
    use_identity_composite_key_for_hashing: true,
    use_identity_overrides_in_local_eval: true,
    project: {
      id: 5,
      name: "Synthetic",
      hide_disabled_flags: false,
      enable_realtime_updates: false,
      server_key_only_feature_ids: [],
      organisation: { id: 1, name: "Org", feature_analytics: false, stop_serving_flags: false, persist_trait_data: true },
      segments,
    },
    feature_states: features.map((spec) => featureState(spec, undefined, true)),
    identity_overrides: identityOverrides,
  };
}

/** Identifier of the i-th overridden identity: mostly `user-<i>`, some numeric (canonical and not). */
export function syntheticIdentifier(i: number): string {
  if (i % 10 === 3) return String(10000 + i);
  if (i % 10 === 7) return `00${i}`;
  return `user-${i}`;
}

/** Identity contexts: overridden identities, strangers and numeric look-alikes, with traits from the pools. */
export function generateSyntheticIdentities(count: number, options: { seed?: number; overriddenIdentities?: number } = {}): SyntheticIdentity[] {
  const random = createRandom(options.seed ?? 2);
  const overridden = options.overriddenIdentities ?? 0;
  return Array.from({ length: count }, (_, i) => {
    let identifier: string;
    const roll = random();
    if (overridden > 0 && roll < 0.35) identifier = syntheticIdentifier(Math.floor(random() * overridden));
    else if (roll < 0.45) identifier = String(Math.floor(random() * 20000));
    else if (roll < 0.5) identifier = `0${Math.floor(random() * 20000)}`;
    else identifier = `visitor-${i}-${Math.floor(random() * 1e6)}`;
    const traits: SyntheticIdentity["traits"] = {};
    for (const name of SYNTHETIC_TRAITS) {
      if (chance(random, 0.75)) traits[name] = pick(random, SYNTHETIC_TRAIT_VALUES);
    }
    if (chance(random, 0.05)) traits["$.environment.name"] = pick(random, ["Staging", "Production", null]);
    if (chance(random, 0.05)) traits["$.identity.key"] = pick(random, ["k1", "synthetic_env_key_user-1"]);
    return { identifier, traits };
  });
}
