/**
 * Flagsmith environment documents for import tests: the legacy engine-test-data document, and
 * generated documents covering every operator, multivariate features with non-trivial allocations in a
 * shuffled id order, segment overrides with priorities (and their own allocations), and identity
 * overrides. Plus evaluation helpers (engine on a document, for many identities) and a structural
 * normalisation for round-trip comparisons.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { EnvironmentDocument } from "../../src/server/engine/document";
import { buildEnvironmentContext, getEvaluationResult, withIdentity, type SdkEvaluationContext } from "../../src/server/engine";
import type { TraitValue } from "../../src/server/engine/types";

export const LEGACY_FILE = path.resolve(__dirname, "../fixtures/flagsmith-engine-test-data/legacy-v1/environment_n9fbf9h3v4fFgH3U3ngWhb.json");

/** The legacy file: `{ environment, identities_and_responses }`. */
export function legacyFile(): {
  environment: Record<string, unknown> & { api_key: string };
  identities_and_responses: { identity: { identifier: string; identity_traits: { trait_key: string; trait_value: TraitValue }[] } }[];
} {
  return JSON.parse(fs.readFileSync(LEGACY_FILE, "utf8"));
}

/** A random client key shaped like Flagsmith's (22 alphanumerics). */
export function randomApiKey(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return [...randomBytes(22)].map((b) => alphabet[b % alphabet.length]).join("");
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = Record<string, unknown>;

function uuid(): string {
  const hex = randomBytes(16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function state(
  feature: { id: number; name: string; type?: string },
  enabled: boolean,
  value: unknown,
  djangoId: number,
  options: { priority?: number | null; segment?: boolean; mv?: { id: number; option: { id: number; value: unknown; key?: string | null }; allocation: number }[] } = {},
): Json {
  return {
    feature: { id: feature.id, name: feature.name, type: feature.type ?? "STANDARD" },
    enabled,
    django_id: djangoId,
    featurestate_uuid: uuid(),
    feature_state_value: value,
    feature_segment: options.segment ? (options.priority === undefined ? null : { priority: options.priority }) : null,
    multivariate_feature_state_values: (options.mv ?? []).map((mv) => ({
      id: mv.id,
      mv_fs_value_uuid: uuid(),
      percentage_allocation: mv.allocation,
      multivariate_feature_option: { id: mv.option.id, value: mv.option.value, key: mv.option.key ?? null },
    })),
  };
}

const rule = (type: "ALL" | "ANY" | "NONE", conditions: [string, string | null, string | null][], rules: Json[] = []): Json => ({
  type,
  conditions: conditions.map(([operator, property, value]) => ({ operator, property_: property, value })),
  rules,
});

export const F = {
  banner: { id: 101, name: "banner_text" },
  maxItems: { id: 102, name: "max_items" },
  darkMode: { id: 103, name: "dark_mode" },
  empty: { id: 104, name: "empty_flag" },
  checkout: { id: 105, name: "checkout_flow", type: "MULTIVARIATE" },
  pricing: { id: 106, name: "pricing", type: "MULTIVARIATE" },
  legacy: { id: 107, name: "legacy_feature" },
};

const CHECKOUT_OPTIONS = {
  a: { id: 70, value: "variant_a", key: "a" },
  c: { id: 71, value: "variant_c", key: "c" },
  n: { id: 72, value: 42, key: null },
};
const PRICING_OPTIONS = {
  discount: { id: 80, value: "discount", key: "discount" },
  flag: { id: 81, value: true, key: "flag" },
};

export interface GenerateOptions {
  apiKey?: string;
  name?: string;
  projectName?: string;
  organisationName?: string;
  /** Added to every segment id (documents of one Flagsmith project share segment ids). */
  segmentIdBase?: number;
  identityOverrides?: number;
  serverKeyOnlyFeatureIds?: number[];
}

/**
 * A document exercising every operator, nested ANY/ALL/NONE rules, JSONPath and semver conditions,
 * percentage splits, multivariate features (allocations 23.75/12.5/31 listed out of id order), segment
 * overrides with priorities (one absent, one with its own allocations), and identity overrides.
 */
export function generateDocument(options: GenerateOptions = {}): Json & { api_key: string } {
  const apiKey = options.apiKey ?? randomApiKey();
  const base = options.segmentIdBase ?? 300;
  const overrides = options.identityOverrides ?? 25;
  const segments: Json[] = [
    {
      id: base + 1,
      name: "adults",
      rules: [rule("ALL", [], [rule("ANY", [["GREATER_THAN_INCLUSIVE", "age", "18"]])])],
      feature_states: [state(F.banner, true, "adult", 6001, { segment: true, priority: 2 })],
    },
    {
      id: base + 2,
      name: "premium",
      rules: [rule("ALL", [], [rule("ANY", [["EQUAL", "plan", "premium"], ["IN", "plan", "gold,platinum"]])])],
      feature_states: [
        state(F.banner, true, "premium", 6002, { segment: true, priority: 1 }),
        state(F.maxItems, true, 100, 6003, { segment: true, priority: 0 }),
      ],
    },
    {
      id: base + 3,
      name: "ten_percent",
      rules: [rule("ALL", [], [rule("ANY", [["PERCENTAGE_SPLIT", "", "10"]])])],
      feature_states: [
        state(F.darkMode, false, false, 6004, { segment: true, priority: 3 }),
        state(F.checkout, true, "segment_control", 6005, {
          segment: true,
          priority: 0,
          mv: [
            { id: 9102, option: CHECKOUT_OPTIONS.c, allocation: 40 },
            { id: 9101, option: CHECKOUT_OPTIONS.a, allocation: 45.5 },
          ],
        }),
      ],
    },
    {
      id: base + 4,
      name: "beta_testers",
      rules: [rule("ALL", [], [rule("NONE", [["EQUAL", "beta", "false"]]), rule("ALL", [["IS_SET", "beta", null]])])],
      // No feature_segment at all (legacy shape): priority null, the weakest.
      feature_states: [{ ...state(F.pricing, false, "beta_price", 6006), feature_segment: undefined }],
    },
    {
      id: base + 5,
      name: "email_domain",
      rules: [
        rule("ALL", [], [
          rule("ALL", [
            ["CONTAINS", "email", "@example.com"],
            ["NOT_CONTAINS", "email", "blocked"],
            ["REGEX", "email", "^[a-m]"],
          ]),
        ]),
      ],
      feature_states: [state(F.empty, true, "found", 6007, { segment: true, priority: 4 })],
    },
    {
      id: base + 6,
      name: "numbers",
      rules: [
        rule("ALL", [], [
          rule("ANY", [
            ["GREATER_THAN", "score", "50.5"],
            ["LESS_THAN", "score", "3"],
          ]),
          rule("ANY", [
            ["MODULO", "visits", "3|1"],
            ["LESS_THAN_INCLUSIVE", "visits", "2"],
          ]),
          rule("ALL", [["NOT_EQUAL", "plan", "banned"]]),
        ]),
      ],
      feature_states: [state(F.maxItems, true, 7, 6008, { segment: true, priority: 5 })],
    },
    {
      id: base + 7,
      name: "versions",
      rules: [
        rule("ALL", [
          ["GREATER_THAN_INCLUSIVE", "app_version", "2.1.0:semver"],
          ["LESS_THAN", "app_version", "3.0.0:semver"],
        ]),
      ],
      feature_states: [state(F.banner, true, "v2", 6009, { segment: true, priority: 0 })],
    },
    {
      id: base + 8,
      name: "young_without_country",
      rules: [rule("ALL", [["IS_NOT_SET", "country", null], ["LESS_THAN", "age", "30"]])],
      feature_states: [state(F.darkMode, true, "young", 6010, { segment: true, priority: 1 })],
    },
    {
      id: base + 9,
      name: "half_by_user",
      rules: [rule("ALL", [], [rule("ALL", [["PERCENTAGE_SPLIT", "", "50"], ["GREATER_THAN_INCLUSIVE", "age", "25"]])])],
      feature_states: [
        state(F.pricing, true, "half", 6011, {
          segment: true,
          priority: 2,
          mv: [{ id: 9301, option: PRICING_OPTIONS.flag, allocation: 60 }],
        }),
      ],
    },
    {
      id: base + 10,
      name: "by_identifier",
      rules: [rule("ALL", [["REGEX", "$.identity.identifier", "^user-1"]])],
      feature_states: [state(F.legacy, false, "by_identifier", 6012, { segment: true, priority: 0 })],
    },
    {
      id: base + 11,
      name: "no_overrides",
      rules: [rule("ANY", [["EQUAL", "country", "fr"], ["EQUAL", "country", "de"]])],
      feature_states: [],
    },
  ];

  const identityOverrides: Json[] = [];
  for (let i = 0; i < overrides; i++) {
    const features: Json[] = [state(F.banner, i % 2 === 0, `override-${i % 3}`, 7000 + i * 2)];
    if (i % 4 === 0) {
      features.push(
        state(F.checkout, true, "identity_control", 7001 + i * 2, {
          mv: [
            { id: 20000 + i * 2 + 1, option: CHECKOUT_OPTIONS.n, allocation: 33.3 },
            { id: 20000 + i * 2, option: CHECKOUT_OPTIONS.c, allocation: 33.3 },
          ],
        }),
      );
    }
    identityOverrides.push({
      identifier: `override-user-${i}`,
      environment_api_key: apiKey,
      created_date: "2024-05-01T10:00:00.000000+00:00",
      identity_uuid: uuid(),
      django_id: 500000 + i,
      composite_key: `${apiKey}_override-user-${i}`,
      dashboard_alias: null,
      identity_traits: [],
      identity_features: features,
    });
  }

  return {
    id: 4242,
    api_key: apiKey,
    name: options.name ?? "Development",
    allow_client_traits: true,
    updated_at: "2026-01-01T00:00:00.000000+00:00",
    hide_sensitive_data: false,
    hide_disabled_flags: null,
    use_identity_composite_key_for_hashing: true,
    use_identity_overrides_in_local_eval: true,
    project: {
      id: 77,
      name: options.projectName ?? `Flagsmith project ${randomBytes(3).toString("hex")}`,
      hide_disabled_flags: false,
      enable_realtime_updates: false,
      server_key_only_feature_ids: options.serverKeyOnlyFeatureIds ?? [],
      organisation: { id: 13, name: options.organisationName ?? "Flagsmith org", feature_analytics: false, stop_serving_flags: false, persist_trait_data: true },
      segments,
    },
    feature_states: [
      state(F.banner, true, "hello", 5001),
      state(F.maxItems, false, 10, 5002),
      state(F.darkMode, true, true, 5003),
      state(F.empty, false, null, 5004),
      state(F.checkout, true, "control", 5005, {
        mv: [
          { id: 9003, option: CHECKOUT_OPTIONS.c, allocation: 12.5 },
          { id: 9001, option: CHECKOUT_OPTIONS.a, allocation: 23.75 },
          { id: 9002, option: CHECKOUT_OPTIONS.n, allocation: 31 },
        ],
      }),
      state(F.pricing, true, "standard", 5006, {
        mv: [
          { id: 8002, option: PRICING_OPTIONS.discount, allocation: 50 },
          { id: 8001, option: PRICING_OPTIONS.flag, allocation: 10 },
        ],
      }),
      state(F.legacy, true, "old", 5007),
    ],
    identity_overrides: identityOverrides,
  };
}

export interface RandomDocumentOptions {
  seed: number;
  apiKey?: string;
  /** Default 12. */
  features?: number;
  /** Default 8; every third segment matches an identity without traits. */
  segments?: number;
  /** Overridden identities (default 5). */
  identities?: number;
  /** The environment's `hide_disabled_flags` (default null: the project's, false). */
  hideDisabledFlags?: boolean | null;
}

type Condition = [string, string | null, string | null];

/** Conditions that need traits (or an identity) to match. */
const TRAIT_CONDITIONS: Condition[] = [
  ["EQUAL", "plan", "pro"],
  ["NOT_EQUAL", "plan", "free"],
  ["GREATER_THAN_INCLUSIVE", "age", "18"],
  ["IN", "country", "de,at,ch"],
  ["CONTAINS", "email", "@acme."],
  ["PERCENTAGE_SPLIT", "", "50"],
  ["REGEX", "$.identity.identifier", "^user-1"],
  ["MODULO", "visits", "2|0"],
  ["IS_SET", "beta", null],
  ["LESS_THAN", "app_version", "2.0.0:semver"],
];

/** Rules (under the usual ALL root) that match an identity without traits, and any context without one. */
function emptyTraitRules(environmentName: string): Json[] {
  return [
    rule("NONE", [["CONTAINS", "plan", "pro"]]),
    rule("ALL", [["IS_NOT_SET", "plan", null]]),
    rule("ALL", [["EQUAL", "$.environment.name", environmentName]]),
    rule("NONE", [["EQUAL", "country", "fr"], ["IS_SET", "beta", null]]),
  ];
}

/**
 * A seeded, importable environment document: string, integer, boolean and null-valued features (some disabled,
 * some multivariate), segments on traits and segments that match without traits (NONE, IS_NOT_SET,
 * `$.environment.name`), segment overrides with distinct priorities (enabled and disabled, sometimes of another
 * type, sometimes with their own allocations), and identity overrides.
 */
export function generateRandomDocument(options: RandomDocumentOptions): Json & { api_key: string } {
  const random = rng(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const apiKey = options.apiKey ?? randomApiKey();
  const environmentName = `Environment ${options.seed}`;
  const kinds = ["string", "integer", "boolean", "null"] as const;
  const valueOf = (kind: (typeof kinds)[number], n: number): unknown =>
    kind === "string" ? `value-${n}` : kind === "integer" ? n : kind === "boolean" ? n % 2 === 0 : null;
  let nextId = options.seed * 100_000;
  const id = () => ++nextId;

  const features = Array.from({ length: options.features ?? 12 }, (_, i) => {
    const kind = pick(kinds);
    const feature = { id: 2000 + i, name: `feature_${i}`, type: "STANDARD" };
    const optionCount = kind === "string" && random() < 0.4 ? 1 + Math.floor(random() * 3) : 0;
    const mvOptions = Array.from({ length: optionCount }, (_, k) => ({ id: 60_000 + i * 10 + k, value: `mv-${i}-${k}`, key: random() < 0.5 ? `k${k}` : null }));
    if (mvOptions.length > 0) feature.type = "MULTIVARIATE";
    return { feature, kind, options: mvOptions };
  });
  const allocations = (count: number) => Array.from({ length: count }, () => pick([10, 20, 25, 30]));
  const mvValues = (mvOptions: (typeof features)[number]["options"]) =>
    allocations(mvOptions.length).map((allocation, k) => ({ id: id(), option: mvOptions[k], allocation }));

  const featureStates = features.map(({ feature, kind, options: mvOptions }, i) =>
    state(feature, random() < 0.7, valueOf(kind, i), id(), { mv: mvOptions.length > 0 ? mvValues(mvOptions) : undefined }),
  );

  const priorities = new Map<number, number>();
  const segments = Array.from({ length: options.segments ?? 8 }, (_, j) => {
    const child = j % 3 === 0 ? pick(emptyTraitRules(environmentName)) : rule(pick(["ALL", "ANY", "NONE"] as const), [pick(TRAIT_CONDITIONS), pick(TRAIT_CONDITIONS)].slice(0, 1 + Math.floor(random() * 2)));
    const overridden = [...features].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 3));
    const feature_states = overridden.map(({ feature, kind, options: mvOptions }) => {
      const priority = priorities.get(feature.id) ?? 0;
      priorities.set(feature.id, priority + 1);
      const value = random() < 0.1 ? valueOf(pick(kinds), j + 100) : valueOf(kind, j + 100);
      const ownSplit = mvOptions.length > 0 && random() < 0.4;
      return state(feature, random() < 0.7, value, id(), { segment: true, priority, mv: ownSplit ? mvValues(mvOptions) : undefined });
    });
    return { id: 700 + j, name: `segment_${j}`, rules: [rule("ALL", [], [child])], feature_states };
  });

  const identityOverrides = Array.from({ length: options.identities ?? 5 }, (_, x) => {
    const identifier = `user-${x}`;
    const overridden = [...features].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 2));
    return {
      identifier,
      environment_api_key: apiKey,
      created_date: "2024-05-01T10:00:00.000000+00:00",
      identity_uuid: uuid(),
      django_id: 800_000 + x,
      composite_key: `${apiKey}_${identifier}`,
      dashboard_alias: null,
      identity_traits: [],
      identity_features: overridden.map(({ feature, kind }) => state(feature, random() < 0.7, valueOf(kind, x + 200), id())),
    };
  });

  return {
    id: 5000 + options.seed,
    api_key: apiKey,
    name: environmentName,
    allow_client_traits: true,
    updated_at: "2026-01-01T00:00:00.000000+00:00",
    hide_sensitive_data: false,
    hide_disabled_flags: options.hideDisabledFlags ?? null,
    use_identity_composite_key_for_hashing: true,
    use_identity_overrides_in_local_eval: true,
    project: {
      id: 88,
      name: `Generated project ${options.seed} ${randomBytes(3).toString("hex")}`,
      hide_disabled_flags: false,
      enable_realtime_updates: false,
      server_key_only_feature_ids: [],
      organisation: { id: 13, name: "Flagsmith org", feature_analytics: false, stop_serving_flags: false, persist_trait_data: true },
      segments,
    },
    feature_states: featureStates,
    identity_overrides: identityOverrides,
  };
}

export interface TestIdentity {
  identifier: string;
  traits: Record<string, TraitValue>;
}

/** `count` identities with varied traits (some identifiers have identity overrides, some match `^user-1`). */
export function generateIdentities(count: number, seed = 1, options: { overrides?: number } = {}): TestIdentity[] {
  const random = rng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const out: TestIdentity[] = [];
  for (let i = 0; i < count; i++) {
    const identifier = i < (options.overrides ?? 0) ? `override-user-${i}` : `user-${i}-${Math.floor(random() * 1e6)}`;
    const traits: Record<string, TraitValue> = {};
    if (random() < 0.85) traits.age = Math.floor(10 + random() * 60);
    if (random() < 0.9) traits.plan = pick(["free", "premium", "gold", "platinum", "basic", "banned"]);
    if (random() < 0.6) traits.beta = random() < 0.5;
    if (random() < 0.8) traits.email = `${pick(["alice", "bob", "mallory", "zed", "nina", "carol"])}${i}@${pick(["example.com", "example.org", "blocked.example.com"])}`;
    if (random() < 0.8) traits.score = random() < 0.5 ? Math.floor(random() * 100) : Math.round(random() * 10000) / 100;
    if (random() < 0.8) traits.visits = Math.floor(random() * 20);
    if (random() < 0.7) traits.app_version = `${1 + Math.floor(random() * 3)}.${Math.floor(random() * 4)}.${Math.floor(random() * 3)}`;
    if (random() < 0.5) traits.country = pick(["fr", "de", "uk", "us"]);
    out.push({ identifier, traits });
  }
  return out;
}

export interface EvaluatedFlag {
  name: string;
  enabled: boolean;
  value: unknown;
  variant: string | null;
  reason: string;
}

const contexts = new WeakMap<object, SdkEvaluationContext>();

/** The engine's flags (sorted by name) and matched segment names for one identity. */
export function evaluate(document: unknown, identity: TestIdentity): { flags: EvaluatedFlag[]; segments: string[] } {
  // The environment part once per document (what environmentDocumentToContext does per call).
  let environmentContext = contexts.get(document as object);
  if (!environmentContext) {
    environmentContext = buildEnvironmentContext(document as EnvironmentDocument);
    contexts.set(document as object, environmentContext);
  }
  const context = withIdentity(environmentContext, { identifier: identity.identifier, traits: identity.traits });
  const result = getEvaluationResult(context);
  const flags = Object.values(result.flags)
    .map((f) => ({ name: f.name, enabled: f.enabled, value: f.value, variant: f.variant, reason: f.reason }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { flags, segments: result.segments.map((s) => s.name) };
}

type AnyState = {
  feature: { name: string };
  enabled: boolean;
  django_id?: number | null;
  feature_state_value?: unknown;
  feature_segment?: { priority?: number | null } | null;
  multivariate_feature_state_values?: { id: number; percentage_allocation: number; multivariate_feature_option: { value: unknown; key?: string | null } }[];
};
type AnyRule = { type: string; conditions?: { operator: string; property_?: string | null; value?: string | null }[]; rules?: AnyRule[] };

function normaliseState(s: AnyState) {
  return {
    feature: s.feature.name,
    enabled: s.enabled,
    value: s.feature_state_value ?? null,
    seed: s.django_id ?? null,
    priority: s.feature_segment?.priority ?? null,
    variants: [...(s.multivariate_feature_state_values ?? [])]
      .sort((a, b) => a.id - b.id)
      .map((mv) => ({ value: mv.multivariate_feature_option.value, key: mv.multivariate_feature_option.key ?? null, allocation: mv.percentage_allocation })),
  };
}

function normaliseRules(rules: AnyRule[] | undefined): unknown[] {
  return (rules ?? []).map((r) => ({
    type: r.type,
    conditions: (r.conditions ?? []).map((c) => ({ operator: c.operator, property: c.property_ ?? null, value: c.value ?? null })),
    rules: normaliseRules(r.rules),
  }));
}

/**
 * What evaluation depends on, independent of row ids and uuids: settings, every state (by feature name) with
 * its seed, priority and variants in id order, segments by id with their rules, identity overrides.
 */
export function normaliseDocument(document: unknown) {
  const doc = document as {
    api_key: string;
    feature_states: AnyState[];
    project: { segments: { id: number; name: string; rules: AnyRule[]; feature_states: AnyState[] }[] };
    identity_overrides?: { identifier: string; django_id?: number | null; identity_features: AnyState[] }[];
  };
  const byFeature = (a: { feature: string }, b: { feature: string }) => a.feature.localeCompare(b.feature);
  return {
    apiKey: doc.api_key,
    features: doc.feature_states.map(normaliseState).sort(byFeature),
    segments: [...doc.project.segments]
      .sort((a, b) => a.id - b.id)
      .map((s) => ({ id: s.id, name: s.name, rules: normaliseRules(s.rules), states: s.feature_states.map(normaliseState).sort(byFeature) })),
    identities: [...(doc.identity_overrides ?? [])]
      .sort((a, b) => a.identifier.localeCompare(b.identifier))
      .map((i) => ({ identifier: i.identifier, djangoId: i.django_id ?? null, states: i.identity_features.map(normaliseState).sort(byFeature) })),
  };
}

/** A deep copy (tests mutate documents to make them invalid). */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
