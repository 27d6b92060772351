/**
 * Identity overrides: feature states with `identity_id` (the environment document's
 * `identity_overrides`). Every change rewrites the environment's document.
 */
import { and, asc, eq, gt, ilike, isNotNull, sql, type SQL } from "drizzle-orm";
import { commitChange } from "@/server/audit/change";
import type { Actor } from "@/server/auth/principal";
import { getDb, type Executor } from "@/server/db/client";
import { containsPattern } from "@/server/db/like";
import { featureStates, features, identities, type StoredValue } from "@/server/db/schema";
import { conflict, isUniqueViolation, notFound } from "@/server/errors";
import { auditBase, DEFAULT_PAGE_SIZE, getIdentity, identityContext, MAX_PAGE_SIZE } from "@/server/identities/service";
import { bindContext } from "@/server/observability/context";
import { getLogger } from "@/server/observability/logger";
import { applyStateChange, describeStateChange, lockState, type FeatureStateRow } from "./states";
import { describeValue } from "@/server/audit/summary";

// Events keep the logger of the identities domain (docs/events.md).
const log = getLogger("identities");

const OVERRIDE_TAKEN = "This identity already overrides this feature";
const OVERRIDE_CONSTRAINT = "feature_states_identity_uq";

/** An identity with its traits and identity overrides (the identity page). */
export async function getIdentityWithOverrides(identityId: number) {
  const identity = await getIdentity(identityId);
  return { ...identity, overrides: await listIdentityOverrides(identityId) };
}

export interface IdentityOverrideView {
  id: number;
  identityId: number;
  featureId: number;
  featureName: string;
  featureType: "STANDARD" | "MULTIVARIATE";
  environmentId: number;
  enabled: boolean;
  value: StoredValue;
  updatedAt: Date;
}

const overrideColumns = {
  id: featureStates.id,
  identityId: featureStates.identityId,
  featureId: featureStates.featureId,
  featureName: features.name,
  featureType: features.type,
  environmentId: featureStates.environmentId,
  enabled: featureStates.enabled,
  value: featureStates.value,
  updatedAt: featureStates.updatedAt,
};

/** The identity's overrides, by feature name. */
export async function listIdentityOverrides(identityId: number, executor: Executor = getDb()): Promise<IdentityOverrideView[]> {
  const rows = await executor
    .select(overrideColumns)
    .from(featureStates)
    .innerJoin(features, eq(features.id, featureStates.featureId))
    .where(eq(featureStates.identityId, identityId))
    .orderBy(asc(sql`lower(${features.name})`), asc(featureStates.id));
  return rows.map(toView);
}

function toView<T extends { identityId: number | null; value: StoredValue | null }>(row: T): T & { identityId: number; value: StoredValue } {
  return { ...row, identityId: row.identityId ?? 0, value: row.value ?? null };
}

export interface FeatureOverridesQuery {
  featureId: number;
  environmentId: number;
  /** Case-insensitive substring of the identifier. */
  search?: string;
  /** The last identifier of the previous page. */
  cursor?: string;
  limit?: number;
}

/** A feature's identity overrides in one environment (for the feature page), identifiers ascending. */
export async function listFeatureIdentityOverrides(query: FeatureOverridesQuery) {
  const limit = Math.min(Math.max(query.limit ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
  const conditions: SQL[] = [eq(featureStates.featureId, query.featureId), eq(featureStates.environmentId, query.environmentId), isNotNull(featureStates.identityId)];
  if (query.search) conditions.push(ilike(identities.identifier, containsPattern(query.search)));
  if (query.cursor !== undefined) conditions.push(gt(identities.identifier, query.cursor));
  const rows = await getDb()
    .select({ ...overrideColumns, identifier: identities.identifier })
    .from(featureStates)
    .innerJoin(features, eq(features.id, featureStates.featureId))
    .innerJoin(identities, eq(identities.id, featureStates.identityId))
    .where(and(...conditions))
    .orderBy(asc(identities.identifier))
    .limit(limit + 1);
  const hasMore = rows.length > limit;
  const items = (hasMore ? rows.slice(0, limit) : rows).map(toView);
  return { items, nextCursor: hasMore ? items[items.length - 1].identifier : null };
}

async function loadIdentityOverride(tx: Executor, featureStateId: number): Promise<FeatureStateRow & { identityId: number }> {
  const state = await lockState(tx, featureStateId);
  if (state.identityId === null) throw notFound("Identity override");
  return state as FeatureStateRow & { identityId: number };
}

async function featureName(tx: Executor, featureId: number): Promise<string> {
  const [feature] = await tx.select({ name: features.name }).from(features).where(eq(features.id, featureId));
  if (!feature) throw notFound("Feature");
  return feature.name;
}

async function overrideView(featureStateId: number): Promise<IdentityOverrideView> {
  const [row] = await getDb().select(overrideColumns).from(featureStates).innerJoin(features, eq(features.id, featureStates.featureId)).where(eq(featureStates.id, featureStateId));
  if (!row) throw notFound("Identity override");
  return toView(row);
}

export interface NewIdentityOverride {
  identityId: number;
  featureId: number;
  enabled: boolean;
  value: StoredValue;
}

export async function createIdentityOverride(actor: Actor, input: NewIdentityOverride) {
  let created: { id: number; environmentId: number };
  try {
    created = await getDb().transaction(async (tx) => {
      const context = await identityContext(tx, input.identityId, "key share");
      const [feature] = await tx.select({ id: features.id, name: features.name, projectId: features.projectId }).from(features).where(eq(features.id, input.featureId));
      if (!feature || feature.projectId !== context.projectId) throw notFound("Feature");
      const environmentId = context.identity.environmentId;
      const [existing] = await tx
        .select({ id: featureStates.id })
        .from(featureStates)
        .where(and(eq(featureStates.featureId, feature.id), eq(featureStates.environmentId, environmentId), eq(featureStates.identityId, input.identityId)));
      if (existing) throw conflict(OVERRIDE_TAKEN, "featureId");
      const [state] = await tx
        .insert(featureStates)
        .values({ featureId: feature.id, environmentId, identityId: input.identityId, enabled: input.enabled, value: input.value })
        .returning();
      await commitChange(
        tx,
        actor,
        {
          ...auditBase(context),
          featureId: feature.id,
          action: "identity_override.created",
          resourceType: "identity_override",
          resourceId: state.id,
          summary: `Feature "${feature.name}" overridden for identity "${context.identity.identifier}" in "${context.environmentName}" (${state.enabled ? "enabled" : "disabled"}, value ${describeValue(state.value ?? null)})`,
          after: { identityId: input.identityId, identifier: context.identity.identifier, enabled: state.enabled, value: state.value ?? null },
        },
        { environmentIds: [environmentId] },
      );
      return { id: state.id, environmentId };
    });
  } catch (error) {
    if (isUniqueViolation(error, OVERRIDE_CONSTRAINT)) throw conflict(OVERRIDE_TAKEN, "featureId");
    throw error;
  }
  bindContext({ "environment.id": created.environmentId });
  log.info("identity_override.created", { identity__id: input.identityId, feature__id: input.featureId, feature_state__id: created.id });
  return overrideView(created.id);
}

export async function updateIdentityOverride(actor: Actor, featureStateId: number, change: { enabled?: boolean; value?: StoredValue }) {
  const state = await getDb().transaction(async (tx) => {
    const override = await loadIdentityOverride(tx, featureStateId);
    const context = await identityContext(tx, override.identityId);
    const name = await featureName(tx, override.featureId);
    const { before, after } = await applyStateChange(tx, override, { enabled: change.enabled, value: change.value });
    await commitChange(
      tx,
      actor,
      {
        ...auditBase(context),
        featureId: override.featureId,
        action: "identity_override.updated",
        resourceType: "identity_override",
        resourceId: featureStateId,
        summary: `Feature "${name}" for identity "${context.identity.identifier}" in "${context.environmentName}": ${describeStateChange(before, after)}`,
        before: { enabled: before.enabled, value: before.value },
        after: { enabled: after.enabled, value: after.value },
      },
      { environmentIds: [override.environmentId] },
    );
    return override;
  });
  bindContext({ "environment.id": state.environmentId });
  log.info("identity_override.updated", { identity__id: state.identityId, feature__id: state.featureId, feature_state__id: featureStateId });
  return overrideView(featureStateId);
}

export async function deleteIdentityOverride(actor: Actor, featureStateId: number) {
  const state = await getDb().transaction(async (tx) => {
    const override = await loadIdentityOverride(tx, featureStateId);
    const context = await identityContext(tx, override.identityId);
    const name = await featureName(tx, override.featureId);
    await tx.delete(featureStates).where(eq(featureStates.id, featureStateId));
    await commitChange(
      tx,
      actor,
      {
        ...auditBase(context),
        featureId: override.featureId,
        action: "identity_override.deleted",
        resourceType: "identity_override",
        resourceId: featureStateId,
        summary: `Feature "${name}" override for identity "${context.identity.identifier}" in "${context.environmentName}" removed`,
        before: { identityId: override.identityId, identifier: context.identity.identifier, enabled: override.enabled, value: override.value ?? null },
      },
      { environmentIds: [override.environmentId] },
    );
    return override;
  });
  bindContext({ "environment.id": state.environmentId });
  log.info("identity_override.deleted", { identity__id: state.identityId, feature__id: state.featureId, feature_state__id: featureStateId });
}

