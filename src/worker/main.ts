/** The worker process (`npm run start:worker`, or started by `npm start`). */
import { settings } from "@/server/config";
import { closeDb, getDb } from "@/server/db/client";
import { enqueueJob } from "@/server/jobs/enqueue";
import { flushLogs, getLogger } from "@/server/observability/logger";
import { initTracing, shutdownTracing } from "@/server/observability/tracing";
import { closeOpenFeatureClient, getOpenFeatureClient } from "@/server/rollouts/client";
import { startWorker } from "./runner";
import { superviseWorker } from "./supervisor";
import { sessionsCleanup } from "@/worker/tasks";

const log = getLogger("worker");

async function main(): Promise<void> {
  initTracing();
  // Flagpost's own flags (docs/rollouts.md), for tasks that gate what they do.
  getOpenFeatureClient();
  // After a restart the metrics endpoint comes back on the port it had.
  let metricsPort = settings().workerMetricsPort;
  let metricsPortExplicit = settings().workerMetricsPortExplicit;
  const worker = await superviseWorker(async () => {
    const started = await startWorker({ metricsPort, metricsHost: settings().workerMetricsHost, metricsPortExplicit });
    if (started.metricsPort > 0) {
      metricsPort = started.metricsPort;
      metricsPortExplicit = true;
    }
    return started;
  });
  // Clean up expired sessions once at start as well as hourly.
  await enqueueJob(getDb(), sessionsCleanup.id, {}, { jobKey: sessionsCleanup.id });
  log.info("worker.started", { metrics__port: worker.current.metricsPort });

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
      // 0, or the code graphile-worker asked for (57: a breaking migration by a newer worker).
      process.exit();
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  await worker.finished;
  // graphile-worker asked the process to exit.
  await stop("runner_ended");
}

main().catch((error) => {
  log.error("worker.failed", { error });
  flushLogs();
  process.exit(1);
});
