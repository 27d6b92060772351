/**
 * Health of a web process, for process managers and load balancers (docs/deployment.md):
 *
 * - live: the process answers (event loop running). Restart it when this fails.
 * - ready: can it serve flags, and how well?
 *     `ready`       database reachable, change listener connected, every cached document confirmed;
 *     `degraded`    serving last-good documents (database unreachable, listener reconnecting, or a
 *                   document whose check failed) — still answers SDKs: keep it in the load balancer;
 *     `unavailable` the database is unreachable and there is nothing to serve: no cached document,
 *                   and no snapshot document with a key that opens it (a snapshot directory that
 *                   is set but empty counts as nothing): take it out of the load balancer (503);
 *     `stopping`    shutting down (SIGTERM): finishing the requests in flight (503).
 *
 * Never waits on the database for more than PROBE_WAIT_MS: the database check is a `select 1`
 * shared by concurrent readiness requests, at most one per PROBE_MAX_AGE_MS.
 */
import { sql } from "drizzle-orm";
import { isDatabaseDown, reportDatabaseError, markUp } from "@/server/db/availability";
import { getDb } from "@/server/db/client";
import { processSlot } from "@/server/singleton";
import { cachedDocumentCount, isServingStale, stalenessSeconds } from "./document-cache";
import { ensureListener, isListening } from "./listener";
import { snapshotEnabled, snapshotServable } from "./snapshot";

export const PROBE_MAX_AGE_MS = 1_000;
export const PROBE_WAIT_MS = 500;

interface ProbeState {
  at: number;
  ok: boolean | null;
  pending: Promise<boolean> | null;
}

const slot = processSlot<ProbeState>("readinessProbe");

function probe(): Promise<boolean> {
  const current = slot.getOrCreate(() => ({ at: 0, ok: null, pending: null }));
  if (current.pending) return current.pending;
  if (Date.now() - current.at < PROBE_MAX_AGE_MS && current.ok !== null) return Promise.resolve(current.ok);
  const pending = getDb()
    .execute(sql`select 1`)
    .then(
      () => {
        markUp();
        return true;
      },
      (error: unknown) => {
        reportDatabaseError(error);
        return false;
      },
    )
    .then((ok) => {
      current.at = Date.now();
      current.ok = ok;
      current.pending = null;
      return ok;
    });
  current.pending = pending;
  return pending;
}

async function databaseReachable(): Promise<boolean> {
  if (isDatabaseDown()) return false;
  const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), PROBE_WAIT_MS).unref());
  const answer = await Promise.race([probe(), timeout]);
  return answer === true;
}

const stoppingSlot = processSlot<boolean>("webStopping");

/** The process is shutting down: readiness answers `stopping` (503) so load balancers stop sending. */
export function markStopping(): void {
  stoppingSlot.set(true);
}

export interface Readiness {
  status: "ready" | "degraded" | "unavailable" | "stopping";
  checks: {
    database: "up" | "down";
    listener: "connected" | "disconnected";
    documents: { cached: number; stale: boolean; stalenessSeconds: number; snapshot: boolean };
  };
}

export async function readiness(): Promise<Readiness> {
  ensureListener();
  const database = await databaseReachable();
  const listener = isListening();
  const cached = cachedDocumentCount();
  const stale = isServingStale();
  const status = stoppingSlot.get()
    ? "stopping"
    : database && listener && !stale
      ? "ready"
      : database || cached > 0 || snapshotServable()
        ? "degraded"
        : "unavailable";
  return {
    status,
    checks: {
      database: database ? "up" : "down",
      listener: listener ? "connected" : "disconnected",
      documents: { cached, stale, stalenessSeconds: Math.round(stalenessSeconds() * 10) / 10, snapshot: snapshotEnabled() },
    },
  };
}
