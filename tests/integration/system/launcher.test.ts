import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { freePort } from "../../../src/server/db/embedded";
import { ensureBuilt } from "../../support/system";

const root = path.resolve(__dirname, "../../..");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function descendants(pid: number): number[] {
  let out: string;
  try {
    out = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" });
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const line of out.trim().split("\n")) {
    const [child, parent] = line.trim().split(/\s+/).map(Number);
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return predicate();
}

async function startLauncher() {
  ensureBuilt();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-launcher-"));
  const port = await freePort();
  const workerPort = await freePort();
  const metricsPort = await freePort();
  const launcher = spawn(process.execPath, ["--import", "tsx", path.join(root, "scripts/launcher.ts"), "start"], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: "", FLAGPOST_DATA_DIR: dataDir, PORT: String(port), FLAGD_SYNC_PORT: String(await freePort()), WORKER_METRICS_PORT: String(workerPort), METRICS_PORT: String(metricsPort), LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, like a shell job: a terminal's Ctrl-C signals the whole group.
    detached: true,
  });
  const output: string[] = [];
  launcher.stdout?.on("data", (c: Buffer) => output.push(c.toString()));
  launcher.stderr?.on("data", (c: Buffer) => output.push(c.toString()));
  const up = await until(async () => {
    try {
      const [web, worker] = await Promise.all([fetch(`http://127.0.0.1:${port}/api/health`), fetch(`http://127.0.0.1:${workerPort}/metrics`)]);
      return web.ok && worker.ok;
    } catch {
      return false;
    }
  }, 90_000);
  if (!up) {
    launcher.kill("SIGKILL");
    throw new Error(`launcher did not come up:\n${output.join("")}`);
  }
  const postgresPid = Number(fs.readFileSync(path.join(dataDir, "postgres", "postmaster.pid"), "utf8").split("\n")[0]);
  return { launcher, dataDir, port, output, postgresPid, tree: descendants(launcher.pid!) };
}

describe("launcher (npm start)", () => {
  it("launcher__ctrlCInTerminal__stopsWebWorkerThenPostgresCleanlyAndExitsZero", { timeout: 150_000 }, async () => {
    // Given a running Flagpost started by the launcher on an embedded database, as a terminal job
    const { launcher, dataDir, postgresPid, tree, output } = await startLauncher();
    onTestFinished(() => {
      // Whatever happened, leave nothing running (SIGKILL: the guardian stops the rest).
      if (launcher.exitCode === null) launcher.kill("SIGKILL");
    });
    expect(alive(postgresPid)).toBe(true);
    expect(await until(() => output.join("").includes("Flagpost is running at"), 10_000)).toBe(true);

    // When Ctrl-C sends SIGINT to the whole process group
    const exited = new Promise<number | null>((resolve) => launcher.once("exit", (code) => resolve(code)));
    process.kill(-launcher.pid!, "SIGINT");

    // Then it exits 0, nothing it started is left running, and web and worker stopped before the
    // database did (no connection errors on the way out)
    expect(await exited).toBe(0);
    expect(await until(() => [postgresPid, ...tree].every((pid) => !alive(pid)), 15_000)).toBe(true);
    const text = output.join("");
    expect(text).toContain("[flagpost] stopped");
    expect(text).not.toMatch(/terminating connection due to administrator command/);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("launcher__secondStartOnSameDataDir__refusesAndLeavesTheFirstRunning", { timeout: 150_000 }, async () => {
    // Given a running Flagpost started by the launcher
    const { launcher, dataDir, port, postgresPid } = await startLauncher();
    onTestFinished(() => {
      if (launcher.exitCode === null) launcher.kill("SIGKILL");
    });

    // When a second launcher is started on the same data directory, with another PORT
    const secondPort = await freePort();
    const second = spawn(process.execPath, ["--import", "tsx", path.join(root, "scripts/launcher.ts"), "start"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: "", FLAGPOST_DATA_DIR: dataDir, PORT: String(secondPort), FLAGD_SYNC_PORT: String(await freePort()), LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let secondOutput = "";
    second.stderr?.on("data", (c: Buffer) => (secondOutput += c.toString()));
    const code = await new Promise<number | null>((resolve) => second.once("exit", (c) => resolve(c)));

    // Then it refuses, saying who runs there and exactly how to run a second instance, and the first instance and its
    // database keep serving
    expect(code).toBe(1);
    expect(secondOutput).toContain(`Flagpost (pid ${launcher.pid}) is already running at port ${port} on ${dataDir}/`);
    expect(secondOutput).toContain(`FLAGPOST_DATA_DIR=${dataDir}-${secondPort} PORT=${secondPort} npm start`);
    expect(alive(postgresPid)).toBe(true);
    const health = await fetch(`http://127.0.0.1:${port}/api/health`);
    expect(health.status).toBe(200);

    // (and it stops cleanly afterwards)
    const exited = new Promise<number | null>((resolve) => launcher.once("exit", (c) => resolve(c)));
    launcher.kill("SIGTERM");
    expect(await exited).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("launcher__sigtermFromServiceManager__stopsEverythingAndExitsZero", { timeout: 150_000 }, async () => {
    // Given a running Flagpost started by the launcher
    const { launcher, dataDir, postgresPid, tree } = await startLauncher();
    onTestFinished(() => {
      if (launcher.exitCode === null) launcher.kill("SIGKILL");
    });

    // When only the launcher receives SIGTERM
    const exited = new Promise<number | null>((resolve) => launcher.once("exit", (code) => resolve(code)));
    launcher.kill("SIGTERM");

    // Then it stops its children and the database and exits 0
    expect(await exited).toBe(0);
    expect(await until(() => [postgresPid, ...tree].every((pid) => !alive(pid)), 15_000)).toBe(true);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("launcher__killedWithSigkill__guardianStopsPostgresAndChildren", { timeout: 150_000 }, async () => {
    // Given a running Flagpost started by the launcher
    const { launcher, dataDir, postgresPid, tree } = await startLauncher();
    onTestFinished(() => {
      if (launcher.exitCode === null) launcher.kill("SIGKILL");
    });

    // When the launcher itself is killed without a chance to clean up
    launcher.kill("SIGKILL");

    // Then postgres, web and worker are stopped anyway (guardian), and the data dir restarts cleanly
    expect(await until(() => [postgresPid, ...tree].every((pid) => !alive(pid)), 20_000)).toBe(true);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("npmStart__sigtermToTheNpmProcessOnly__nothingOfTheStackLeftAfter15Seconds", { timeout: 150_000 }, async () => {
    // Given `npm start` (npm → sh → node launcher → web, worker, PostgreSQL), as a process manager runs it
    ensureBuilt();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-npm-"));
    const port = await freePort();
    const npm = spawn("npm", ["start"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: "", FLAGPOST_DATA_DIR: dataDir, PORT: String(port), FLAGD_SYNC_PORT: String(await freePort()), WORKER_METRICS_PORT: String(await freePort()), LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    onTestFinished(() => {
      try {
        process.kill(-npm.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    });
    const up = await until(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/api/health/ready`)).ok;
      } catch {
        return false;
      }
    }, 120_000);
    expect(up).toBe(true);
    const tree = descendants(npm.pid!);
    expect(tree.length).toBeGreaterThanOrEqual(4);

    // When SIGTERM is sent to the npm process alone (not its group): npm exits without passing it on
    npm.kill("SIGTERM");

    // Then the launcher notices it was orphaned and stops web, worker and PostgreSQL: nothing is left within 15 s
    expect(await until(() => tree.every((pid) => !alive(pid)), 15_000)).toBe(true);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("worker__defaultMetricsPortTakenByAnotherFlagpost__usesAFreePortAndSaysSo", { timeout: 60_000 }, async () => {
    // Given something listening on the worker's default metrics port 9465 (another Flagpost's worker)
    const http = await import("node:http");
    const blocker = http.createServer((_req, res) => res.end("other"));
    const listening = await new Promise<boolean>((resolve) => {
      blocker.once("error", () => resolve(false));
      blocker.listen(9465, "127.0.0.1", () => resolve(true));
    });
    onTestFinished(() => void blocker.close());
    const { startWorkerProcessRaw } = await import("../../support/system");

    // When a worker starts without WORKER_METRICS_PORT, and another with it set to that port
    const implicit = await startWorkerProcessRaw(process.env.DATABASE_URL!, { WORKER_METRICS_PORT: "" });
    const explicit = await startWorkerProcessRaw(process.env.DATABASE_URL!, { WORKER_METRICS_PORT: "9465" });
    onTestFinished(() => {
      implicit.child.kill("SIGKILL");
      explicit.child.kill("SIGKILL");
    });

    // Then the first takes a free port and logs it, the second stops naming the port and its variable
    expect(listening).toBe(true);
    expect(await until(() => implicit.logs.some((line) => line.includes('"event":"metrics.port_taken"')), 30_000)).toBe(true);
    expect(await until(() => implicit.logs.some((line) => line.includes('"event":"worker.started"')), 30_000)).toBe(true);
    const started = implicit.logs.map((line) => { try { return JSON.parse(line) as { event?: string; "metrics.port"?: number }; } catch { return {}; } }).find((line) => line.event === "worker.started");
    expect(started?.["metrics.port"]).not.toBe(9465);
    expect((await fetch(`http://127.0.0.1:${started!["metrics.port"]}/metrics`)).ok).toBe(true);
    const code = await new Promise<number | null>((resolve) => (explicit.child.exitCode !== null ? resolve(explicit.child.exitCode) : explicit.child.once("exit", (c) => resolve(c))));
    expect(code).toBe(1);
    expect(explicit.logs.join("\n")).toContain("127.0.0.1:9465 is taken (set by WORKER_METRICS_PORT)");
  });
});
