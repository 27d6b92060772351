/**
 * Whether this process can reach its database right now, learnt from what its queries meet.
 *
 * A query that fails because the database is away (connection refused or reset, a connect or
 * statement timeout, the server shutting down …: `isDatabaseUnavailable`) marks it down. While it
 * is down, callers that have another answer (last-good documents, transient identity evaluation)
 * use it at once instead of waiting for their own timeout, and the rest answer 503 / a typed tRPC
 * error at once. A probe (`select 1`, bounded by the pool's timeouts) runs every PROBE_INTERVAL_MS
 * and marks it up again as soon as one succeeds. The transitions are logged once each
 * (`db.database.unavailable` / `db.database.available`), never per request.
 */
import { causeChain } from "@/server/errors";
import { getLogger } from "@/server/observability/logger";
import { gauge } from "@/server/observability/metrics";
import { processSlot } from "@/server/singleton";

const log = getLogger("db");

export const PROBE_INTERVAL_MS = 1000;

const databaseUp = gauge("flagsmith_db_database_up", "1 while this process reaches its database, 0 from a failed query (connection refused or reset, connect or statement timeout) until a probe succeeds.");

interface AvailabilityState {
  down: boolean;
  since: number;
  /** Settled when the database is next marked down (a new one after each). */
  wentDown: { promise: Promise<void>; resolve: () => void };
  probe: NodeJS.Timeout | null;
  /** A probe after a closed connection is running. */
  checking: boolean;
  /** The query that proves the database is back (set by the pool owner: client.ts). */
  prober: (() => Promise<unknown>) | null;
  /** Told when the database goes down (true) or comes back (false). */
  watchers: Map<string, (down: boolean) => void>;
}

const slot = processSlot<AvailabilityState>("databaseAvailability");
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

const createState = (): AvailabilityState => ({ down: false, since: 0, wentDown: signal(), probe: null, checking: false, prober: null, watchers: new Map() });
const state = () => slot.getOrCreate(createState);

const UNAVAILABLE_CODES = new Set([
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, shutting down)
  "53300", // too_many_connections
  "57014", // query_canceled: statement_timeout
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);
const UNAVAILABLE_MESSAGES = [
  "timeout exceeded when trying to connect",
  "Connection terminated",
  "Query read timeout",
  "Client has encountered a connection error",
  "Connection ended",
  "the database system is",
];

/** Whether `error` (or anything in its `cause` chain) means the database is away rather than that the query was wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const current of causeChain(error)) {
    const { code, message } = current;
    if (typeof code === "string" && (UNAVAILABLE_CODES.has(code) || code.startsWith("08"))) return true;
    if (current instanceof DatabaseUnavailableError) return true;
    if (typeof message === "string" && UNAVAILABLE_MESSAGES.some((fragment) => message.includes(fragment))) return true;
  }
  return false;
}

/** Thrown instead of querying while the database is known to be down. */
export class DatabaseUnavailableError extends Error {
  constructor() {
    super("Database unavailable");
    this.name = "DatabaseUnavailableError";
  }
}

/** Whether the database is known to be down (a recent query failed for want of it, no probe has succeeded since). */
export function isDatabaseDown(): boolean {
  return state().down;
}

/** Since when it is down (ms epoch), or null. */
export function databaseDownSince(): number | null {
  const current = state();
  return current.down ? current.since : null;
}

/** Throws DatabaseUnavailableError while the database is known to be down (fail fast instead of waiting). */
export function assertDatabaseUp(): void {
  if (state().down) throw new DatabaseUnavailableError();
}

/**
 * `work` (something waiting on the database), or a DatabaseUnavailableError as soon as the
 * database is marked down by anyone: when one query meets a timeout, every request waiting on the
 * same frozen server is answered at once instead of each waiting for its own. The work itself goes
 * on (it cannot be cancelled) and its outcome is dropped.
 */
export function unlessDatabaseGoesDown<T>(work: Promise<T>): Promise<T> {
  const current = state();
  if (current.down) {
    work.catch(() => undefined);
    return Promise.reject(new DatabaseUnavailableError());
  }
  const down = current.wentDown.promise.then(() => {
    throw new DatabaseUnavailableError();
  });
  return Promise.race([work, down]).finally(() => {
    down.catch(() => undefined);
    work.catch(() => undefined);
  });
}

/** Calls `watcher(true)` when the database goes down and `watcher(false)` when it is back (replacing a watcher of the same name). */
export function watchDatabase(name: string, watcher: (down: boolean) => void): void {
  state().watchers.set(name, watcher);
}

function notifyWatchers(current: AvailabilityState, down: boolean): void {
  for (const watcher of current.watchers.values()) {
    try {
      watcher(down);
    } catch {
      // A watcher's failure is its own.
    }
  }
}

/** Sets the probe query (client.ts: `select 1` on the pool). */
export function setDatabaseProber(prober: () => Promise<unknown>): void {
  state().prober = prober;
}

/**
 * Errors that say the server cannot be reached at all (as opposed to one connection having been
 * closed — terminated by an administrator, a pooler, a restart in progress — or one statement having
 * run past the statement timeout on a server that answers: a probe decides those).
 */
const HARD_CODES = new Set(["57P03", "53300", "ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
const HARD_MESSAGES = ["timeout exceeded when trying to connect", "Query read timeout", "Connection terminated due to connection timeout", "the database system is"];

function isHard(error: unknown): boolean {
  for (const current of causeChain(error)) {
    const { code, message } = current;
    if (current instanceof DatabaseUnavailableError) return true;
    if (typeof code === "string" && HARD_CODES.has(code)) return true;
    if (typeof message === "string" && HARD_MESSAGES.some((fragment) => message.includes(fragment))) return true;
  }
  return false;
}

/**
 * Reports a failed query. When it failed for want of the database: a refused connection or a
 * timeout marks the database down; a closed connection (terminated, reset) starts a probe at once,
 * which marks it down only if the server does not answer. Returns whether the failure was for want
 * of the database (the caller answers 503, or serves what it has).
 */
export function reportDatabaseError(error: unknown): boolean {
  if (!isDatabaseUnavailable(error)) return false;
  if (isHard(error)) markDown(error);
  else probeNow(error);
  return true;
}

function probeNow(error: unknown): void {
  const current = state();
  if (current.down || current.checking || !current.prober) return;
  current.checking = true;
  current
    .prober()
    .then(
      () => undefined,
      () => markDown(error),
    )
    .finally(() => {
      current.checking = false;
    });
}

function markDown(error: unknown): void {
  const current = state();
  if (current.down) return;
  current.down = true;
  current.since = Date.now();
  databaseUp.set(0);
  const wentDown = current.wentDown;
  current.wentDown = signal();
  wentDown.resolve();
  notifyWatchers(current, true);
  log.warn("database.unavailable", { error });
  scheduleProbe(current);
}

function scheduleProbe(current: AvailabilityState): void {
  if (current.probe) return;
  current.probe = setTimeout(() => {
    current.probe = null;
    const prober = current.prober;
    if (!current.down) return;
    if (!prober) {
      // Nobody can probe (no pool yet): the next real query decides.
      markUp();
      return;
    }
    prober().then(
      () => markUp(),
      () => scheduleProbe(current),
    );
  }, PROBE_INTERVAL_MS);
  current.probe.unref();
}

/** Reports a query that reached the database. */
export function markUp(): void {
  const current = state();
  if (!current.down) return;
  const outageMs = Date.now() - current.since;
  current.down = false;
  current.since = 0;
  if (current.probe) clearTimeout(current.probe);
  current.probe = null;
  databaseUp.set(1);
  log.info("database.available", { outage__ms: outageMs });
  notifyWatchers(current, false);
}

databaseUp.set(1);
