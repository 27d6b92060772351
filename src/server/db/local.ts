/**
 * Database for command-line tools (import, documents:rebuild, bootstrap): DATABASE_URL when set;
 * else the embedded PostgreSQL of a running `npm start` (its launcher records the URL in
 * `.data/runtime.json`); else the embedded cluster in `.data/` is started for the duration of the
 * command.
 */
import fs from "node:fs";
import path from "node:path";
import { startEmbeddedPostgres } from "./embedded";
import { migrateDatabase } from "./migrate";

export function dataDir(): string {
  return path.resolve(process.cwd(), process.env.FLAGPOST_DATA_DIR || ".data");
}

export function runtimeFile(): string {
  return path.join(dataDir(), "runtime.json");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Written by the launcher while its embedded database runs. */
export function writeRuntime(info: { url: string; launcherPid: number }): void {
  fs.writeFileSync(runtimeFile(), JSON.stringify(info), { mode: 0o600 });
}

export function clearRuntime(): void {
  fs.rmSync(runtimeFile(), { force: true });
}

export async function openToolDatabase(): Promise<{ url: string; close: () => Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, close: async () => undefined };
  const file = runtimeFile();
  if (fs.existsSync(file)) {
    const info = JSON.parse(fs.readFileSync(file, "utf8")) as { url: string; launcherPid: number };
    if (alive(info.launcherPid)) return { url: info.url, close: async () => undefined };
  }
  const database = await startEmbeddedPostgres({ dataDir: dataDir() });
  await migrateDatabase(database.url);
  return { url: database.url, close: () => database.stop() };
}
