/**
 * Starts Flagpost's production processes — the web server (scripts/web.ts, with the built Next.js
 * app) and the worker (src/worker/main.ts), each directly, without the launcher — on a free
 * loopback port against `databaseUrl`. Builds first when the build is missing or stale. Every web
 * process gets its own free flagd gRPC sync port too (FLAGD_SYNC_PORT), unless `env` sets one.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { freePort } from "../../src/server/db/embedded";
import { nextBuildState, runNextBuild } from "../../scripts/next-build";

const root = path.resolve(__dirname, "../..");

export interface RunningSystem {
  url: string;
  /** The web process's flagd gRPC sync port (on 127.0.0.1). */
  flagdSyncPort: number;
  /** The web process's /metrics (its own listener, not the public port). */
  metricsUrl: string;
  web: ChildProcess;
  worker: ChildProcess;
  logs: { web: string[]; worker: string[] };
  stop(): Promise<void>;
}

/** Builds first when the build is missing or older than its sources (as `npm start` does). */
export function ensureBuilt(): void {
  if (nextBuildState(root) === "current") return;
  if (runNextBuild(root) !== 0) throw new Error("next build failed");
}

/** Keeps the last 20,000 lines of a child's output in `into`, and every line in `file` when given. */
function capture(child: ChildProcess, into: string[], file?: string): void {
  const push = (chunk: Buffer) => {
    if (file) fs.appendFileSync(file, chunk);
    for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) into.push(line);
    if (into.length > 20_000) into.splice(0, into.length - 20_000);
  };
  child.stdout?.on("data", push);
  child.stderr?.on("data", push);
}

async function waitFor(url: string, child: ChildProcess, logs: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited early:\n${logs.slice(-30).join("\n")}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${url}:\n${logs.slice(-30).join("\n")}`);
}

export async function startWorkerProcess(databaseUrl: string, env: Record<string, string> = {}, logFile?: string): Promise<{ child: ChildProcess; logs: string[]; metricsPort: number }> {
  const metricsPort = await freePort();
  const logs: string[] = [];
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "src/worker/main.ts")], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, WORKER_METRICS_PORT: String(metricsPort), FLAGPOST_PROCESS: "worker", LOG_LEVEL: "debug", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  capture(child, logs, logFile);
  await waitFor(`http://127.0.0.1:${metricsPort}/metrics`, child, logs, 60_000);
  return { child, logs, metricsPort };
}

/** A worker process that is not waited for (its logs fill as it runs; it may fail to start). */
export async function startWorkerProcessRaw(databaseUrl: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; logs: string[] }> {
  const logs: string[] = [];
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "src/worker/main.ts")], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, FLAGPOST_PROCESS: "worker", LOG_LEVEL: "debug", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  capture(child, logs);
  return { child, logs };
}

/** Signals the process and waits for it to exit, killing it after `killAfterMs`. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", killAfterMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
    }, killAfterMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * One web process on a free loopback port, its /metrics on another: scripts/web.ts itself, without
 * the launcher that `npm run start:web` runs around it (the launcher first migrates, and starts the
 * web even when the database is unreachable: tests/integration/system/launcher-outage.test.ts).
 */
export async function startWebProcess(options: { databaseUrl: string; env?: Record<string, string>; waitForReady?: boolean; logFile?: string }): Promise<{ url: string; metricsUrl: string; child: ChildProcess; logs: string[]; flagdSyncPort: number }> {
  ensureBuilt();
  const port = await freePort();
  const metricsPort = await freePort();
  const flagdSyncPort = Number(options.env?.FLAGD_SYNC_PORT ?? (await freePort()));
  const url = `http://127.0.0.1:${port}`;
  const logs: string[] = [];
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "scripts/web.ts")], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      FLAGPOST_PROCESS: "web",
      HOST: "127.0.0.1",
      PORT: String(port),
      FLAGD_SYNC_PORT: String(flagdSyncPort),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: "debug",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  capture(child, logs, options.logFile);
  // Live, or ready (a process started without its database is live but never ready).
  await waitFor(`${url}/api/health/${options.waitForReady === false ? "live" : "ready"}`, child, logs, 90_000);
  const metricsUrl = options.env?.METRICS_PORT === "0" ? `${url}/metrics` : `http://127.0.0.1:${options.env?.METRICS_PORT ?? metricsPort}/metrics`;
  return { url, metricsUrl, child, logs, flagdSyncPort };
}

/** `logDir`: every line the web process and the worker write also goes to `web.log` / `worker.log` there. */
export async function startSystem(options: { databaseUrl: string; guard?: (pid: number) => void; env?: Record<string, string>; logDir?: string }): Promise<RunningSystem> {
  const web = await startWebProcess({
    databaseUrl: options.databaseUrl,
    env: { PROPAGATED_HEADERS: "traceparent,x-tenant-id", ...options.env },
    logFile: options.logDir && path.join(options.logDir, "web.log"),
  });
  if (web.child.pid) options.guard?.(web.child.pid);
  const worker = await startWorkerProcess(options.databaseUrl, { PROPAGATED_HEADERS: "traceparent,x-tenant-id", ...options.env }, options.logDir && path.join(options.logDir, "worker.log"));
  if (worker.child.pid) options.guard?.(worker.child.pid);
  return {
    url: web.url,
    flagdSyncPort: web.flagdSyncPort,
    metricsUrl: web.metricsUrl,
    web: web.child,
    worker: worker.child,
    logs: { web: web.logs, worker: worker.logs },
  async stop() {
      await Promise.all([stopProcess(web.child), stopProcess(worker.child)]);
    },
  };
}
