/**
 * Where `/metrics` is served, and who may read it (docs/metrics.md):
 *
 * - its own listener per process (`METRICS_HOST`:`METRICS_PORT` for web, default 127.0.0.1:9464;
 *   `WORKER_METRICS_HOST`:`WORKER_METRICS_PORT` for the worker), so the public web port does not
 *   expose it; with `METRICS_PORT=0` the web process serves it on its public port instead;
 * - with `METRICS_TOKEN` set, only to requests with `Authorization: Bearer <token>` (401 otherwise),
 *   wherever it is served.
 */
import http from "node:http";
import { createHash, timingSafeEqual } from "node:crypto";
import { settings } from "@/server/config";
import { getLogger } from "./logger";
import { metricsText } from "./metrics";

const log = getLogger("metrics");

export interface MetricsAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Whether an `Authorization` header carries the metrics token (always true without one configured). */
export function metricsAuthorized(authorization: string | null | undefined, token = settings().metricsToken): boolean {
  if (!token) return true;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  // Compared as digests: constant time whatever the lengths.
  return match !== null && timingSafeEqual(digest(match[1]), digest(token));
}

/** The answer to `GET /metrics` with this `Authorization` header. */
export async function metricsAnswer(authorization: string | null | undefined): Promise<MetricsAnswer> {
  if (!metricsAuthorized(authorization)) {
    return { status: 401, headers: { "content-type": "text/plain", "www-authenticate": 'Bearer realm="metrics"', "cache-control": "no-store" }, body: "Unauthorized\n" };
  }
  const { contentType, body } = await metricsText();
  return { status: 200, headers: { "content-type": contentType, "cache-control": "no-store" }, body };
}

/** A metrics port set explicitly (METRICS_PORT, WORKER_METRICS_PORT) is taken. */
export class MetricsPortTakenError extends Error {
  constructor(port: number, host: string, variable: string) {
    super(`The metrics port ${host}:${port} is taken (set by ${variable}): choose another port, or 0 to turn the endpoint off`);
    this.name = "MetricsPortTakenError";
  }
}

/**
 * A listener answering `/metrics` (and 404 for anything else) on `host`:`port`. When the port is
 * taken: an explicitly configured one is an error (MetricsPortTakenError: the operator chose it);
 * the default one (a second Flagpost on this machine) is replaced by a free port, logged.
 */
export async function startMetricsServer(options: { port: number; host: string; explicit?: boolean; variable?: string }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain", "x-content-type-options": "nosniff" });
      res.end("not found\n");
      return;
    }
    metricsAnswer(req.headers.authorization).then(
      (answer) => {
        res.writeHead(answer.status, { ...answer.headers, "x-content-type-options": "nosniff" });
        res.end(req.method === "HEAD" ? undefined : answer.body);
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  try {
    await listen(options.port);
  } catch (error) {
    if ((error as { code?: string }).code !== "EADDRINUSE") throw error;
    if (options.explicit) throw new MetricsPortTakenError(options.port, options.host, options.variable ?? "METRICS_PORT");
    await listen(0);
    log.warn("metrics.port_taken", { port: options.port, metrics__port: (server.address() as { port: number }).port });
  }
  return server;
}
