import { settings } from "@/server/config";
import { metricsAnswer } from "@/server/observability/metrics-server";
import "@/server/api/metrics";

export const dynamic = "force-dynamic";

/**
 * Prometheus scrape endpoint of the web process on its public port, only with `METRICS_PORT=0`
 * (otherwise the web server serves it on its own listener: docs/metrics.md); `METRICS_TOKEN`, when
 * set, is required as a bearer token.
 */
export async function GET(request: Request): Promise<Response> {
  if (settings().metricsPort > 0) return new Response("Not found\n", { status: 404, headers: { "content-type": "text/plain" } });
  const { status, headers, body } = await metricsAnswer(request.headers.get("authorization"));
  return new Response(body, { status, headers });
}
