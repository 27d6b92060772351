/**
 * Brings a database to the current schema: drizzle migrations (drizzle/) and graphile-worker's own
 * schema. Idempotent; the launcher runs it on every start, `npm run db:migrate` on demand.
 *
 * Connecting is bounded (`connectTimeoutMs`, DATABASE_CONNECT_TIMEOUT_MS by default: 5 s outside
 * the web process): an unreachable or frozen server fails the call with a connection error
 * (`isDatabaseUnavailable` in availability.ts tells it apart from a failing migration) instead of
 * waiting forever. The statements themselves are not bounded: a migration may take long.
 */
import path from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { Logger, runMigrations } from "graphile-worker";
import { settings } from "@/server/config";

const quietLogger = new Logger(() => () => undefined);

export const MIGRATIONS_FOLDER = path.resolve(process.cwd(), "drizzle");

export interface MigrateOptions {
  /** Longest wait for a connection (0: no limit); DATABASE_CONNECT_TIMEOUT_MS by default. */
  connectTimeoutMs?: number;
}

export async function migrateDatabase(connectionString: string, migrationsFolder = MIGRATIONS_FOLDER, options: MigrateOptions = {}): Promise<void> {
  const connectTimeoutMs = options.connectTimeoutMs ?? settings().databaseConnectTimeoutMs;
  const pool = new pg.Pool({
    connectionString,
    max: 2,
    connectionTimeoutMillis: connectTimeoutMs > 0 ? connectTimeoutMs : undefined,
    // A server that vanishes mid-migration is noticed (TCP keepalive) rather than waited on for ever.
    keepAlive: true,
  });
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  try {
    // Keep concurrent starters (web + worker + CLI) from migrating at the same time.
    const client = await pool.connect();
    try {
      await client.query("select pg_advisory_lock(727274)");
      await client.query("set client_min_messages = warning");
      await migrate(drizzle(client), { migrationsFolder });
      await runMigrations({ pgPool: pool, logger: quietLogger });
    } finally {
      await client.query("select pg_advisory_unlock(727274)").catch(() => undefined);
      client.release();
    }
  } finally {
    await pool.end();
  }
}
