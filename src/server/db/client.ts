/**
 * The drizzle client. One pg pool per process (kept on globalThis so that Next.js module reloads
 * and duplicate bundles share it), created on first use from `DATABASE_URL`.
 */
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import { settings } from "@/server/config";
import * as schema from "@/server/db/schema";
import { processSlot } from "@/server/singleton";
import { reportDatabaseError, setDatabaseProber } from "./availability";

export type Database = NodePgDatabase<typeof schema>;
/** A transaction handle; domain services take `Database | Tx` so they compose inside one transaction. */
export type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type Executor = Database | Tx;

// int8 columns (counts, bigserial ids) as JavaScript numbers: our values stay far below 2^53.
pg.types.setTypeParser(20, (value: string) => Number.parseInt(value, 10));

interface DbState {
  url: string;
  pool: pg.Pool;
  db: Database;
}

const slot = processSlot<DbState>("db");

/**
 * The database of this process: `DATABASE_URL` as it is now (command-line tools set it after
 * opening their database, possibly after the settings were read), else as read at start.
 */
export function configuredDatabaseUrl(): string | undefined {
  return process.env.DATABASE_URL ?? settings().databaseUrl;
}

function databaseUrl(): string {
  const url = configuredDatabaseUrl();
  if (!url) {
    throw new Error("DATABASE_URL is not set: start Flagpost with `npm start`, or set DATABASE_URL to a PostgreSQL database.");
  }
  return url;
}

/**
 * Bounded waits (docs/deployment.md): a connection within `databaseConnectTimeoutMs` (also the wait
 * for a free pooled one), statements within `databaseStatementTimeoutMs` (server-side; the client
 * stops waiting 250 ms later, for a server that answers nothing at all, e.g. frozen), and no
 * transaction idle longer than `databaseIdleInTransactionTimeoutMs`.
 *
 * pg sends the two server-side timeouts as startup parameters of each connection. A transaction
 * pooler (PgBouncer) refuses those ("unsupported startup parameter") unless told to ignore them,
 * and then drops them: with DATABASE_STARTUP_TIMEOUTS=false they are not sent, the client-side
 * bound stays, and the server-side limits come from the role or the pooler instead.
 */
export function poolOptions(url: string, overrides: pg.PoolConfig = {}): pg.PoolConfig {
  const { databasePoolSize, processName, databaseConnectTimeoutMs, databaseStatementTimeoutMs, databaseIdleInTransactionTimeoutMs, databaseStartupTimeouts } = settings();
  return {
    connectionString: url,
    max: databasePoolSize,
    application_name: processName,
    connectionTimeoutMillis: databaseConnectTimeoutMs > 0 ? databaseConnectTimeoutMs : undefined,
    statement_timeout: databaseStartupTimeouts && databaseStatementTimeoutMs > 0 ? databaseStatementTimeoutMs : undefined,
    query_timeout: databaseStatementTimeoutMs > 0 ? databaseStatementTimeoutMs + 250 : undefined,
    idle_in_transaction_session_timeout: databaseStartupTimeouts && databaseIdleInTransactionTimeoutMs > 0 ? databaseIdleInTransactionTimeoutMs : undefined,
    // Dead peers (a stopped or unreachable server) are noticed by the kernel, not only by a timeout.
    keepAlive: true,
    ...overrides,
  };
}

function state(): DbState {
  const url = databaseUrl();
  let current = slot.get();
  if (!current || current.url !== url) {
    const pool = new pg.Pool(poolOptions(url));
    // An idle client losing its connection must not crash the process; the pool replaces it. A
    // connection that died because the server went away marks the database down (availability.ts).
    pool.on("error", (error) => void reportDatabaseError(error));
    pool.on("connect", (client) => client.on("error", (error) => void reportDatabaseError(error)));
    setDatabaseProber(() => pool.query("select 1"));
    current = { url, pool, db: drizzle(pool, { schema }) };
    slot.set(current);
  }
  return current;
}

export function getDb(): Database {
  return state().db;
}

export function getPool(): pg.Pool {
  return state().pool;
}

export async function closeDb(): Promise<void> {
  const current = slot.get();
  if (current) {
    slot.set(undefined);
    await current.pool.end();
  }
}
