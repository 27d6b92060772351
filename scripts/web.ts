/**
 * The web process (`npm start` runs it beside the worker; `npm run start:web` alone). Needs a build
 * (`next build`) and DATABASE_URL. HOST/PORT as for `next start`; flagd gRPC sync on
 * FLAGD_SYNC_HOST (loopback by default, whatever HOST is) and FLAGD_SYNC_PORT
 * (src/server/api/flagd-sync-server.ts; 0 turns it off). Run directly (`node --import tsx
 * scripts/web.ts`) it is the same process: web-env.ts names it `web` before the settings are read.
 *
 * SIGTERM / SIGINT: readiness turns `stopping` (503) so load balancers stop sending, every event
 * stream is ended (its clients reconnect to another process; new streams get 503), the server
 * stops accepting connections, requests in flight finish (bounded by SHUTDOWN_TIMEOUT_MS; then the
 * remaining connections are closed) while flagd sync streams are ended with UNAVAILABLE (their
 * clients reconnect, elsewhere or to the restarted process), the change listener and the pool
 * close, and it exits 0. Node may run as PID 1 in a container: the handlers below are what makes
 * `docker stop` graceful.
 */
// First: this process's defaults (FLAGPOST_PROCESS=web) before any module reads the settings.
import "./web-env";
import path from "node:path";
import { startFlagdSyncServer } from "../src/server/api/flagd-sync-server";
import { startWebServer } from "../src/server/api/web-server";
import { settings } from "../src/server/config";
import { closeDb } from "../src/server/db/client";
import { flushLogs, getLogger } from "../src/server/observability/logger";
import { shutdownTracing } from "../src/server/observability/tracing";
import { stopServing } from "../src/server/serving/gate";
import { markStopping } from "../src/server/serving/health";
import { closeStreams } from "../src/server/streams/hub";
import { closeOpenFeatureClient, getOpenFeatureClient } from "../src/server/rollouts/client";

const log = getLogger("http");

async function main(): Promise<void> {
  const host = process.env.HOST || "127.0.0.1";
  const port = Number.parseInt(process.env.PORT || "3000", 10);
  const config = settings();
  // First: a taken FLAGD_SYNC_PORT stops the process before Next.js is prepared for nothing.
  const flagdSync = await startFlagdSyncServer({
    host: config.flagdSyncHost,
    port: config.flagdSyncPort,
    portExplicit: config.flagdSyncPortExplicit,
    tls: { certFile: config.flagdSyncTlsCertFile, keyFile: config.flagdSyncTlsKeyFile },
    maxStreams: config.flagdSyncMaxStreams,
    keepaliveMs: config.flagdSyncKeepaliveMs,
  });
  // Flagpost's own flags (docs/rollouts.md): loaded before the first request.
  getOpenFeatureClient();
  const web = await startWebServer({ dir: path.resolve(__dirname, ".."), host, port });
  log.info("server.started", {
    url: web.url,
    metrics__url: web.metricsUrl,
    process__name: config.processName,
    database__connect_timeout__ms: config.databaseConnectTimeoutMs,
    database__statement_timeout__ms: config.databaseStatementTimeoutMs,
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    log.info("server.stopping", { signal });
    markStopping();
    let code = 0;
    try {
      // Long-lived: event streams ended first, so that the server drains at once; flagd sync streams
      // are ended (UNAVAILABLE) by their server's close, alongside.
      closeStreams();
      const [drained] = await Promise.all([web.close(config.shutdownTimeoutMs), flagdSync?.close(config.shutdownTimeoutMs)]);
      await stopServing();
      await closeOpenFeatureClient();
      await closeDb();
      await shutdownTracing();
      log.info("server.stopped", { drained, duration__ms: Date.now() - started });
    } catch (error) {
      log.error("server.stop_failed", { error });
      code = 1;
    } finally {
      flushLogs();
      process.exit(code);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((error) => {
  log.error("server.failed", { error });
  flushLogs();
  process.exit(1);
});
