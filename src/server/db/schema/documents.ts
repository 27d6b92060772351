import { bigint, index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { jsonb } from "./json";
import { environments } from "./tenancy";

/**
 * The document store: the latest environment document of each environment, written only by the
 * worker, only when its source `revision` is newer than the stored one. Every SDK and flagd request
 * is served from here.
 */
export const environmentDocuments = pgTable("environment_documents", {
  environmentId: integer("environment_id")
    .primaryKey()
    .references(() => environments.id, { onDelete: "cascade" }),
  /** `environments.revision` the document was built from. */
  revision: bigint("revision", { mode: "number" }).notNull(),
  /** Flagsmith's environment document, serialised exactly as served by /api/v1/environment-document/. */
  document: text("document").notNull(),
  /** What the SDK API needs beyond the document (feature metadata, state ids): see documents/types.ts `SdkExtras`. */
  sdkExtras: jsonb("sdk_extras").notNull(),
  /** The flagd flag-definition document (bytes as served), its strong ETag and diagnostics. */
  flagdDocument: text("flagd_document"),
  flagdEtag: text("flagd_etag"),
  flagdDiagnostics: jsonb("flagd_diagnostics"),
  translatorVersion: text("translator_version"),
  /** The environment's `updated_at` at `revision` (Last-Modified, X-Flagsmith-Document-Updated-At). */
  environmentUpdatedAt: timestamp("environment_updated_at", { withTimezone: true, precision: 6 }).notNull(),
  writtenAt: timestamp("written_at", { withTimezone: true }).notNull().defaultNow(),
  bytes: integer("bytes").notNull(),
  featureStatesCount: integer("feature_states_count").notNull(),
});

/** Flag evaluation counts reported by SDKs (`POST /api/v1/analytics/flags/`), per feature name per hour. */
export const featureEvaluations = pgTable(
  "feature_evaluations",
  {
    environmentId: integer("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    featureName: text("feature_name").notNull(),
    hour: timestamp("hour", { withTimezone: true }).notNull(),
    count: bigint("count", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.environmentId, t.featureName, t.hour] }), index("feature_evaluations_hour_idx").on(t.hour)],
);
