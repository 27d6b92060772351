/**
 * `npm start` / `npm run dev` / `npm run start:web` / `npm run start:worker`.
 *
 * start  — database (DATABASE_URL, else embedded PostgreSQL in .data/), migrations, `next build` if
 *          the build is missing or older than the sources, then web (`next start`) and worker.
 * dev    — the same with `next dev`.
 * web, worker — one process each, against DATABASE_URL (for deployments that scale them apart).
 *
 * SIGINT/SIGTERM stop web and worker first, then the embedded database; nothing is left running.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../src/server/db/embedded";
import { migrateDatabase } from "../src/server/db/migrate";
import { clearRuntime, writeRuntime } from "../src/server/db/local";

type Mode = "start" | "dev" | "web" | "worker";
const mode = (process.argv[2] ?? "start") as Mode;
const root = path.resolve(__dirname, "..");
const host = process.env.HOST || "127.0.0.1";
const port = Number.parseInt(process.env.PORT || "3000", 10);
const nextBin = path.join(root, "node_modules", "next", "dist", "bin", "next");

function say(message: string): void {
  process.stderr.write(`[flagpost] ${message}\n`);
}

function newestMtime(entry: string): number {
  if (!fs.existsSync(entry)) return 0;
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const child of fs.readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, child)));
  return newest;
}

function buildIfNeeded(): void {
  const buildId = path.join(root, ".next", "BUILD_ID");
  const builtAt = fs.existsSync(buildId) ? fs.statSync(buildId).mtimeMs : 0;
  const sources = ["src", "public", "next.config.ts", "package.json", "package-lock.json", "tsconfig.json"].map((p) =>
    newestMtime(path.join(root, p)),
  );
  if (builtAt > 0 && builtAt >= Math.max(...sources)) return;
  say(builtAt ? "sources changed since the last build: running next build…" : "first start: running next build…");
  const result = spawnSync(process.execPath, [nextBin, "build"], { cwd: root, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  if (result.status !== 0) {
    say("next build failed");
    process.exit(result.status ?? 1);
  }
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const response = await fetch(url);
      if (response.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function main(): Promise<void> {
  let database: EmbeddedDatabase | undefined;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    if (mode === "web" || mode === "worker") {
      say(`\`npm run start:${mode}\` needs DATABASE_URL (use \`npm start\` for the all-in-one embedded setup)`);
      process.exit(2);
    }
    const dataDir = path.resolve(root, process.env.FLAGPOST_DATA_DIR || ".data");
    say(`starting embedded PostgreSQL in ${path.relative(root, dataDir) || dataDir}/`);
    database = await startEmbeddedPostgres({ dataDir });
    databaseUrl = database.url;
    // Command-line tools (import, documents:rebuild) find the running database here.
    writeRuntime({ url: database.url, launcherPid: process.pid });
  }
  await migrateDatabase(databaseUrl);

  const children: ChildProcess[] = [];
  let shuttingDown = false;
  const env = { ...process.env, DATABASE_URL: databaseUrl, HOSTNAME: host, NEXT_TELEMETRY_DISABLED: "1" };

  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say("shutting down…");
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => {
              child.kill("SIGKILL");
              resolve();
            }, 10_000);
            child.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
    if (database) {
      clearRuntime();
      await database.stop();
    }
    say("stopped");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
  process.on("SIGHUP", () => void shutdown(0));

  const launch = (name: string, args: string[], extraEnv: Record<string, string>) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: "inherit", env: { ...env, ...extraEnv } });
    if (child.pid && database) database.guard(child.pid);
    child.on("exit", (code, signal) => {
      if (!shuttingDown) {
        say(`${name} exited (${signal ?? code}); stopping everything`);
        void shutdown(code || 1);
      }
    });
    children.push(child);
    return child;
  };

  if (mode === "start") buildIfNeeded();
  if (mode === "start" || mode === "dev" || mode === "web") {
    // Production: our web server (Next for pages and tRPC, the public API answered directly);
    // dev: `next dev` serves everything through the same route handlers.
    const args = mode === "dev" ? [nextBin, "dev", "-H", host, "-p", String(port)] : ["--import", "tsx", path.join(root, "scripts", "web.ts")];
    const web = launch("web", args, {
      FLAGPOST_PROCESS: "web",
      NODE_ENV: mode === "dev" ? "development" : "production",
      HOST: host,
      PORT: String(port),
    });
    void waitForHealth(`http://${host}:${port}/api/health`, web, 120_000).then((ok) => {
      if (ok) say(`Flagpost is running at http://${host}:${port}  (Ctrl-C to stop)`);
    });
  }
  if (mode === "start" || mode === "dev" || mode === "worker") {
    launch("worker", ["--import", "tsx", path.join(root, "src", "worker", "main.ts")], { FLAGPOST_PROCESS: "worker" });
  }
}

main().catch((error) => {
  say(`failed to start: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
