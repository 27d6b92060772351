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

const log = getLogger("http");

type NextHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

export interface WebServer {
  server: http.Server;
  url: string;
  /**
   * Stops accepting connections, lets requests in flight finish for at most `timeoutMs` (then closes
   * every connection left), and closes Next. True when everything finished in time.
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

function send(template: string, req: http.IncomingMessage, res: http.ServerResponse, response: ApiResponse, nextHandler: NextHandler): void {
  if (response.unrouted) {
    // Answered exactly as an unknown path: Next's own 404, for the same method and headers.
    req.url = UNROUTED_PATH;
    stampClientAddress(req);
    void nextHandler(req, res);
    return;
  }
  try {
    writeNodeResponse(res, response);
  } catch (error) {
    failed(template, res, error);
  }
}

export async function startWebServer(options: { dir: string; host: string; port: number }): Promise<WebServer> {
  const app = next({ dev: false, dir: options.dir, hostname: options.host, port: options.port });
  await app.prepare();
  const nextHandler = app.getRequestHandler();
  const origin = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}`;

  const server = http.createServer((req, res) => {
    const match = matchApiRoute(req.method ?? "GET", req.url ?? "/");
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
          (answer) => send(template, req, res, answer, nextHandler),
          (error: unknown) => failed(template, res, error),
        );
      else send(template, req, res, response, nextHandler);
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
    async close(timeoutMs = 10_000) {
      // close() stops accepting and ends idle keep-alive connections; busy ones end after their response.
      const closed = new Promise<boolean>((resolve) => server.close(() => resolve(true)));
      server.closeIdleConnections();
      const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
      const drained = await Promise.race([closed, timer]);
      server.closeAllConnections();
      await app.close();
      return drained;
    },
  };
}
