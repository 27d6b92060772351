/**
 * The graphile-worker runner: task list, crontab, the worker's /metrics endpoint.
 * `startWorker()` is used by src/worker/main.ts and by tests that need a real worker in-process.
 */
import type http from "node:http";
import { run, Logger, type Runner, type TaskList, type WorkerPool } from "graphile-worker";
import { settings } from "@/server/config";
import { getPool } from "@/server/db/client";
import { getLogger } from "@/server/observability/logger";
import { startMetricsServer } from "@/server/observability/metrics-server";
import { contextualTask } from "./job-context";
import { startRecovery } from "./recovery";
import { TASKS } from "@/worker/tasks";

const log = getLogger("worker");

export function taskList(): TaskList {
  return Object.fromEntries(TASKS.map((task) => [task.id, contextualTask(task)]));
}

/** graphile-worker crontab lines of the tasks that run on a schedule. */
export function crontab(): string {
  return TASKS.filter((task) => task.schedule)
    .map((task) => `${task.schedule!.cron} ${task.id}${task.schedule!.options ? ` ${task.schedule!.options}` : ""}`)
    .join("\n");
}

// graphile-worker's own messages, as events on the worker logger (debug unless they are warnings).
const workerLogger = new Logger((scope) => (level, message, meta) => {
  const attributes = { message, worker__scope: scope.label ?? undefined, ...(meta?.error ? { error: meta.error } : {}) };
  if (level === "error") log.error("runner.error", attributes);
  else if (level === "warning") log.warn("runner.warning", attributes);
  else log.debug("runner.message", attributes);
});

export interface WorkerHandle {
  runner: Runner;
  metricsServer?: http.Server;
  /** The port the metrics endpoint listens on (0: none). */
  metricsPort: number;
  /**
   * Stops taking jobs and lets the running ones finish for at most `timeoutMs`; past it they are
   * failed back to the queue (graphile-worker's forceful shutdown: retried at once by another
   * worker). True when every job finished in time.
   */
  stop(timeoutMs?: number): Promise<boolean>;
}

export { MetricsPortTakenError } from "@/server/observability/metrics-server";

export async function startWorker(
  options: { concurrency?: number; metricsPort?: number; metricsHost?: string; recoverySweepMs?: number; metricsPortExplicit?: boolean } = {},
): Promise<WorkerHandle> {
  const recovery = await startRecovery(getPool(), { sweepIntervalMs: options.recoverySweepMs ?? settings().workerRecoverySweepMs });
  const pools = new Set<WorkerPool>();
  recovery.events.on("pool:create", ({ workerPool }) => pools.add(workerPool));
  // A runner that cannot start (the database is away) leaves nothing behind: the recovery's lock
  // connection would otherwise keep retrying for a worker that never ran.
  const runner = await run({
    events: recovery.events,
    pgPool: getPool(),
    taskList: taskList(),
    concurrency: options.concurrency ?? 4,
    noHandleSignals: true,
    // New jobs arrive through LISTEN/NOTIFY at once; polling only finds run_at jobs coming due.
    pollInterval: 500,
    logger: workerLogger,
    crontab: crontab(),
    // A job's outcome is recorded through graphile-worker's batcher: when the write fails (the
    // database went away mid-job) the pool ends and the supervisor (supervisor.ts) starts a new
    // runner, whose recovery sweep returns the job to the queue. Unbatched, a failed write of an
    // outcome rejects a promise nobody awaits, and the process dies with it.
    preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
  }).catch(async (error: unknown) => {
    await recovery.stop().catch(() => undefined);
    throw error;
  });
  // Jobs a crashed worker left locked are picked up again now rather than in 4 hours.
  await recovery.sweep().catch((error) => log.error("jobs.recovery_failed", { error }));
  let metricsServer: http.Server | undefined;
  if (options.metricsPort !== undefined && options.metricsPort > 0) {
    metricsServer = await startMetricsServer({
      port: options.metricsPort,
      host: options.metricsHost ?? "127.0.0.1",
      explicit: options.metricsPortExplicit,
      variable: "WORKER_METRICS_PORT",
    }).catch(async (error: unknown) => {
      await runner.stop().catch(() => undefined);
      await recovery.stop().catch(() => undefined);
      throw error;
    });
  }
  const metricsPort = metricsServer ? (metricsServer.address() as { port: number }).port : 0;
  return {
    runner,
    metricsServer,
    metricsPort,
    async stop(timeoutMs = 10_000) {
      // A runner that already ended (its pool failed) has nothing left to finish.
      const stopped = runner.stop().then(
        () => true,
        () => true,
      );
      const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
      const finished = await Promise.race([stopped, timer]);
      if (!finished) {
        log.warn("worker.jobs_returned", { timeout__ms: timeoutMs });
        // Fails the running jobs back to the queue (unlocked: retried at once elsewhere); the
        // task's own promise is not waited for: the process exits after this.
        await Promise.allSettled([...pools].map((pool) => pool.forcefulShutdown("shutdown timeout: job returned to the queue")));
      }
      await recovery.stop();
      if (metricsServer) await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      return finished;
    },
  };
}
