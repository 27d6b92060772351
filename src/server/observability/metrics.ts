/**
 * The one metrics registry. Domains define their metrics in their own `metrics.ts` through these
 * helpers (get-or-create, so a module evaluated twice never registers twice); `/metrics` on the web
 * process and on the worker serve `registry()`. Every metric is listed in docs/metrics.md.
 */
import client, { type Counter, type Gauge, type Histogram, type Registry } from "prom-client";

const KEY = Symbol.for("flagpost.metricsRegistry");
const globalRegistry = globalThis as unknown as Record<symbol, Registry | undefined>;

export function registry(): Registry {
  let reg = globalRegistry[KEY];
  if (!reg) {
    reg = new client.Registry();
    client.collectDefaultMetrics({ register: reg });
    globalRegistry[KEY] = reg;
  }
  return reg;
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

export function gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  const existing = registry().getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new client.Gauge({ name, help, labelNames, registers: [registry()] });
}

/** Prometheus text exposition of every metric of this process. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  const reg = registry();
  return { contentType: reg.contentType, body: await reg.metrics() };
}
