/**
 * Database for command-line tools (import, documents:rebuild, bootstrap): DATABASE_URL when set;
 * else the embedded PostgreSQL of a running `npm start` (its launcher records the URL in
 * `.data/runtime.json`); else the embedded cluster in `.data/` is started for the duration of the
 * command — unless some other PostgreSQL already runs on it (another tool's, or an orphan): two
 * servers cannot share a data directory, and a tool never stops someone else's server.
 */
import fs from "node:fs";
import path from "node:path";
import { isAlive, runningPostmaster, startEmbeddedPostgres } from "./embedded";
import { migrateDatabase } from "./migrate";

export function dataDir(): string {
  return path.resolve(process.cwd(), process.env.FLAGPOST_DATA_DIR || ".data");
}

export function runtimeFile(dir = dataDir()): string {
  return path.join(dir, "runtime.json");
}

/** Written by the launcher while its embedded database runs (`port`: its web process's PORT). */
export function writeRuntime(info: { url: string; launcherPid: number; port?: number }, dir = dataDir()): void {
  fs.writeFileSync(runtimeFile(dir), JSON.stringify(info), { mode: 0o600 });
}

export function clearRuntime(dir = dataDir()): void {
  fs.rmSync(runtimeFile(dir), { force: true });
}

/** The running `npm start` on this data directory (from its runtime record), if any. */
export function runningLauncher(dir = dataDir()): { pid: number; url: string; port?: number } | undefined {
  const file = runtimeFile(dir);
  if (!fs.existsSync(file)) return undefined;
  try {
    const info = JSON.parse(fs.readFileSync(file, "utf8")) as { url?: unknown; launcherPid?: unknown; port?: unknown };
    return typeof info.url === "string" && typeof info.launcherPid === "number" && isAlive(info.launcherPid)
      ? { pid: info.launcherPid, url: info.url, ...(typeof info.port === "number" ? { port: info.port } : {}) }
      : undefined;
  } catch {
    return undefined; // unreadable record: treated as absent
  }
}

function launcherDatabaseUrl(): string | undefined {
  return runningLauncher()?.url;
}

export type ToolDatabase = { source: "url" | "launcher"; url: string } | { source: "embedded" };

/**
 * Where a tool's database comes from: DATABASE_URL, a running `npm start`, or the embedded cluster
 * the tool starts itself. Throws when a PostgreSQL without a live `npm start` runs on the data directory.
 */
export function toolDatabase(): ToolDatabase {
  if (process.env.DATABASE_URL) return { source: "url", url: process.env.DATABASE_URL };
  const url = launcherDatabaseUrl();
  if (url) return { source: "launcher", url };
  const pid = runningPostmaster(path.join(dataDir(), "postgres"));
  if (pid !== undefined) {
    throw new Error(
      `PostgreSQL (pid ${pid}) is already running on ${dataDir()}/postgres, but not for a running \`npm start\` this tool can use.\n` +
        "Two servers cannot share a data directory: stop it (or the `npm start` using it) and retry, or set DATABASE_URL to its URL.",
    );
  }
  return { source: "embedded" };
}

export async function openToolDatabase(): Promise<{ url: string; close: () => Promise<void> }> {
  const found = toolDatabase();
  if (found.source !== "embedded") return { url: found.url, close: async () => undefined };
  const database = await startEmbeddedPostgres({ dataDir: dataDir() });
  await migrateDatabase(database.url);
  return { url: database.url, close: () => database.stop() };
}
