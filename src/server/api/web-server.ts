/**
 * The production web process: one Node `http` server. Public API paths (SDK, flagd, health — see
 * api-routes.ts) are answered directly by their handlers; everything else (UI pages, tRPC,
 * /metrics, static assets) goes to Next.js. Same handlers as the Next route files, without Next's
 * per-request routing and Web Request/Response machinery on the hot path (docs/performance.md).
 */
import http from "node:http";
import next from "next";
import { getLogger } from "@/server/observability/logger";
import { NodeApiRequest, writeNodeResponse, type ApiResponse } from "@/server/http/api";
import { matchApiRoute } from "./routes";
import { stampClientAddress } from "@/server/http/client-address";
import { badPathResponse, isDecodablePath, SECURITY_HEADERS } from "@/server/http/security";
import { settings } from "@/server/config";
import { startMetricsServer } from "@/server/observability/metrics-server";
import "./metrics";

const log = getLogger("http");

type NextHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

/** Largest request body a page path accepts (pages read none). */
const PAGE_MAX_BODY_BYTES = 64 * 1024;

export interface WebServer {
  server: http.Server;
  url: string;
  /** Where this process's /metrics is served. */
  metricsUrl: string;
  /**
   * Stops accepting connections, lets requests in flight finish for at most `timeoutMs` (then closes
   * every connection left), closes the metrics listener and Next. True when everything finished in time.
   */
  close(timeoutMs?: number): Promise<boolean>;
}

/** route() already turns handler errors into 500s; this is a transport failure. */
function failed(template: string, res: http.ServerResponse, error: unknown): void {
  log.error("request.failed", { http__route: template, error });
  if (!res.headersSent) writeNodeResponse(res, { status: 500, headers: { "content-type": "application/json" }, body: '{"detail":"Internal server error"}' });
  else res.destroy();
}

/** A path no route (API or Next page) serves: where a switched-off endpoint's request is sent (NOT_A_ROUTE). */
const UNROUTED_PATH = "/_flagpost/no-such-route";

function send(template: string, res: http.ServerResponse, response: ApiResponse): void {
  try {
    writeNodeResponse(res, response);
  } catch (error) {
    failed(template, res, error);
  }
}

/** A route's answer: written, or (NOT_A_ROUTE: a switched-off endpoint) handed to Next exactly as an unknown path. */
function answer(template: string, req: http.IncomingMessage, res: http.ServerResponse, response: ApiResponse, nextHandler: NextHandler): void {
  if (response.unrouted) {
    req.url = UNROUTED_PATH;
    stampClientAddress(req);
    void nextHandler(req, res);
    return;
  }
  send(template, res, response);
}

export async function startWebServer(options: { dir: string; host: string; port: number; metrics?: { host: string; port: number; explicit?: boolean } }): Promise<WebServer> {
  const app = next({ dev: false, dir: options.dir, hostname: options.host, port: options.port });
  await app.prepare();
  // /metrics on its own listener (not the public port) unless METRICS_PORT=0 (docs/metrics.md).
  const metrics = options.metrics ?? { host: settings().metricsHost, port: settings().metricsPort, explicit: settings().metricsPortExplicit };
  const metricsServer = metrics.port > 0 ? await startMetricsServer(metrics) : undefined;
  const nextHandler = app.getRequestHandler();
  const origin = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}`;

  const server = http.createServer((req, res) => {
    const target = req.url ?? "/";
    // Next.js answers a path it cannot percent-decode with a plain-text 500 (its bundled route
    // matcher throws an error its server does not recognise): a 400 here instead, on every path.
    if (!isDecodablePath(target)) {
      log.debug("request.refused", { reason: "malformed_path" });
      send("(malformed path)", res, badPathResponse(target));
      return;
    }
    const match = matchApiRoute(req.method ?? "GET", target);
    // Pages take no request bodies (there are no server actions): a large one is refused before
    // Next.js buffers it for its proxy. (/api/trpc applies its own limits: api/trpc-handler.ts.)
    if (!match && !target.startsWith("/api/") && Number(req.headers["content-length"] ?? 0) > PAGE_MAX_BODY_BYTES) {
      log.debug("request.refused", { reason: "body_too_large" });
      send("(page)", res, { status: 413, headers: { ...SECURITY_HEADERS, "content-type": "text/plain", connection: "close" }, body: "Request body too large\n" });
      req.resume();
      return;
    }
    if (!match) {
      stampClientAddress(req);
      void nextHandler(req, res);
      return;
    }
    const { template } = match.route;
    try {
      const response = match.route.serve(new NodeApiRequest(req, origin), match.params);
      // Cached answers come back synchronously and are written without a promise or closure (docs/performance.md).
      if (response instanceof Promise)
        response.then(
          (response) => answer(template, req, res, response, nextHandler),
          (error: unknown) => failed(template, res, error),
        );
      else answer(template, req, res, response, nextHandler);
    } catch (error) {
      failed(template, res, error);
    }
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    server,
    url: origin,
    metricsUrl: metricsServer ? `http://${metrics.host.includes(":") ? `[${metrics.host}]` : metrics.host}:${(metricsServer.address() as { port: number }).port}/metrics` : `${origin}/metrics`,
    async close(timeoutMs = 10_000) {
      // close() stops accepting and ends idle keep-alive connections; busy ones end after their response.
      const closed = new Promise<boolean>((resolve) => server.close(() => resolve(true)));
      server.closeIdleConnections();
      const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
      const drained = await Promise.race([closed, timer]);
      server.closeAllConnections();
      if (metricsServer) {
        await new Promise<void>((resolve) => {
          metricsServer.close(() => resolve());
          metricsServer.closeAllConnections();
        });
      }
      await app.close();
      return drained;
    },
  };
}
