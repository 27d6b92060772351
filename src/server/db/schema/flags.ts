/**
 * Flag management: features, multivariate options, segments, identities and traits, feature
 * states (environment defaults, segment overrides, identity overrides) with their multivariate
 * allocations, and scheduled changes. Together they hold everything Flagsmith's environment
 * document carries (see src/server/documents/build.ts).
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  pgEnum,
  pgSequence,
  pgTable,
  serial,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { jsonb } from "./json";
import { users } from "./auth";
import { environments, organisationApiKeys, projects } from "./tenancy";

/** A typed flag value as stored: JSON string, number, boolean or null. */
export type StoredValue = string | number | boolean | null;

/** A segment rule as stored (the document's shape, with `property` for `property_`). */
export interface StoredCondition {
  operator: string;
  property: string | null;
  value: string | null;
}
export interface StoredRule {
  type: "ALL" | "ANY" | "NONE";
  conditions: StoredCondition[];
  rules: StoredRule[];
}

export const featureType = pgEnum("feature_type", ["STANDARD", "MULTIVARIATE"]);

export const features = pgTable(
  "features",
  {
    id: serial("id").primaryKey(),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    type: featureType("type").notNull().default("STANDARD"),
    defaultEnabled: boolean("default_enabled").notNull().default(false),
    initialValue: jsonb("initial_value").$type<StoredValue>(),
    isServerKeyOnly: boolean("is_server_key_only").notNull().default(false),
    isArchived: boolean("is_archived").notNull().default(false),
    tags: text("tags").array().notNull().default(sql`'{}'::text[]`),
    /** Set while the feature's per-environment states are being seeded; no document is written meanwhile. */
    isCreating: boolean("is_creating").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("features_project_name_lower_uq").on(t.projectId, sql`lower(${t.name})`), index("features_project_idx").on(t.projectId)],
);

export const multivariateOptions = pgTable(
  "multivariate_options",
  {
    id: serial("id").primaryKey(),
    featureId: integer("feature_id")
      .notNull()
      .references(() => features.id, { onDelete: "cascade" }),
    value: jsonb("value").$type<StoredValue>(),
    /** Optional variant key reported by the SDK API (`variant`); unique per feature. */
    key: text("key"),
    /** Allocation copied to every environment's default state when the option is created. */
    defaultPercentageAllocation: doublePrecision("default_percentage_allocation").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("multivariate_options_feature_idx").on(t.featureId),
    uniqueIndex("multivariate_options_feature_key_uq").on(t.featureId, t.key).where(sql`${t.key} is not null`),
  ],
);

export const segments = pgTable(
  "segments",
  {
    id: serial("id").primaryKey(),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** Set for feature-specific segments. */
    featureId: integer("feature_id").references(() => features.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    rules: jsonb("rules").$type<StoredRule[]>().notNull(),
    /**
     * The segment's id in documents and its PERCENTAGE_SPLIT hashing key when it differs from `id`
     * (segments imported from Flagsmith keep their original id, so users keep their buckets).
     */
    documentId: integer("document_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("segments_project_name_lower_uq").on(t.projectId, sql`lower(${t.name})`),
    uniqueIndex("segments_project_document_id_uq").on(t.projectId, sql`coalesce(${t.documentId}, ${t.id})`),
    index("segments_feature_idx").on(t.featureId),
  ],
);

export const identities = pgTable(
  "identities",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    environmentId: integer("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    identifier: text("identifier").notNull(),
    uuid: uuid("uuid").notNull().defaultRandom(),
    /** Flagsmith's id for imported identities (`django_id`, the hash key when composite keys are off). */
    djangoId: bigint("django_id", { mode: "number" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("identities_environment_identifier_uq").on(t.environmentId, t.identifier)],
);

export const traits = pgTable(
  "traits",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    identityId: bigint("identity_id", { mode: "number" })
      .notNull()
      .references(() => identities.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: jsonb("value").$type<StoredValue>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("traits_identity_key_uq").on(t.identityId, t.key)],
);

export const featureStateHashingSeed = pgSequence("feature_state_hashing_seed_seq", { startWith: 1 });

/**
 * One row per environment default (no segment, no identity), segment override (segment set,
 * with `priority`: lower wins) and identity override (identity set).
 */
export const featureStates = pgTable(
  "feature_states",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    featureId: integer("feature_id")
      .notNull()
      .references(() => features.id, { onDelete: "cascade" }),
    environmentId: integer("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    segmentId: integer("segment_id").references(() => segments.id, { onDelete: "cascade" }),
    identityId: bigint("identity_id", { mode: "number" }).references(() => identities.id, { onDelete: "cascade" }),
    enabled: boolean("enabled").notNull().default(false),
    value: jsonb("value").$type<StoredValue>(),
    priority: integer("priority"),
    /**
     * Multivariate hashing seed (the document's `django_id`): assigned once and carried over when the
     * state is cloned or imported, so users keep their buckets.
     */
    hashingSeed: bigint("hashing_seed", { mode: "number" })
      .notNull()
      .default(sql`nextval('feature_state_hashing_seed_seq')`),
    uuid: uuid("uuid").notNull().defaultRandom(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("feature_states_default_uq").on(t.featureId, t.environmentId).where(sql`${t.segmentId} is null and ${t.identityId} is null`),
    uniqueIndex("feature_states_segment_uq").on(t.featureId, t.environmentId, t.segmentId).where(sql`${t.segmentId} is not null`),
    uniqueIndex("feature_states_identity_uq").on(t.featureId, t.environmentId, t.identityId).where(sql`${t.identityId} is not null`),
    index("feature_states_environment_idx").on(t.environmentId),
    index("feature_states_identity_idx").on(t.identityId),
    index("feature_states_segment_idx").on(t.segmentId),
  ],
);

/** Per-state allocation of a multivariate option (0–100; the sum per state is ≤ 100). */
export const multivariateStateValues = pgTable(
  "multivariate_state_values",
  {
    /** Orders the variants when allocating buckets (ascending). */
    id: bigserial("id", { mode: "number" }).primaryKey(),
    featureStateId: bigint("feature_state_id", { mode: "number" })
      .notNull()
      .references(() => featureStates.id, { onDelete: "cascade" }),
    optionId: integer("option_id")
      .notNull()
      .references(() => multivariateOptions.id, { onDelete: "cascade" }),
    percentageAllocation: doublePrecision("percentage_allocation").notNull(),
    uuid: uuid("uuid").notNull().defaultRandom(),
  },
  (t) => [uniqueIndex("multivariate_state_values_state_option_uq").on(t.featureStateId, t.optionId)],
);

export const scheduledChangeStatus = pgEnum("scheduled_change_status", ["PENDING", "LIVE", "CANCELLED", "FAILED"]);

/**
 * A feature-state change that becomes live at `live_from`. Until then the current state stays live;
 * at `live_from` a job (run_at = live_from, job key `scheduled_change:<id>`) applies `change`,
 * audits it and rewrites the environment's document.
 */
export const scheduledChanges = pgTable(
  "scheduled_changes",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    environmentId: integer("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    featureId: integer("feature_id")
      .notNull()
      .references(() => features.id, { onDelete: "cascade" }),
    /** Set for changes to a segment override. */
    segmentId: integer("segment_id").references(() => segments.id, { onDelete: "cascade" }),
    /** What to apply: see features/scheduled.ts `ScheduledChangePayload`. */
    change: jsonb("change").notNull(),
    liveFrom: timestamp("live_from", { withTimezone: true }).notNull(),
    status: scheduledChangeStatus("status").notNull().default("PENDING"),
    createdByUserId: uuid("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    createdByApiKeyId: integer("created_by_api_key_id").references(() => organisationApiKeys.id, { onDelete: "set null" }),
    actorLabel: text("actor_label").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    appliedAt: timestamp("applied_at", { withTimezone: true }),
    cancelledAt: timestamp("cancelled_at", { withTimezone: true }),
    error: text("error"),
  },
  (t) => [index("scheduled_changes_environment_status_idx").on(t.environmentId, t.status, t.liveFrom)],
);
