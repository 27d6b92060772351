/** The worker process (`npm run start:worker`, or started by `npm start`). */
import { settings } from "@/server/config";
import { closeDb, getDb } from "@/server/db/client";
import { enqueueJob } from "@/server/jobs/enqueue";
import { flushLogs, getLogger } from "@/server/observability/logger";
import { initTracing, shutdownTracing } from "@/server/observability/tracing";
import { closeOpenFeatureClient, getOpenFeatureClient } from "@/server/rollouts/client";
import { startWorker } from "./runner";
import { sessionsCleanup } from "@/worker/tasks";

const log = getLogger("worker");

async function main(): Promise<void> {
  initTracing();
  // Flagpost's own flags (docs/rollouts.md), for tasks that gate what they do.
  getOpenFeatureClient();
  const worker = await startWorker({
    metricsPort: settings().workerMetricsPort,
    metricsHost: settings().workerMetricsHost,
    metricsPortExplicit: settings().workerMetricsPortExplicit,
  });
  // Clean up expired sessions once at start as well as hourly.
  await enqueueJob(getDb(), sessionsCleanup.id, {}, { jobKey: sessionsCleanup.id });
  log.info("worker.started", { metrics__port: worker.metricsPort });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("worker.stopping", { signal });
    try {
      // The running job finishes, or goes back to the queue past SHUTDOWN_TIMEOUT_MS.
      await worker.stop(settings().shutdownTimeoutMs);
      await closeOpenFeatureClient();
      await closeDb();
      await shutdownTracing();
    } finally {
      flushLogs();
      process.exit(0);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  await worker.runner.promise;
}

main().catch((error) => {
  log.error("worker.failed", { error });
  flushLogs();
  process.exit(1);
});
