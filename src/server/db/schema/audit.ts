import { bigserial, index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { jsonb } from "./json";
import { organisationApiKeys, organisations } from "./tenancy";
import { users } from "./auth";

/**
 * One row per audited change, written in the same transaction as the change. Project/environment
 * ids are plain columns (no foreign key) so that the history of a deleted project stays readable.
 */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    organisationId: integer("organisation_id")
      .notNull()
      .references(() => organisations.id, { onDelete: "cascade" }),
    projectId: integer("project_id"),
    environmentId: integer("environment_id"),
    featureId: integer("feature_id"),
    segmentId: integer("segment_id"),
    actorUserId: uuid("actor_user_id").references(() => users.id, { onDelete: "set null" }),
    actorApiKeyId: integer("actor_api_key_id").references(() => organisationApiKeys.id, { onDelete: "set null" }),
    /** Shown in the UI: the user's email or the API key's name at the time of the change. */
    actorLabel: text("actor_label").notNull(),
    /** `<entity>.<action>`, e.g. `feature.created`, `feature_state.updated`. */
    action: text("action").notNull(),
    resourceType: text("resource_type").notNull(),
    resourceId: text("resource_id"),
    summary: text("summary").notNull(),
    before: jsonb("before"),
    after: jsonb("after"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("audit_log_org_created_idx").on(t.organisationId, t.createdAt),
    index("audit_log_project_created_idx").on(t.projectId, t.createdAt),
    index("audit_log_environment_created_idx").on(t.environmentId, t.createdAt),
  ],
);
