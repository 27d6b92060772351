/**
 * Flag analytics: SDKs report evaluation counts per feature name (`POST /api/v1/analytics/flags/`,
 * flagsmith-nodejs flushes at most every 10 s); we keep hourly sums per environment and feature name
 * in `feature_evaluations`, and the UI charts them (`sdk.analytics`).
 *
 * Decisions: counts for feature names that are not in the environment's current document are
 * dropped (counted in `flagsmith_sdk_analytics_evaluations_total{result="dropped"}`), so arbitrary
 * names cannot grow the table; history is keyed by feature name (as Flagsmith's), so renaming a
 * feature starts a new series.
 */
import { and, eq, gte, sql } from "drizzle-orm";
import { getDb } from "@/server/db/client";
import { featureEvaluations, features } from "@/server/db/schema";
import { notFound } from "@/server/errors";
import { getLogger } from "@/server/observability/logger";
import { analyticsEvaluations } from "./metrics";
import type { Parsed } from "./traits";

const log = getLogger("sdk");

/** Most feature names accepted in one report. */
export const MAX_ANALYTICS_FEATURES = 1000;
/** Longest feature name accepted in a report (longer ones cannot exist). */
export const MAX_ANALYTICS_NAME_LENGTH = 2000;
/** Largest count accepted per feature in one report. */
export const MAX_ANALYTICS_COUNT = 1_000_000_000;

/** Validates `{"<feature name>": <non-negative integer>, …}`. */
export function validateAnalyticsBody(body: unknown): Parsed<Map<string, number>> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, detail: "Expected a JSON object of feature names to evaluation counts." };
  }
  const entries = Object.entries(body as Record<string, unknown>);
  if (entries.length > MAX_ANALYTICS_FEATURES) return { ok: false, detail: `At most ${MAX_ANALYTICS_FEATURES} features per report.` };
  const counts = new Map<string, number>();
  for (const [name, count] of entries) {
    if (name.length === 0 || name.length > MAX_ANALYTICS_NAME_LENGTH) return { ok: false, detail: "Feature names must be 1 to 2000 characters." };
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 0 || count > MAX_ANALYTICS_COUNT) {
      return { ok: false, detail: `${name.slice(0, 100)}: Counts must be whole numbers between 0 and ${MAX_ANALYTICS_COUNT}.` };
    }
    if (count > 0) counts.set(name, count);
  }
  return { ok: true, value: counts };
}

/** Adds the counts of known features to the current hour (one statement). */
export async function recordEvaluations(environmentId: number, counts: ReadonlyMap<string, number>, knownFeatures: ReadonlySet<string>): Promise<void> {
  const names: string[] = [];
  const values: number[] = [];
  let dropped = 0;
  for (const [name, count] of counts) {
    if (knownFeatures.has(name)) {
      names.push(name);
      values.push(count);
    } else {
      dropped += count;
    }
  }
  if (names.length > 0) {
    await getDb().execute(sql`
      insert into feature_evaluations as f (environment_id, feature_name, hour, count)
      select ${environmentId}, name, date_trunc('hour', now()), count
        from unnest(${sql.param(names)}::text[], ${sql.param(values)}::bigint[]) as t(name, count)
      on conflict (environment_id, feature_name, hour) do update set count = f.count + excluded.count`);
  }
  const stored = values.reduce((total, count) => total + count, 0);
  if (stored > 0) analyticsEvaluations.inc({ result: "stored" }, stored);
  if (dropped > 0) analyticsEvaluations.inc({ result: "dropped" }, dropped);
  log.debug("analytics.recorded", { environment__id: environmentId, features__count: names.length, evaluations__count: stored, dropped__count: dropped });
}

export interface AnalyticsBucket {
  /** Bucket start (ISO, UTC). */
  start: string;
  count: number;
}

export interface FeatureAnalytics {
  featureName: string;
  granularity: "hour" | "day";
  buckets: AnalyticsBucket[];
  total: number;
}

/** Up to this many days the chart uses hourly buckets, beyond it daily ones. */
export const HOURLY_MAX_DAYS = 2;
export const MAX_ANALYTICS_DAYS = 90;

/** Evaluation counts of a feature in an environment over the last `days`, zero-filled, oldest first. */
export async function featureAnalytics(featureId: number, environmentId: number, days: number, now = new Date()): Promise<FeatureAnalytics> {
  const [feature] = await getDb().select({ name: features.name }).from(features).where(eq(features.id, featureId));
  if (!feature) throw notFound("Feature");
  const granularity = days <= HOURLY_MAX_DAYS ? "hour" : "day";
  const stepMs = granularity === "hour" ? 3_600_000 : 86_400_000;
  const end = Math.floor(now.getTime() / stepMs) * stepMs; // start of the current bucket (UTC)
  const buckets = granularity === "hour" ? days * 24 : days;
  const first = end - (buckets - 1) * stepMs;

  const rows = await getDb()
    .select({ hour: featureEvaluations.hour, count: featureEvaluations.count })
    .from(featureEvaluations)
    .where(and(eq(featureEvaluations.environmentId, environmentId), eq(featureEvaluations.featureName, feature.name), gte(featureEvaluations.hour, new Date(first))));
  const sums = new Map<number, number>();
  for (const row of rows) {
    const bucket = Math.floor(row.hour.getTime() / stepMs) * stepMs;
    sums.set(bucket, (sums.get(bucket) ?? 0) + Number(row.count));
  }
  const result: AnalyticsBucket[] = [];
  let total = 0;
  for (let start = first; start <= end; start += stepMs) {
    const count = sums.get(start) ?? 0;
    total += count;
    result.push({ start: new Date(start).toISOString(), count });
  }
  return { featureName: feature.name, granularity, buckets: result, total };
}
