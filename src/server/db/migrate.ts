/**
 * Brings a database to the current schema: drizzle migrations (drizzle/) and graphile-worker's own
 * schema. Idempotent; the launcher runs it on every start.
 */
import path from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { Logger, runMigrations } from "graphile-worker";

const quietLogger = new Logger(() => () => undefined);

export const MIGRATIONS_FOLDER = path.resolve(process.cwd(), "drizzle");

export async function migrateDatabase(connectionString: string, migrationsFolder = MIGRATIONS_FOLDER): Promise<void> {
  const pool = new pg.Pool({ connectionString, max: 2 });
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
