/**
 * Keeps the worker's job runner alive across database outages. graphile-worker (0.17) ends its
 * worker pool when it cannot record a job's outcome (the database went away while a job ran: its
 * batcher gives up at the first failed write, despite its retry options), and its runner then ends
 * — resolving, not rejecting, its promise. Leaving the process without a runner would leave users
 * with no worker until something restarts it; instead the ended runner is stopped (its recovery
 * connection closes, so its advisory locks go and the next sweep returns its locked job to the
 * queue) and a new one is started, retrying with backoff until the database answers again.
 * Only `stop()`, or graphile-worker asking the process to exit (it sets `process.exitCode`, e.g.
 * 57 on a breaking migration by a newer worker), ends it.
 *
 * The first start is retried the same way while the database is unreachable (a worker started
 * during an outage, or before its database: `worker.start_failed` per attempt), so the process
 * comes up when the database does instead of exiting; any other failure of the first start (a
 * taken explicit metrics port, a wrong password) rejects at once.
 */
import { isDatabaseUnavailable } from "@/server/db/availability";
import { getLogger } from "@/server/observability/logger";
import { workerRestarts } from "./metrics";
import { MetricsPortTakenError, type WorkerHandle } from "./runner";

const log = getLogger("worker");

export interface SupervisedWorker {
  /** The runner in use now (a new one after every restart). */
  readonly current: WorkerHandle;
  /** Stops the current runner (see WorkerHandle.stop) and restarts no more. */
  stop(timeoutMs?: number): Promise<boolean>;
  /** Settles when the worker ends for good: after `stop()`, or when graphile-worker asked the process to exit. */
  readonly finished: Promise<void>;
}

export interface SupervisionOptions {
  /** First wait before a restart; doubled after every failed attempt up to `maxRetryMs`. */
  minRetryMs?: number;
  maxRetryMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once a first runner is up (see above: retried while the database is unreachable). */
export async function superviseWorker(start: () => Promise<WorkerHandle>, options: SupervisionOptions = {}): Promise<SupervisedWorker> {
  const minRetryMs = options.minRetryMs ?? 500;
  // As the change listener's reconnect (at most 5 s): a change made once the database is back is written within seconds.
  const maxRetryMs = options.maxRetryMs ?? 5_000;
  const first = async (): Promise<WorkerHandle> => {
    for (let delay = minRetryMs; ; delay = Math.min(delay * 2, maxRetryMs)) {
      try {
        return await start();
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        log.warn("worker.start_failed", { error, retry__ms: delay });
        await sleep(delay);
      }
    }
  };
  let current = await first();
  let stopping = false;

  const restart = async (): Promise<boolean> => {
    for (let delay = minRetryMs; ; delay = Math.min(delay * 2, maxRetryMs)) {
      await sleep(delay);
      if (stopping) return false;
      try {
        const next = await start();
        if (stopping) {
          await next.stop(0).catch(() => undefined);
          return false;
        }
        current = next;
        log.info("worker.restarted");
        return true;
      } catch (error) {
        if (error instanceof MetricsPortTakenError) throw error;
        log.warn("worker.restart_failed", { error, retry__ms: Math.min(delay * 2, maxRetryMs) });
      }
    }
  };

  const finished = (async () => {
    for (;;) {
      const failure = await current.runner.promise.then(
        () => undefined,
        (error: unknown) => error ?? new Error("worker pool failed"),
      );
      if (stopping) return;
      if (failure === undefined && process.exitCode !== undefined && process.exitCode !== 0) {
        log.error("worker.runner_exit_requested", { exit__code: Number(process.exitCode) });
        return;
      }
      // graphile-worker logged why (runner.warning "Runner stopping (reason: …)").
      log.error("worker.runner_failed", { error: failure });
      workerRestarts.inc();
      // Releases what the failed runner holds: the recovery connection (and with it the advisory
      // locks of its pool ids) and the metrics port.
      await current.stop(0).catch((error: unknown) => log.warn("worker.stop_failed", { error }));
      if (!(await restart())) return;
    }
  })();

  return {
    get current() {
      return current;
    },
    async stop(timeoutMs?: number) {
      stopping = true;
      return current.stop(timeoutMs);
    },
    finished,
  };
}
