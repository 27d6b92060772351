/**
 * Loads every metric the web process defines, so `/metrics` lists them from the first scrape
 * (before first use). The worker's metrics are in src/worker/metrics.ts.
 */
import "@/server/observability/http-metrics";
import "@/server/serving/metrics";
import "@/server/sdk/metrics";
import "@/server/flagd/metrics";
import "@/server/ofrep/metrics";
import "@/server/streams/metrics";
