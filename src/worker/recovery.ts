/**
 * Recovering jobs of crashed workers. graphile-worker keeps a job locked by a worker that died
 * (SIGKILL, OOM, lost machine) for 4 hours. Each Flagpost worker therefore holds a session-level
 * advisory lock per id that can lock jobs — graphile-worker 0.17 locks jobs with its *pool's* id
 * (`locked_by = pool-…`), older versions with each worker's id, so both are held — on a dedicated
 * connection; a dead process's connection, and with it the lock, goes away at once. The sweeper (at
 * start and periodically) unlocks the jobs of every other id whose advisory lock it can take, so
 * those jobs are retried promptly — and never those of a live process.
 *
 * If the lock connection itself is lost (database restart, network, an administrator terminating
 * it), the locks are taken again on a new connection as soon as one can be had. In the gap another
 * worker's sweep may release this worker's running jobs for retry; every task is idempotent, so the
 * cost is a repeated run, never a lost one.
 */
import { EventEmitter } from "node:events";
import pg from "pg";
import { makeWorkerUtils, type WorkerEvents, type WorkerUtils } from "graphile-worker";
import { getLogger } from "@/server/observability/logger";

const log = getLogger("worker");
const LOCK_CLASS = 727275;
const RECONNECT_DELAYS_MS = [100, 500, 1000, 2000, 5000];

export interface Recovery {
  events: WorkerEvents;
  sweep(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startRecovery(pool: pg.Pool, options: { sweepIntervalMs?: number } = {}): Promise<Recovery> {
  // First, as it needs the database: when that is unreachable nothing below has started yet (a lock
  // connection retrying for a recovery nobody holds would outlive the failed start, one per attempt).
  const utils: WorkerUtils = await makeWorkerUtils({ pgPool: pool });
  const events = new EventEmitter() as WorkerEvents;
  /** This process's graphile worker ids: their locks are held on `holder`, and the sweep never frees them. */
  const own = new Set<string>();
  let holder: pg.PoolClient | undefined;
  let stopped = false;

  const takeLock = (client: pg.PoolClient, workerId: string) => client.query("select pg_advisory_lock($1, hashtext($2))", [LOCK_CLASS, workerId]);

  const connectHolder = async (): Promise<void> => {
    for (let attempt = 0; !stopped; attempt++) {
      let client: pg.PoolClient | undefined;
      try {
        client = await pool.connect();
        const connected = client;
        connected.on("error", (error) => lost(connected, error));
        for (const workerId of own) await takeLock(connected, workerId);
        holder = connected;
        if (attempt > 0 || own.size > 0) log.info("jobs.locks_acquired", { workers__count: own.size });
        return;
      } catch (error) {
        client?.release(error as Error);
        const delay = RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)];
        log.warn("jobs.lock_connection_failed", { error, retry__ms: delay });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  // One connection runs one query at a time: every lock step goes through this chain, which never rejects.
  let locks: Promise<void> = Promise.resolve();
  const enqueue = (step: () => Promise<void>) => {
    locks = locks.then(step).catch((error) => log.error("jobs.lock_failed", { error }));
  };

  function lost(client: pg.PoolClient, error: Error): void {
    if (holder !== client || stopped) return;
    holder = undefined;
    log.error("jobs.lock_connection_lost", { error, workers__count: own.size });
    client.release(error); // destroys it rather than returning it to the pool
    enqueue(connectHolder);
  }

  enqueue(connectHolder);
  const hold = (lockerId: string) => {
    own.add(lockerId);
    enqueue(async () => {
      if (!holder) return; // a reconnect in the queue takes every lock in `own`
      try {
        await takeLock(holder, lockerId);
      } catch (error) {
        // The connection failed under the query; its 'error' event (or this) starts a reconnect.
        if (holder) lost(holder, error as Error);
      }
    });
  };
  events.on("pool:create", ({ workerPool }) => hold(workerPool.id));
  events.on("pool:release", ({ workerPool }) => {
    own.delete(workerPool.id);
  });
  events.on("worker:create", ({ worker }) => hold(worker.workerId));
  events.on("worker:release", ({ worker }) => {
    own.delete(worker.workerId);
  });

  const sweep = async (): Promise<string[]> => {
    await locks;
    const sweeper = await pool.connect();
    try {
      const locked = await sweeper.query<{ locked_by: string }>(
        "select distinct locked_by from graphile_worker._private_jobs where locked_by is not null and locked_at < now() - interval '5 seconds'",
      );
      const dead: string[] = [];
      for (const { locked_by: workerId } of locked.rows) {
        if (own.has(workerId)) continue;
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
      stopped = true;
      clearInterval(interval);
      await locks;
      await utils.release();
      holder?.release(true); // closed, not pooled: its session still holds the locks
      holder = undefined;
    },
  };
}
