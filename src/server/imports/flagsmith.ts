/**
 * Importing one Flagsmith environment from its environment document (the body of Flagsmith's
 * `GET /api/v1/environment-document/`), so that SDKs can switch to Flagpost without any identity
 * changing bucket or flag:
 *
 * - the environment keeps the document's own client key (`api_key`), so existing SDK keys keep working;
 * - segments keep their Flagsmith id as `document_id` (the PERCENTAGE_SPLIT hashing key);
 * - feature states keep their `django_id` as `hashing_seed` (the multivariate hashing seed);
 * - multivariate allocations are inserted in the document's MV id order, so the variant order is kept;
 * - segment override priorities, values, `enabled`, identity overrides (with `django_id`) are kept.
 *
 * `buildEnvironmentDocument` (documents/build.ts) is the inverse: an imported document, rebuilt,
 * evaluates exactly like the original.
 *
 * Everything happens in ONE transaction — project (if new), environment, features, options, segments,
 * states, identities, the audit row and the document-write job (`commitChange`) — so a failure leaves
 * nothing behind and no half-imported environment is ever published. A server-side key is created
 * after the commit.
 *
 * Policies for an existing project:
 * - features match by name case-insensitively; a different spelling (case), a different server-key-only
 *   setting, or a feature still being created is a CONFLICT (SDKs look flags up by exact name);
 *   a STANDARD feature becomes MULTIVARIATE when the document allocates variants;
 * - multivariate options match by value + key; a variant key with another value is a CONFLICT; new
 *   options on existing features get a default allocation of 0 % (other environments are unchanged);
 * - segments are reused when a segment with the same document id has the same name and rules
 *   (importing a second environment of the same Flagsmith project); otherwise, or when another
 *   segment has the name, CONFLICT;
 * - the client key must not exist anywhere (CONFLICT); the environment name gets " (2)", " (3)", …
 *   when taken.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { commitChange } from "@/server/audit/change";
import type { Actor } from "@/server/auth/principal";
import { sha256 } from "@/server/auth/crypto";
import { getDb, type Executor } from "@/server/db/client";
import {
  environmentApiKeys,
  environments,
  featureStates,
  features,
  identities,
  multivariateOptions,
  multivariateStateValues,
  organisations,
  projects,
  segments,
  traits,
  type StoredRule,
  type StoredValue,
} from "@/server/db/schema";
import { createServerKey } from "@/server/environments/service";
import { conflict, DomainError, isUniqueViolation, notFound } from "@/server/errors";
import { insertMissingStatesForEnvironment } from "@/server/features/seeding";
import { idArray, seedAllocations } from "@/server/features/states";
import { bindContext } from "@/server/observability/context";
import { getLogger } from "@/server/observability/logger";
import { plural } from "@/server/text";
import {
  jsonPath,
  MAX_NAME_LENGTH,
  optionIdentity,
  parseFlagsmithDocument,
  toStoredRules,
  type ParsedDocument,
  type ParsedFeatureState,
} from "./validation";

const log = getLogger("imports");

export const DEFAULT_PROJECT_NAME = "Imported from Flagsmith";
export const DEFAULT_ENVIRONMENT_NAME = "Imported environment";
export const DEFAULT_SERVER_KEY_NAME = "Flagsmith import";
/** Rows per INSERT statement (well under PostgreSQL's 65,535 bind parameters). */
const CHUNK = 1000;

export interface ImportTarget {
  organisationId: number;
  /** Import into this project (of the organisation); else find or create the project by name. */
  projectId?: number;
  /** Default: the document's project name. */
  projectName?: string;
}

export type ImportStage = "validated" | "project" | "features" | "segments" | "states" | "identities" | "committed" | "server_key";

export interface ImportProgress {
  stage: ImportStage;
  /** Items of the stage done so far (identity overrides for `identities`). */
  done: number;
  total: number;
}

export interface ImportOptions {
  /** Called at each stage, and every `progressEvery` identity overrides (default 1,000). */
  onProgress?: (progress: ImportProgress) => void;
  progressEvery?: number;
  serverKeyName?: string;
  /**
   * Apply only if the import would do exactly what a preview showed (its `planHash`); otherwise
   * CONFLICT (field `planHash`) and nothing is written.
   */
  expectedPlanHash?: string;
}

/** Lists in a plan stop after this many entries (the counts are always complete). */
export const PLAN_LIST_LIMIT = 500;

/**
 * What an import does (or did), computed by the import itself: a preview runs the real import in a
 * transaction that is rolled back, so a preview and the import that follows cannot disagree (and
 * `expectedPlanHash` refuses an import whose plan changed in between).
 */
export interface ImportPlan {
  project: { id: number; name: string; created: boolean };
  /** The new environment's name (the document's, with " (2)" … when taken) and its client key. */
  environment: { name: string; documentName: string | null; clientKey: string };
  counts: ImportResult["counts"] & { featuresChanged: number; identitiesWithTraits: number; identityFeatureStates: number };
  /** `create`: a new feature; `reuse`: an existing one, unchanged; `update`: an existing one that becomes multivariate. */
  features: { name: string; action: "create" | "reuse" | "update"; type: "STANDARD" | "MULTIVARIATE"; enabled: boolean; newVariants: number }[];
  segments: { name: string; action: "create" | "reuse"; overrides: number }[];
  /** The first identifiers with identity overrides (the count is in `counts.identityOverrides`). */
  identities: string[];
  /** The project's other environments (they get new features switched off, and new variants at 0 %). */
  otherEnvironments: string[];
  /** Project features the document does not mention: the new environment gets their project defaults. */
  unmentionedFeatures: string[];
  warnings: string[];
}

export interface ImportPreview {
  plan: ImportPlan;
  /** sha256 of the plan: pass it as `expectedPlanHash` to import exactly what was previewed. */
  planHash: string;
}

export interface ImportResult {
  plan: ImportPlan;
  planHash: string;
  environmentId: number;
  /** The client key: the document's own `api_key`. */
  environmentKey: string;
  environmentName: string;
  projectId: number;
  projectCreated: boolean;
  /** A new server-side key (`ser.…`), shown once. */
  serverKey: string;
  counts: {
    features: number;
    featuresCreated: number;
    segments: number;
    segmentsCreated: number;
    segmentOverrides: number;
    identityOverrides: number;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Canonical JSON of rules (fixed key order, absent lists as []), for equality. */
function canonicalRules(rules: readonly StoredRule[]): string {
  const normalise = (list: readonly StoredRule[]): unknown[] =>
    list.map((rule) => [rule.type, (rule.conditions ?? []).map((c) => [c.operator, c.property ?? null, c.value ?? null]), normalise(rule.rules ?? [])]);
  return JSON.stringify(normalise(rules));
}

function sameValue(a: StoredValue | undefined, b: StoredValue | undefined): boolean {
  return (a ?? null) === (b ?? null);
}

function documentConflict(path: string, message: string): DomainError {
  return conflict(`${path}: ${message}`, "document");
}

/** The environment name: the document's, with " (2)", " (3)", … when the project already has it. */
function freeName(base: string, taken: Set<string>): string {
  if (!taken.has(base.toLowerCase())) return base;
  for (let n = 2; ; n++) {
    const suffix = ` (${n})`;
    const candidate = base.slice(0, MAX_NAME_LENGTH - suffix.length) + suffix;
    if (!taken.has(candidate.toLowerCase())) return candidate;
  }
}

/** Every feature state of the document with its JSON path, in document order. */
function allStates(doc: ParsedDocument): { state: ParsedFeatureState; path: (string | number)[] }[] {
  const out: { state: ParsedFeatureState; path: (string | number)[] }[] = [];
  doc.feature_states.forEach((state, i) => out.push({ state, path: ["feature_states", i] }));
  doc.project.segments.forEach((segment, i) =>
    segment.feature_states.forEach((state, j) => out.push({ state, path: ["project", "segments", i, "feature_states", j] })),
  );
  doc.identity_overrides.forEach((identity, i) =>
    identity.identity_features.forEach((state, j) => out.push({ state, path: ["identity_overrides", i, "identity_features", j] })),
  );
  return out;
}

interface PlannedOption {
  identity: string;
  value: StoredValue;
  key: string | null;
  /** Smallest MV value id allocating it: Flagsmith creates those with the option, so this is creation order. */
  order: number;
  /** Allocation in the environment default (the option's default allocation for a new feature). */
  defaultAllocation: number;
  path: string;
}

/** Distinct options per document feature id, in creation order. */
function planOptions(doc: ParsedDocument): Map<number, PlannedOption[]> {
  const byFeature = new Map<number, Map<string, PlannedOption>>();
  const defaults = new Set(doc.feature_states);
  for (const { state, path } of allStates(doc)) {
    const options = byFeature.get(state.feature.id) ?? new Map<string, PlannedOption>();
    byFeature.set(state.feature.id, options);
    state.multivariate_feature_state_values.forEach((mv, index) => {
      const option = mv.multivariate_feature_option;
      const identity = optionIdentity(option);
      const planned = options.get(identity);
      const allocation = defaults.has(state) ? mv.percentage_allocation : 0;
      if (planned) {
        planned.order = Math.min(planned.order, mv.id);
        planned.defaultAllocation = Math.max(planned.defaultAllocation, allocation);
      } else {
        options.set(identity, {
          identity,
          value: option.value,
          key: option.key,
          order: mv.id,
          defaultAllocation: allocation,
          path: jsonPath([...path, "multivariate_feature_state_values", index, "multivariate_feature_option"]),
        });
      }
    });
  }
  const out = new Map<number, PlannedOption[]>();
  for (const [featureId, options] of byFeature) out.set(featureId, [...options.values()].sort((a, b) => a.order - b.order));
  return out;
}

/** Thrown at the end of a dry run's transaction so that it rolls back; carries what the import would have done. */
class DryRunRollback extends Error {
  constructor(readonly preview: ImportPreview) {
    super("dry run: rolled back");
  }
}

export function hashPlan(plan: ImportPlan): string {
  return sha256(JSON.stringify(plan));
}

function limited<T>(items: readonly T[]): T[] {
  return items.slice(0, PLAN_LIST_LIMIT);
}

function planWarnings(plan: Omit<ImportPlan, "warnings">, documentFeatureCount: number): string[] {
  const warnings: string[] = [];
  if (plan.environment.documentName !== null && plan.environment.name !== plan.environment.documentName) {
    warnings.push(`The project already has an environment called "${plan.environment.documentName}": the imported one will be called "${plan.environment.name}".`);
  } else if (plan.environment.documentName === null) {
    warnings.push(`The document has no environment name: the environment will be called "${plan.environment.name}".`);
  }
  const updated = plan.features.filter((f) => f.action === "update");
  if (plan.counts.featuresChanged > 0) {
    warnings.push(`${plural(plan.counts.featuresChanged, "existing feature")} will become multivariate in every environment of the project: ${updated.map((f) => `"${f.name}"`).join(", ")}.`);
  }
  const newVariants = plan.features.filter((f) => f.action !== "create").reduce((sum, f) => sum + f.newVariants, 0);
  if (newVariants > 0 && plan.otherEnvironments.length > 0) {
    warnings.push(`${plural(newVariants, "new variant")} of existing features will start at 0 % in the project's other environments.`);
  }
  if (plan.counts.featuresCreated > 0 && plan.otherEnvironments.length > 0) {
    warnings.push(
      `${plural(plan.counts.featuresCreated, "new feature")} will also be added, switched off, to ${plural(plan.otherEnvironments.length, "other environment")} (${plan.otherEnvironments.join(", ")}).`,
    );
  }
  if (plan.unmentionedFeatures.length > 0) {
    warnings.push(`${plural(plan.unmentionedFeatures.length, "project feature")} not in the document will get their project defaults in the new environment.`);
  }
  if (documentFeatureCount === 0) warnings.push("The document has no features.");
  return warnings;
}

// ---------------------------------------------------------------------------------------------------------------
// The import

interface Context {
  tx: Executor;
  doc: ParsedDocument;
  environmentId: number;
  projectId: number;
  /** Document feature id → Flagpost feature id. */
  featureIds: Map<number, number>;
  /** Document feature id → (option identity → Flagpost option id). */
  optionIds: Map<number, Map<string, number>>;
}

/** Inserts states (one INSERT per chunk) and their allocations in the document's MV id order; returns state ids. */
async function insertStates(
  ctx: Context,
  rows: { state: ParsedFeatureState; segmentId?: number; identityId?: number; priority?: number | null }[],
): Promise<void> {
  for (const batch of chunks(rows)) {
    const inserted = await ctx.tx
      .insert(featureStates)
      .values(
        batch.map(({ state, segmentId, identityId, priority }) => ({
          featureId: ctx.featureIds.get(state.feature.id)!,
          environmentId: ctx.environmentId,
          segmentId: segmentId ?? null,
          identityId: identityId ?? null,
          enabled: state.enabled,
          value: state.feature_state_value,
          priority: priority ?? null,
          hashingSeed: state.django_id ?? undefined,
          uuid: state.featurestate_uuid ?? undefined,
        })),
      )
      .returning({ id: featureStates.id, featureId: featureStates.featureId, segmentId: featureStates.segmentId, identityId: featureStates.identityId });
    const stateIds = new Map(inserted.map((row) => [`${row.featureId}:${row.segmentId ?? ""}:${row.identityId ?? ""}`, row.id]));
    const allocations: (typeof multivariateStateValues.$inferInsert)[] = [];
    for (const { state, segmentId, identityId } of batch) {
      if (state.multivariate_feature_state_values.length === 0) continue;
      const featureId = ctx.featureIds.get(state.feature.id)!;
      const stateId = stateIds.get(`${featureId}:${segmentId ?? ""}:${identityId ?? ""}`)!;
      const options = ctx.optionIds.get(state.feature.id)!;
      // Ascending document ids → ascending row ids: the variant order (and so every bucket) is kept.
      for (const mv of [...state.multivariate_feature_state_values].sort((a, b) => a.id - b.id)) {
        allocations.push({
          featureStateId: stateId,
          optionId: options.get(optionIdentity(mv.multivariate_feature_option))!,
          percentageAllocation: mv.percentage_allocation,
          uuid: mv.mv_fs_value_uuid ?? undefined,
        });
      }
    }
    for (const part of chunks(allocations)) await ctx.tx.insert(multivariateStateValues).values(part);
  }
}

async function resolveProject(
  tx: Executor,
  actor: Actor,
  doc: ParsedDocument,
  target: ImportTarget,
): Promise<{ id: number; name: string; created: boolean }> {
  const [organisation] = await tx.select({ id: organisations.id }).from(organisations).where(eq(organisations.id, target.organisationId));
  if (!organisation) throw notFound("Organisation");
  if (target.projectId !== undefined) {
    // Locked: imports into one project run one at a time.
    const [project] = await tx
      .select({ id: projects.id, name: projects.name })
      .from(projects)
      .where(and(eq(projects.id, target.projectId), eq(projects.organisationId, target.organisationId)))
      .for("update");
    if (!project) throw notFound("Project");
    return { id: project.id, name: project.name, created: false };
  }
  const name = (target.projectName?.trim() || doc.project.name || DEFAULT_PROJECT_NAME).slice(0, MAX_NAME_LENGTH);
  const [existing] = await tx
    .select({ id: projects.id, name: projects.name })
    .from(projects)
    .where(and(eq(projects.organisationId, target.organisationId), sql`lower(${projects.name}) = lower(${name})`))
    .for("update");
  if (existing) return { id: existing.id, name: existing.name, created: false };
  const [created] = await tx
    .insert(projects)
    .values({
      organisationId: target.organisationId,
      name,
      hideDisabledFlags: doc.project.hide_disabled_flags,
      enableRealtimeUpdates: doc.project.enable_realtime_updates,
    })
    .returning({ id: projects.id });
  await commitChange(
    tx,
    actor,
    {
      organisationId: target.organisationId,
      projectId: created.id,
      action: "project.created",
      resourceType: "project",
      resourceId: created.id,
      summary: `Project "${name}" created by a Flagsmith import`,
      after: { name },
    },
    null,
  );
  return { id: created.id, name, created: true };
}

async function checkClientKeyFree(tx: Executor, apiKey: string): Promise<void> {
  const [environment] = await tx.select({ id: environments.id }).from(environments).where(eq(environments.apiKey, apiKey)).limit(1);
  const [serverKey] = await tx.select({ id: environmentApiKeys.id }).from(environmentApiKeys).where(eq(environmentApiKeys.keyHash, sha256(apiKey))).limit(1);
  if (environment || serverKey) {
    throw documentConflict("$.api_key", `an environment with the client key "${apiKey}" already exists in this Flagpost installation (keys are global); delete it first or import the document with another api_key`);
  }
}

/** Matches or creates the document's features; returns document id → Flagpost id and what was created. */
async function importFeatures(
  tx: Executor,
  doc: ParsedDocument,
  projectId: number,
  plannedOptions: Map<number, PlannedOption[]>,
): Promise<{ featureIds: Map<number, number>; created: number[]; changed: boolean; actions: Map<number, "create" | "reuse" | "update">; unmentioned: string[] }> {
  const existing = await tx.select().from(features).where(eq(features.projectId, projectId)).orderBy(features.id).for("update");
  const actions = new Map<number, "create" | "reuse" | "update">();
  const byLowerName = new Map(existing.map((f) => [f.name.toLowerCase(), f]));
  const serverKeyOnly = new Set(doc.project.server_key_only_feature_ids);
  const featureIds = new Map<number, number>();
  const toCreate: (typeof features.$inferInsert)[] = [];
  const toCreateDocIds: number[] = [];
  let changed = false;
  // Features are created in Flagsmith id order (so the project's feature order follows Flagsmith's).
  const ordered = doc.feature_states.map((state, index) => ({ state, index })).sort((a, b) => a.state.feature.id - b.state.feature.id);
  for (const { state, index } of ordered) {
    const path = jsonPath(["feature_states", index, "feature"]);
    const isServerKeyOnly = serverKeyOnly.has(state.feature.id);
    const multivariate = state.feature.type === "MULTIVARIATE" || (plannedOptions.get(state.feature.id)?.length ?? 0) > 0;
    const match = byLowerName.get(state.feature.name.toLowerCase());
    if (match) {
      if (match.name !== state.feature.name) {
        throw documentConflict(`${path}.name`, `the project has this feature as "${match.name}"; SDKs look flags up by exact name, so rename one of them first`);
      }
      if (match.isCreating) throw documentConflict(`${path}.name`, `feature "${match.name}" is being created right now; try again`);
      if (match.isServerKeyOnly !== isServerKeyOnly) {
        throw documentConflict(
          `${path}.id`,
          `feature "${match.name}" is ${match.isServerKeyOnly ? "" : "not "}server-key-only in this project but ${isServerKeyOnly ? "is" : "is not"} in $.project.server_key_only_feature_ids`,
        );
      }
      if (multivariate && match.type !== "MULTIVARIATE") {
        await tx.update(features).set({ type: "MULTIVARIATE", updatedAt: new Date() }).where(eq(features.id, match.id));
        changed = true;
        actions.set(state.feature.id, "update");
      } else {
        actions.set(state.feature.id, "reuse");
      }
      featureIds.set(state.feature.id, match.id);
    } else {
      toCreate.push({
        projectId,
        name: state.feature.name,
        type: multivariate ? "MULTIVARIATE" : "STANDARD",
        // Off by default: the imported environment gets its own state from the document, and the
        // project's other environments (e.g. Production, when importing Development) must not
        // have a flag switched on by an import.
        defaultEnabled: false,
        initialValue: state.feature_state_value,
        isServerKeyOnly,
      });
      toCreateDocIds.push(state.feature.id);
      actions.set(state.feature.id, "create");
    }
  }
  const created: number[] = [];
  for (const [batchIndex, batch] of chunks(toCreate).entries()) {
    const rows = await tx.insert(features).values(batch).returning({ id: features.id, name: features.name });
    const idByName = new Map(rows.map((r) => [r.name, r.id]));
    batch.forEach((feature, i) => {
      const id = idByName.get(feature.name)!;
      featureIds.set(toCreateDocIds[batchIndex * CHUNK + i], id);
      created.push(id);
    });
  }
  const matched = new Set(featureIds.values());
  const unmentioned = existing.filter((f) => !matched.has(f.id)).map((f) => f.name);
  return { featureIds, created, changed: changed || created.length > 0, actions, unmentioned };
}

/** Matches (by value + key) or creates the options of every document feature. */
async function importOptions(
  tx: Executor,
  featureIds: Map<number, number>,
  createdFeatures: Set<number>,
  plannedOptions: Map<number, PlannedOption[]>,
): Promise<{ optionIds: Map<number, Map<string, number>>; addedToExisting: number[]; newOptions: Map<number, number> }> {
  const optionIds = new Map<number, Map<string, number>>();
  const newOptions = new Map<number, number>();
  const addedToExisting: number[] = [];
  const flagpostIds = [...plannedOptions.keys()].map((docId) => featureIds.get(docId)!).filter((id) => !createdFeatures.has(id));
  const existing = flagpostIds.length > 0 ? await tx.select().from(multivariateOptions).where(inArray(multivariateOptions.featureId, flagpostIds)) : [];
  for (const [docFeatureId, planned] of plannedOptions) {
    const featureId = featureIds.get(docFeatureId)!;
    const isNew = createdFeatures.has(featureId);
    const available = existing.filter((o) => o.featureId === featureId).sort((a, b) => a.id - b.id);
    const ids = new Map<string, number>();
    optionIds.set(docFeatureId, ids);
    const toCreate: PlannedOption[] = [];
    for (const option of planned) {
      const index =
        option.key !== null
          ? available.findIndex((o) => o.key === option.key)
          : available.findIndex((o) => o.key === null && sameValue(o.value, option.value));
      if (index >= 0) {
        const match = available[index];
        if (!sameValue(match.value, option.value)) {
          throw documentConflict(option.path, `variant key "${option.key}" already exists on this feature with another value`);
        }
        ids.set(option.identity, match.id);
        available.splice(index, 1);
      } else {
        toCreate.push(option);
      }
    }
    if (toCreate.length === 0) continue;
    newOptions.set(docFeatureId, toCreate.length);
    const rows = await tx
      .insert(multivariateOptions)
      .values(
        toCreate.map((option) => ({
          featureId,
          value: option.value,
          key: option.key,
          // A new feature takes the allocations of this environment as its defaults; an option added to an
          // existing feature starts at 0 % so the project's other environments keep their buckets.
          defaultPercentageAllocation: isNew ? option.defaultAllocation : 0,
        })),
      )
      .returning({ id: multivariateOptions.id });
    // Row ids ascend in VALUES order.
    const sorted = rows.map((r) => r.id).sort((a, b) => a - b);
    toCreate.forEach((option, i) => ids.set(option.identity, sorted[i]));
    if (!isNew) addedToExisting.push(...sorted);
  }
  return { optionIds, addedToExisting, newOptions };
}

/** Reuses (same document id, name and rules) or creates the document's segments; document id → Flagpost id. */
async function importSegments(tx: Executor, doc: ParsedDocument, projectId: number): Promise<{ segmentIds: Map<number, number>; created: number; reused: Set<number> }> {
  const existing = await tx
    .select({ id: segments.id, documentId: sql<number>`coalesce(${segments.documentId}, ${segments.id})`, name: segments.name, rules: segments.rules, featureId: segments.featureId })
    .from(segments)
    .where(eq(segments.projectId, projectId))
    .for("update");
  const byDocumentId = new Map(existing.map((s) => [Number(s.documentId), s]));
  const byLowerName = new Map(existing.map((s) => [s.name.toLowerCase(), s]));
  const segmentIds = new Map<number, number>();
  const reused = new Set<number>();
  const toCreate: (typeof segments.$inferInsert)[] = [];
  doc.project.segments.forEach((segment, index) => {
    const path = jsonPath(["project", "segments", index]);
    const rules = toStoredRules(segment.rules);
    const same = byDocumentId.get(segment.id);
    if (same) {
      if (same.name !== segment.name || same.featureId !== null || canonicalRules(same.rules) !== canonicalRules(rules)) {
        throw documentConflict(
          path,
          `segment ${segment.id} already exists in this project as "${same.name}" with ${same.name !== segment.name ? "another name" : same.featureId !== null ? "a feature scope" : "other rules"}; its id is its percentage-split hashing key, so it can only be reused unchanged`,
        );
      }
      segmentIds.set(segment.id, same.id);
      reused.add(segment.id);
      return;
    }
    const sameName = byLowerName.get(segment.name.toLowerCase());
    if (sameName) {
      throw documentConflict(`${path}.name`, `another segment of this project is called "${sameName.name}" (segment ids differ: ${Number(sameName.documentId)} here, ${segment.id} in the document)`);
    }
    toCreate.push({ projectId, name: segment.name, rules, documentId: segment.id, description: "Imported from Flagsmith" });
  });
  for (const batch of chunks(toCreate)) {
    const rows = await tx.insert(segments).values(batch).returning({ id: segments.id, documentId: segments.documentId });
    for (const row of rows) segmentIds.set(row.documentId!, row.id);
  }
  return { segmentIds, created: toCreate.length, reused };
}

/**
 * Imports a Flagsmith environment document (see the module comment). Throws BAD_REQUEST (field `document`,
 * message `<JSON path>: <problem>`) for an invalid document and CONFLICT for a clash with existing data;
 * in both cases nothing is written.
 */
export async function importFlagsmithEnvironment(
  actor: Actor,
  document: unknown,
  target: ImportTarget,
  options: ImportOptions = {},
): Promise<ImportResult> {
  return (await runImport(actor, document, target, options, false)) as ImportResult;
}

/**
 * What `importFlagsmithEnvironment` would do, without writing anything: the same import runs in a
 * transaction that is rolled back at its end (no row, audit entry, job or notification survives;
 * sequences may advance). Throws what the import would throw (BAD_REQUEST, CONFLICT).
 */
export async function previewFlagsmithImport(actor: Actor, document: unknown, target: ImportTarget): Promise<ImportPreview> {
  const preview = await runImport(actor, document, target, {}, true);
  log.info("environment.import_previewed", { project__id: preview.plan.project.created ? undefined : preview.plan.project.id, features__count: preview.plan.counts.features });
  return { plan: preview.plan, planHash: preview.planHash };
}

async function runImport(actor: Actor, document: unknown, target: ImportTarget, options: ImportOptions, dryRun: boolean): Promise<ImportResult | ImportPreview> {
  const doc = parseFlagsmithDocument(document);
  const progress = options.onProgress ?? (() => undefined);
  const every = Math.max(1, options.progressEvery ?? 1000);
  progress({ stage: "validated", done: 1, total: 1 });

  const plannedOptions = planOptions(doc);
  let result: Omit<ImportResult, "serverKey">;
  try {
    result = await getDb().transaction(async (tx) => {
      const project = await resolveProject(tx, actor, doc, target);
      progress({ stage: "project", done: 1, total: 1 });
      await checkClientKeyFree(tx, doc.api_key);

      const takenNames = await tx.select({ name: environments.name }).from(environments).where(eq(environments.projectId, project.id)).orderBy(environments.id);
      const environmentName = freeName(doc.name ?? DEFAULT_ENVIRONMENT_NAME, new Set(takenNames.map((e) => e.name.toLowerCase())));
      const [environment] = await tx
        .insert(environments)
        .values({
          projectId: project.id,
          name: environmentName,
          description: typeof doc.id === "number" ? `Imported from Flagsmith (environment ${doc.id})` : "Imported from Flagsmith",
          apiKey: doc.api_key,
          allowClientTraits: doc.allow_client_traits,
          hideDisabledFlags: doc.hide_disabled_flags,
          useIdentityCompositeKeyForHashing: doc.use_identity_composite_key_for_hashing,
          useIdentityOverridesInLocalEval: doc.use_identity_overrides_in_local_eval,
          hideSensitiveData: doc.hide_sensitive_data,
          isCreating: false,
        })
        .returning({ id: environments.id });

      const featureResult = await importFeatures(tx, doc, project.id, plannedOptions);
      const createdFeatures = new Set(featureResult.created);
      const { optionIds, addedToExisting, newOptions } = await importOptions(tx, featureResult.featureIds, createdFeatures, plannedOptions);
      progress({ stage: "features", done: doc.feature_states.length, total: doc.feature_states.length });

      const segmentResult = await importSegments(tx, doc, project.id);
      progress({ stage: "segments", done: doc.project.segments.length, total: doc.project.segments.length });

      const ctx: Context = { tx, doc, environmentId: environment.id, projectId: project.id, featureIds: featureResult.featureIds, optionIds };
      await insertStates(
        ctx,
        doc.feature_states.map((state) => ({ state })),
      );
      const overrides = doc.project.segments.flatMap((segment) =>
        segment.feature_states.map((state) => ({ state, segmentId: segmentResult.segmentIds.get(segment.id)!, priority: state.feature_segment?.priority ?? null })),
      );
      await insertStates(ctx, overrides);
      progress({ stage: "states", done: doc.feature_states.length + overrides.length, total: doc.feature_states.length + overrides.length });

      // Identity overrides, a chunk at a time.
      const total = doc.identity_overrides.length;
      let done = 0;
      let reported = 0;
      for (const batch of chunks(doc.identity_overrides)) {
        const rows = await tx
          .insert(identities)
          .values(
            batch.map((identity) => ({
              environmentId: environment.id,
              identifier: identity.identifier,
              djangoId: identity.django_id,
              uuid: identity.identity_uuid ?? undefined,
              createdAt: identity.created_date ?? undefined,
            })),
          )
          .returning({ id: identities.id, identifier: identities.identifier });
        const identityIds = new Map(rows.map((r) => [r.identifier, r.id]));
        const traitRows: (typeof traits.$inferInsert)[] = [];
        for (const identity of batch) {
          // Later entries win, as in the SDKs.
          const byKey = new Map(identity.identity_traits.map((t) => [t.trait_key, t.trait_value]));
          for (const [key, value] of byKey) traitRows.push({ identityId: identityIds.get(identity.identifier)!, key, value });
        }
        for (const part of chunks(traitRows)) await tx.insert(traits).values(part);
        await insertStates(
          ctx,
          batch.flatMap((identity) => identity.identity_features.map((state) => ({ state, identityId: identityIds.get(identity.identifier)! }))),
        );
        done += batch.length;
        if (done - reported >= every || done === total) {
          reported = done;
          progress({ stage: "identities", done, total });
        }
      }

      // Project features the document does not mention get their defaults here …
      await insertMissingStatesForEnvironment(tx, environment.id);
      // … and the project's other environments get states for the new features and options.
      if (featureResult.created.length > 0) {
        const seeded = await tx.execute<{ id: number }>(sql`
          insert into feature_states (feature_id, environment_id, enabled, value)
          select f.id, e.id, f.default_enabled, f.initial_value
            from features f
            join environments e on e.project_id = f.project_id
           where f.id = any(${idArray(featureResult.created)}) and e.id <> ${environment.id}
           order by f.id, e.id
          on conflict do nothing
          returning id`);
        await seedAllocations(tx, seeded.rows.map((r) => r.id));
      }
      if (addedToExisting.length > 0) {
        await tx.execute(sql`
          insert into multivariate_state_values (feature_state_id, option_id, percentage_allocation)
          select s.id, o.id, o.default_percentage_allocation
            from feature_states s
            join multivariate_options o on o.feature_id = s.feature_id
           where o.id = any(${idArray(addedToExisting)})
             and s.segment_id is null and s.identity_id is null and s.environment_id <> ${environment.id}
           order by s.id, o.id
          on conflict do nothing`);
      }

      const projectChanged = featureResult.changed || segmentResult.created > 0 || addedToExisting.length > 0;
      const counts = {
        features: doc.feature_states.length,
        featuresCreated: featureResult.created.length,
        segments: doc.project.segments.length,
        segmentsCreated: segmentResult.created,
        segmentOverrides: overrides.length,
        identityOverrides: total,
      };
      const segmentOverrideCounts = new Map(doc.project.segments.map((segment) => [segment.id, segment.feature_states.length]));
      const planned: Omit<ImportPlan, "warnings"> = {
        project: { id: project.id, name: project.name, created: project.created },
        environment: { name: environmentName, documentName: doc.name, clientKey: doc.api_key },
        counts: {
          ...counts,
          featuresChanged: [...featureResult.actions.values()].filter((action) => action === "update").length,
          identitiesWithTraits: doc.identity_overrides.filter((identity) => identity.identity_traits.length > 0).length,
          identityFeatureStates: doc.identity_overrides.reduce((sum, identity) => sum + identity.identity_features.length, 0),
        },
        features: limited(
          [...doc.feature_states]
            .sort((a, b) => a.feature.id - b.feature.id)
            .map((state) => ({
              name: state.feature.name,
              action: featureResult.actions.get(state.feature.id)!,
              type: (state.feature.type === "MULTIVARIATE" || (plannedOptions.get(state.feature.id)?.length ?? 0) > 0 ? "MULTIVARIATE" : "STANDARD") as "STANDARD" | "MULTIVARIATE",
              enabled: state.enabled,
              newVariants: newOptions.get(state.feature.id) ?? 0,
            })),
        ),
        segments: limited(
          doc.project.segments.map((segment) => ({
            name: segment.name,
            action: segmentResult.reused.has(segment.id) ? ("reuse" as const) : ("create" as const),
            overrides: segmentOverrideCounts.get(segment.id) ?? 0,
          })),
        ),
        identities: limited(doc.identity_overrides.map((identity) => identity.identifier)),
        otherEnvironments: takenNames.map((e) => e.name),
        unmentionedFeatures: limited(featureResult.unmentioned),
      };
      const plan: ImportPlan = { ...planned, warnings: planWarnings(planned, doc.feature_states.length) };
      const planHash = hashPlan(plan);
      if (dryRun) throw new DryRunRollback({ plan, planHash });
      if (options.expectedPlanHash !== undefined && options.expectedPlanHash !== planHash) {
        throw conflict("The project changed since the preview, so the import would now do something else; preview it again", "planHash");
      }
      await commitChange(
        tx,
        actor,
        {
          organisationId: target.organisationId,
          projectId: project.id,
          environmentId: environment.id,
          action: "environment.imported",
          resourceType: "environment",
          resourceId: environment.id,
          summary: `Environment "${environmentName}" imported from Flagsmith (${plural(counts.features, "feature")}, ${counts.featuresCreated} new; ${plural(counts.segments, "segment")}, ${counts.segmentsCreated} new; ${plural(counts.segmentOverrides, "segment override")}; ${plural(counts.identityOverrides, "identity override")})`,
          after: { name: environmentName, flagsmithEnvironmentId: typeof doc.id === "number" ? doc.id : null, ...counts },
        },
        // New features, options or segments appear in every environment of the project.
        projectChanged ? { projectId: project.id } : { environmentIds: [environment.id] },
      );
      return { plan, planHash, environmentId: environment.id, environmentKey: doc.api_key, environmentName, projectId: project.id, projectCreated: project.created, counts };
    });
  } catch (error) {
    // The dry run's rollback: what the import would have done.
    if (error instanceof DryRunRollback) return error.preview;
    throw mapImportError(error);
  }
  progress({ stage: "committed", done: 1, total: 1 });
  bindContext({ "project.id": result.projectId, "environment.id": result.environmentId });
  log.info("environment.imported", {
    project__id: result.projectId,
    environment__id: result.environmentId,
    features__count: result.counts.features,
    segments__count: result.counts.segments,
    identity_overrides__count: result.counts.identityOverrides,
  });

  const serverKey = await createServerKey(actor, result.environmentId, options.serverKeyName ?? DEFAULT_SERVER_KEY_NAME);
  progress({ stage: "server_key", done: 1, total: 1 });
  return { ...result, serverKey: serverKey.key };
}

/** Unique violations from concurrent changes (the import checked before inserting) as CONFLICTs. */
function mapImportError(error: unknown): unknown {
  if (error instanceof DomainError) return error;
  const messages: Record<string, string> = {
    environments_api_key_uq: "$.api_key: an environment with this client key was created meanwhile",
    environments_project_name_lower_uq: "$.name: an environment with this name was created meanwhile; try again",
    projects_org_name_lower_uq: "$.project.name: a project with this name was created meanwhile; try again",
    features_project_name_lower_uq: "$.feature_states: a feature with one of these names was created meanwhile; try again",
    segments_project_name_lower_uq: "$.project.segments: a segment with one of these names was created meanwhile; try again",
    segments_project_document_id_uq: "$.project.segments: a segment with one of these ids was created meanwhile; try again",
    multivariate_options_feature_key_uq: "$.feature_states: a variant key was created meanwhile; try again",
  };
  for (const [constraint, message] of Object.entries(messages)) {
    if (isUniqueViolation(error, constraint)) return conflict(message, "document");
  }
  return error;
}

// ---------------------------------------------------------------------------------------------------------------
// Organisation for the command-line import

export type OrganisationChoice = { kind: "found" | "created"; id: number; name: string } | { kind: "ambiguous"; ids: number[]; name: string };

/**
 * The organisation called `name` (case-insensitive), or a new one (with the document's organisation
 * settings, and no members: the caller adds an admin). Several with that name → `ambiguous`.
 */
export async function findOrCreateOrganisation(
  actor: Actor,
  name: string,
  settingsFrom?: { persistTraitData?: boolean; featureAnalytics?: boolean; stopServingFlags?: boolean },
): Promise<OrganisationChoice> {
  return getDb().transaction(async (tx) => {
    const found = await tx
      .select({ id: organisations.id, name: organisations.name })
      .from(organisations)
      .where(sql`lower(${organisations.name}) = lower(${name})`)
      .orderBy(organisations.id);
    if (found.length > 1) return { kind: "ambiguous", ids: found.map((o) => o.id), name };
    if (found.length === 1) return { kind: "found", id: found[0].id, name: found[0].name };
    const [created] = await tx
      .insert(organisations)
      .values({
        name,
        persistTraitData: settingsFrom?.persistTraitData ?? true,
        featureAnalytics: settingsFrom?.featureAnalytics ?? false,
        stopServingFlags: settingsFrom?.stopServingFlags ?? false,
      })
      .returning({ id: organisations.id });
    await commitChange(
      tx,
      actor,
      {
        organisationId: created.id,
        action: "organisation.created",
        resourceType: "organisation",
        resourceId: created.id,
        summary: `Organisation "${name}" created by a Flagsmith import`,
        after: { name },
      },
      null,
    );
    log.info("organisation.created", { organisation__id: created.id });
    return { kind: "created", id: created.id, name };
  });
}
