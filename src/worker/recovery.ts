/**
 * Recovering jobs of crashed workers. graphile-worker keeps a job locked by a worker that died
 * (SIGKILL, OOM, lost machine) for 4 hours. Each Flagpost worker therefore holds a session-level
 * advisory lock per graphile worker id on a dedicated connection; a dead process's connection —
 * and with it the lock — goes away at once. The sweeper (at start and periodically) unlocks the jobs
 * of every worker id whose advisory lock it can take, so those jobs are retried promptly.
 */
import { EventEmitter } from "node:events";
import pg from "pg";
import { makeWorkerUtils, type WorkerEvents, type WorkerUtils } from "graphile-worker";
import { getLogger } from "@/server/observability/logger";

const log = getLogger("worker");
const LOCK_CLASS = 727275;

export interface Recovery {
  events: WorkerEvents;
  sweep(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startRecovery(pool: pg.Pool, options: { sweepIntervalMs?: number } = {}): Promise<Recovery> {
  const events = new EventEmitter() as WorkerEvents;
  const holder = await pool.connect();
  // One connection runs one query at a time: take the locks one after another.
  let locks: Promise<unknown> = Promise.resolve();
  events.on("worker:create", ({ worker }) => {
    locks = locks.then(() => holder.query("select pg_advisory_lock($1, hashtext($2))", [LOCK_CLASS, worker.workerId]));
  });
  const utils: WorkerUtils = await makeWorkerUtils({ pgPool: pool });

  const sweep = async (): Promise<string[]> => {
    await locks;
    const sweeper = await pool.connect();
    try {
      const locked = await sweeper.query<{ locked_by: string }>(
        "select distinct locked_by from graphile_worker._private_jobs where locked_by is not null and locked_at < now() - interval '5 seconds'",
      );
      const dead: string[] = [];
      for (const { locked_by: workerId } of locked.rows) {
        const probe = await sweeper.query<{ free: boolean }>("select pg_try_advisory_lock($1, hashtext($2)) as free", [LOCK_CLASS, workerId]);
        if (probe.rows[0]?.free) {
          await sweeper.query("select pg_advisory_unlock($1, hashtext($2))", [LOCK_CLASS, workerId]);
          dead.push(workerId);
        }
      }
      if (dead.length > 0) {
        await utils.forceUnlockWorkers(dead);
        log.warn("jobs.recovered", { workers__count: dead.length, worker__ids: dead.join(",") });
      }
      return dead;
    } finally {
      sweeper.release();
    }
  };

  const interval = setInterval(() => {
    sweep().catch((error) => log.error("jobs.recovery_failed", { error }));
  }, options.sweepIntervalMs ?? 30_000);
  interval.unref();

  return {
    events,
    sweep,
    async stop() {
      clearInterval(interval);
      await utils.release();
      holder.release();
    },
  };
}
