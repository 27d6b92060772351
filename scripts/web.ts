/**
 * The web process (`npm start` runs it beside the worker; `npm run start:web` alone). Needs a build
 * (`next build`) and DATABASE_URL. HOST/PORT as for `next start`.
 */
import path from "node:path";
import { closeDb } from "../src/server/db/client";
import { flushLogs, getLogger } from "../src/server/observability/logger";
import { startWebServer } from "../src/server/api/web-server";
import { shutdownTracing } from "../src/server/observability/tracing";

const log = getLogger("http");

async function main(): Promise<void> {
  const host = process.env.HOST || "127.0.0.1";
  const port = Number.parseInt(process.env.PORT || "3000", 10);
  const web = await startWebServer({ dir: path.resolve(__dirname, ".."), host, port });
  log.info("server.started", { url: web.url, metrics__url: web.metricsUrl });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await web.close();
      await closeDb();
      await shutdownTracing();
    } finally {
      flushLogs();
      process.exit(0);
    }
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((error) => {
  log.error("server.failed", { error });
  flushLogs();
  process.exit(1);
});
