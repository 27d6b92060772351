/**
 * The one metrics registry. Domains define their metrics in their own `metrics.ts` through these
 * helpers (get-or-create, so a module evaluated twice never registers twice); `/metrics` on the web
 * process and on the worker serve `registry()`. Every metric is listed in docs/metrics.md.
 */
import client, { type Counter, type Gauge, type Histogram, type Registry } from "prom-client";
import { processSlot } from "@/server/singleton";

const slot = processSlot<Registry>("metricsRegistry");

export function registry(): Registry {
  return slot.getOrCreate(() => {
    const reg = new client.Registry();
    client.collectDefaultMetrics({ register: reg });
    return reg;
  });
}

export function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  const existing = registry().getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new client.Counter({ name, help, labelNames, registers: [registry()] });
}

export function histogram<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets?: number[],
): Histogram<L> {
  const existing = registry().getSingleMetric(name);
  if (existing) return existing as Histogram<L>;
  return new client.Histogram({ name, help, labelNames, buckets, registers: [registry()] });
}

/** A gauge; `collect` (when given) sets its value at every scrape. */
export function gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (gauge: Gauge<L>) => void): Gauge<L> {
  const existing = registry().getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new client.Gauge({
    name,
    help,
    labelNames,
    registers: [registry()],
    ...(collect
      ? {
          collect(this: Gauge<L>) {
            collect(this);
          },
        }
      : {}),
  });
}

/** Prometheus text exposition of every metric of this process. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  const reg = registry();
  return { contentType: reg.contentType, body: await reg.metrics() };
}

/**
 * Hot-path children of a counter or histogram for one fixed label set (e.g. one route, method and
 * status). prom-client hashes the labels object on every `inc`/`observe`; a bound child finds its
 * series once and then updates it directly — the public API's own record (`hashMap` entries of
 * prom-client 15: `{ labels, value }` for counters, `{ labels, bucketValues, sum, count }` for
 * histograms). Whenever the series is not the one it found (first use, `reset()`, an unexpected
 * prom-client), it goes through the public `inc`/`observe` and looks again, so the exposition is
 * always what the public API would give (tests/unit/observability/metrics.test.ts).
 */
type Series = { labels: Record<string, string | number>; value?: number; sum?: number; count?: number; bucketValues?: Record<number, number> };
type Internals = { hashMap?: Record<string, Series>; upperBounds?: readonly number[] };

function sameLabels(a: Record<string, string | number>, b: Record<string, string | number>): boolean {
  const keys = Object.keys(b);
  if (Object.keys(a).length !== keys.length) return false;
  for (const key of keys) if (String(a[key]) !== String(b[key])) return false;
  return true;
}

function locate(metric: Internals, labels: Record<string, string | number>, shape: (series: Series) => boolean): { key: string; series: Series } | undefined {
  const map = metric.hashMap;
  if (!map || typeof map !== "object") return undefined;
  for (const key of Object.keys(map)) if (sameLabels(map[key].labels ?? {}, labels) && shape(map[key])) return { key, series: map[key] };
  return undefined;
}

const isCounterSeries = (series: Series) => typeof series.value === "number";

export interface BoundCounter {
  inc(): void;
}

export function boundCounter<L extends string>(metric: Counter<L>, labels: Partial<Record<L, string | number>> = {}): BoundCounter {
  const internals = metric as unknown as Internals;
  let found: { key: string; series: Series } | undefined;
  return {
    inc() {
      if (found && internals.hashMap![found.key] === found.series) {
        found.series.value! += 1;
        return;
      }
      metric.inc(labels, 1);
      found = locate(internals, labels as Record<string, string | number>, isCounterSeries);
    },
  };
}

export interface BoundHistogram {
  observe(value: number): void;
}

export function boundHistogram<L extends string>(metric: Histogram<L>, labels: Partial<Record<L, string | number>>): BoundHistogram {
  const internals = metric as unknown as Internals;
  const bounds = internals.upperBounds;
  // Usable only if prom-client keeps the bucket layout this code knows.
  const isHistogramSeries = (series: Series) =>
    Array.isArray(bounds) &&
    typeof series.sum === "number" &&
    typeof series.count === "number" &&
    typeof series.bucketValues === "object" &&
    bounds.every((bound) => typeof series.bucketValues![bound] === "number");
  let found: { key: string; series: Series } | undefined;
  return {
    observe(value: number) {
      const series = found?.series;
      if (series && internals.hashMap![found!.key] === series && Number.isFinite(value)) {
        series.sum! += value;
        series.count! += 1;
        for (let i = 0; i < bounds!.length; i++) {
          if (value <= bounds![i]) {
            series.bucketValues![bounds![i]] += 1;
            break;
          }
        }
        return;
      }
      metric.observe(labels, value);
      found = locate(internals, labels as Record<string, string | number>, isHistogramSeries);
    },
  };
}
