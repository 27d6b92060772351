/**
 * The worker process (`npm run start:worker`, or started by `npm start`). Started while its
 * database is unreachable, it waits for it (the supervisor retries its first start) and comes up
 * when it answers; SIGTERM meanwhile exits at once (no job runs).
 */
// First: this process's defaults (FLAGPOST_PROCESS) before any module reads the settings.
import "./worker-env";
import { settings } from "@/server/config";
import { closeDb, getDb } from "@/server/db/client";
import { enqueueJob } from "@/server/jobs/enqueue";
import { flushLogs, getLogger } from "@/server/observability/logger";
import { initTracing, shutdownTracing } from "@/server/observability/tracing";
import { closeOpenFeatureClient, getOpenFeatureClient } from "@/server/rollouts/client";
import { startWorker } from "./runner";
import { superviseWorker, type SupervisedWorker } from "./supervisor";
import { sessionsCleanup } from "@/worker/tasks";

const log = getLogger("worker");

async function main(): Promise<void> {
  initTracing();
  // Flagpost's own flags (docs/rollouts.md), for tasks that gate what they do.
  getOpenFeatureClient();
  // `worker` is set once the first runner is up (it waits for an unreachable database).
  const running: { worker?: SupervisedWorker } = {};
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("worker.stopping", { signal });
    try {
      // The running job finishes, or goes back to the queue past SHUTDOWN_TIMEOUT_MS.
      await running.worker?.stop(settings().shutdownTimeoutMs);
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
  running.worker = worker;
  if (stopping) {
    // Stopped while waiting for the database: the runner that just came up goes too.
    await worker.stop(0);
    return;
  }
  // Clean up expired sessions once at start as well as hourly (the hourly run catches up if the
  // database went away again just now).
  await enqueueJob(getDb(), sessionsCleanup.id, {}, { jobKey: sessionsCleanup.id }).catch((error: unknown) => log.warn("sessions_cleanup.enqueue_failed", { error }));
  log.info("worker.started", { metrics__port: worker.current.metricsPort });
  await worker.finished;
  // graphile-worker asked the process to exit.
  await stop("runner_ended");
}

main().catch((error) => {
  log.error("worker.failed", { error });
  flushLogs();
  process.exit(1);
});
