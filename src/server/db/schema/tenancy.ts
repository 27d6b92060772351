import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { users } from "./auth";

export const organisationRole = pgEnum("organisation_role", ["ADMIN", "USER"]);

export const organisations = pgTable("organisations", {
  id: serial("id").primaryKey(),
  name: text("name").notNull(),
  persistTraitData: boolean("persist_trait_data").notNull().default(true),
  featureAnalytics: boolean("feature_analytics").notNull().default(false),
  stopServingFlags: boolean("stop_serving_flags").notNull().default(false),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const memberships = pgTable(
  "memberships",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    organisationId: integer("organisation_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    role: organisationRole("role").notNull().default("USER"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.organisationId] }), index("memberships_org_idx").on(t.organisationId)],
);

/** Organisation API keys (`Authorization: Api-Key <key>`): stored as sha256, shown once. */
export const organisationApiKeys = pgTable(
  "organisation_api_keys",
  {
    id: serial("id").primaryKey(),
    organisationId: integer("organisation_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** First characters of the key, for recognising it in the UI. */
    prefix: text("prefix").notNull(),
    keyHash: text("key_hash").notNull(),
    createdByUserId: uuid("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("organisation_api_keys_hash_uq").on(t.keyHash), index("organisation_api_keys_org_idx").on(t.organisationId)],
);

export const projects = pgTable(
  "projects",
  {
    id: serial("id").primaryKey(),
    organisationId: integer("organisation_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    hideDisabledFlags: boolean("hide_disabled_flags").notNull().default(false),
    enableRealtimeUpdates: boolean("enable_realtime_updates").notNull().default(false),
    /** Publish this project's environments as flagd flag-definition documents (off by default). */
    flagdEnabled: boolean("flagd_enabled").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("projects_org_idx").on(t.organisationId),
    uniqueIndex("projects_org_name_lower_uq").on(t.organisationId, sql`lower(${t.name})`),
  ],
);

export const environments = pgTable(
  "environments",
  {
    id: serial("id").primaryKey(),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    /** The client-side SDK key (public; no prefix). */
    apiKey: text("api_key").notNull(),
    allowClientTraits: boolean("allow_client_traits").notNull().default(true),
    /** null = use the project's setting. */
    hideDisabledFlags: boolean("hide_disabled_flags"),
    useIdentityCompositeKeyForHashing: boolean("use_identity_composite_key_for_hashing").notNull().default(true),
    useIdentityOverridesInLocalEval: boolean("use_identity_overrides_in_local_eval").notNull().default(true),
    hideSensitiveData: boolean("hide_sensitive_data").notNull().default(false),
    /** Admin-only: the UI asks for confirmation before toggles and value changes here (not part of any document). */
    isProtected: boolean("is_protected").notNull().default(false),
    /** Set while the environment's feature states are being seeded or cloned; no document is written meanwhile. */
    isCreating: boolean("is_creating").notNull().default(false),
    /** Bumped with every audited change of what the environment serves; documents carry the revision they were built from. */
    revision: bigint("revision", { mode: "number" }).notNull().default(1),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("environments_api_key_uq").on(t.apiKey),
    index("environments_project_idx").on(t.projectId),
    uniqueIndex("environments_project_name_lower_uq").on(t.projectId, sql`lower(${t.name})`),
  ],
);

/** Server-side SDK keys (`ser.…`): stored as sha256, shown once. */
export const environmentApiKeys = pgTable(
  "environment_api_keys",
  {
    id: serial("id").primaryKey(),
    environmentId: integer("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    keyHash: text("key_hash").notNull(),
    active: boolean("active").notNull().default(true),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("environment_api_keys_hash_uq").on(t.keyHash), index("environment_api_keys_env_idx").on(t.environmentId)],
);

/**
 * Invitations to join an organisation (organisations/invitations.ts). The token travels only in the
 * link the admin hands over; stored as sha256. Pending = not accepted, not revoked, not expired.
 */
export const invitations = pgTable(
  "invitations",
  {
    id: serial("id").primaryKey(),
    organisationId: integer("organisation_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    /** Lower-cased; only the account with this email can accept. */
    email: text("email").notNull(),
    role: organisationRole("role").notNull().default("USER"),
    tokenHash: text("token_hash").notNull(),
    invitedByUserId: uuid("invited_by_user_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    acceptedAt: timestamp("accepted_at", { withTimezone: true }),
    acceptedByUserId: uuid("accepted_by_user_id").references(() => users.id, { onDelete: "set null" }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("invitations_token_hash_uq").on(t.tokenHash), index("invitations_org_idx").on(t.organisationId, t.createdAt)],
);
