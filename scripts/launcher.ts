/**
 * `npm start` / `npm run dev` / `npm run start:web` / `npm run start:worker`.
 *
 * start  — database (DATABASE_URL, else embedded PostgreSQL in .data/), migrations, `next build` if
 *          the build is missing or older than the sources, then web (`next start`) and worker.
 * dev    — the same with `next dev`.
 * web, worker — one process each, against DATABASE_URL (for deployments that scale them apart).
 *          Migrations are applied first when the database answers; when it is unreachable (down,
 *          frozen: the connect is bounded by DATABASE_CONNECT_TIMEOUT_MS) the process is started
 *          anyway — the web serves its last-good snapshot (FLAGPOST_DOCUMENT_CACHE_DIR) and reports
 *          readiness, the worker waits for the database — and the migrations are retried in the
 *          background until they are applied. A migration that fails for another reason stops it.
 *          (`npm start` / `npm run dev` still need their database and migrations before starting.)
 *
 * SIGINT/SIGTERM/SIGHUP stop web and worker first (each finishes its in-flight requests or running
 * job, bounded by SHUTDOWN_TIMEOUT_MS), then the embedded database, and exit 0; nothing is left
 * running. If the launcher's parent disappears (npm killed, a terminal closed) it shuts down the
 * same way by itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../src/server/db/embedded";
import { isDatabaseUnavailable } from "../src/server/db/availability";
import { migrateDatabase } from "../src/server/db/migrate";
import { clearRuntime, runningLauncher, writeRuntime } from "../src/server/db/local";
import { secondInstanceAdvice } from "./launcher-advice";
import { nextBuildState, runNextBuild } from "./next-build";

type Mode = "start" | "dev" | "web" | "worker";
const mode = (process.argv[2] ?? "start") as Mode;
const root = path.resolve(__dirname, "..");
const host = process.env.HOST || "127.0.0.1";
const port = Number.parseInt(process.env.PORT || "3000", 10);
const nextBin = path.join(root, "node_modules", "next", "dist", "bin", "next");
const shutdownTimeoutMs = Number.parseInt(process.env.SHUTDOWN_TIMEOUT_MS || "10000", 10) || 10_000;
const parentPid = process.ppid;

function say(message: string): void {
  process.stderr.write(`[flagpost] ${message}\n`);
}

/** Builds the UI when the sources changed since the last build; false when the build failed. */
function buildIfNeeded(): boolean {
  const state = nextBuildState(root);
  if (state === "current") return true;
  say(state === "stale" ? "sources changed since the last build: running next build…" : "first start: running next build…");
  if (runNextBuild(root) === 0) return true;
  say("next build failed");
  return false;
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
  const dataDir = path.resolve(root, process.env.FLAGPOST_DATA_DIR || ".data");
  // Stops the embedded database when start-up fails before web and worker run.
  const abort = async (message: string, code: number): Promise<never> => {
    say(message);
    if (database) {
      clearRuntime(dataDir);
      await database.stop();
    }
    process.exit(code);
  };
  if (!databaseUrl) {
    if (mode === "web" || mode === "worker") {
      say(`\`npm run start:${mode}\` needs DATABASE_URL (use \`npm start\` for the all-in-one embedded setup)`);
      process.exit(2);
    }
    const other = runningLauncher(dataDir);
    if (other) {
      // Starting a second server would first stop the running one's PostgreSQL.
      // Inside the checkout as FLAGPOST_DATA_DIR reads it (relative to it), elsewhere as an absolute path.
      const shown = dataDir.startsWith(root + path.sep) ? path.relative(root, dataDir) : dataDir;
      say(secondInstanceAdvice({ running: other, dataDir: shown, port, command: mode === "dev" ? "npm run dev" : "npm start" }));
      process.exit(1);
    }
    say(`starting embedded PostgreSQL in ${path.relative(root, dataDir) || dataDir}/`);
    database = await startEmbeddedPostgres({ dataDir });
    databaseUrl = database.url;
    // Command-line tools (import, documents:rebuild) find the running database here.
    writeRuntime({ url: database.url, launcherPid: process.pid, port }, dataDir);
  }
  // web / worker alone: a database that does not answer does not keep the process from starting.
  let migrationsPending = false;
  try {
    await migrateDatabase(databaseUrl);
  } catch (error) {
    if ((mode === "web" || mode === "worker") && isDatabaseUnavailable(error)) {
      migrationsPending = true;
      say(`PostgreSQL is unreachable (${(error as Error).message}): starting the ${mode} anyway; migrations are applied once it answers`);
    } else {
      await abort(`database migration failed: ${(error as Error).message}`, 1);
    }
  }
  if (mode === "start" && !buildIfNeeded()) await abort("not starting: fix the build errors above", 1);

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
            // Each child drains within SHUTDOWN_TIMEOUT_MS; a little more before it is killed.
            const timer = setTimeout(() => {
              child.kill("SIGKILL");
              resolve();
            }, shutdownTimeoutMs + 2_000);
            child.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
    if (database) {
      clearRuntime(dataDir);
      await database.stop();
    }
    say("stopped");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
  process.on("SIGHUP", () => void shutdown(0));
  // The parent (npm, a shell) gone without signalling us: we were orphaned, so stop everything.
  const orphanWatch = setInterval(() => {
    if (process.ppid !== parentPid) {
      clearInterval(orphanWatch);
      say(`parent process ${parentPid} is gone`);
      void shutdown(0);
    }
  }, 500);
  orphanWatch.unref();

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
    void waitForHealth(`http://${host}:${port}/api/health/ready`, web, 120_000).then((ok) => {
      if (ok) say(`Flagpost is running at http://${host}:${port}  (Ctrl-C to stop)`);
    });
  }
  if (mode === "start" || mode === "dev" || mode === "worker") {
    launch("worker", ["--import", "tsx", path.join(root, "src", "worker", "main.ts")], { FLAGPOST_PROCESS: "worker" });
  }
  if (migrationsPending) void migrateWhenReachable(databaseUrl, () => shuttingDown, shutdown);
}

/**
 * Retries the migrations (backoff 1 s … 15 s) until the database answers and they are applied; a
 * migration failing for any other reason than an unreachable database stops everything (exit 1),
 * as it would have at start.
 */
async function migrateWhenReachable(databaseUrl: string, stopped: () => boolean, shutdown: (code: number) => Promise<void>): Promise<void> {
  for (let delay = 1_000; ; delay = Math.min(delay * 2, 15_000)) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    if (stopped()) return;
    try {
      await migrateDatabase(databaseUrl);
      say("PostgreSQL answers: migrations applied");
      return;
    } catch (error) {
      if (stopped()) return;
      if (isDatabaseUnavailable(error)) continue;
      say(`database migration failed: ${(error as Error).message}`);
      await shutdown(1);
      return;
    }
  }
}

main().catch((error) => {
  say(`failed to start: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
