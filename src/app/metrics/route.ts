import { metricsText } from "@/server/observability/metrics";
import "@/server/api/metrics";

export const dynamic = "force-dynamic";

/** Prometheus scrape endpoint of the web process (the worker serves its own, see docs/metrics.md). */
export async function GET(): Promise<Response> {
  const { contentType, body } = await metricsText();
  return new Response(body, { headers: { "content-type": contentType, "cache-control": "no-store" } });
}
