/**
 * scripts/web.ts started directly — `node --import tsx scripts/web.ts`, as a container may run it
 * as PID 1 — with neither FLAGPOST_PROCESS nor FLAGD_SYNC_HOST set: it is the web process all the
 * same (its 1.5 s database bounds, `application_name` web), and flagd gRPC sync stays on loopback
 * although HOST is another address (here 127.0.0.2, a second loopback address, so that nothing is
 * exposed by the test itself).
 */
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { describe, expect, it, onTestFinished } from "vitest";
import { freePort } from "../../../src/server/db/embedded";
import { ensureBuilt, stopProcess } from "../../support/system";

const root = path.resolve(__dirname, "../../..");

/** Whether something accepts TCP connections at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("scripts/web.ts run directly", () => {
  it("webEntry__noFlagpostProcessAndHostAnotherAddress__webTimeoutsAndGrpcSyncOnLoopback", { timeout: 180_000 }, async () => {
    // Given the web entry started by node itself, HOST=127.0.0.2, and no FLAGPOST_PROCESS / FLAGD_SYNC_HOST
    ensureBuilt();
    const port = await freePort();
    const syncPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      HOST: "127.0.0.2",
      PORT: String(port),
      FLAGD_SYNC_PORT: String(syncPort),
      METRICS_PORT: String(await freePort()),
      LOG_LEVEL: "info",
    };
    for (const name of ["FLAGPOST_PROCESS", "FLAGD_SYNC_HOST", "DATABASE_CONNECT_TIMEOUT_MS", "DATABASE_STATEMENT_TIMEOUT_MS"]) delete env[name];
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "scripts/web.ts")], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    onTestFinished(() => stopProcess(child));
    const lines: string[] = [];
    const push = (chunk: Buffer) => lines.push(...chunk.toString("utf8").split("\n").filter((line) => line.trim()));
    child.stdout?.on("data", push);
    child.stderr?.on("data", push);

    // When it is ready (its readiness check has used the database)
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`web exited:\n${lines.slice(-30).join("\n")}`);
      if (Date.now() > deadline) throw new Error(`web not ready:\n${lines.slice(-30).join("\n")}`);
      const ready = await fetch(`http://127.0.0.2:${port}/api/health/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const logged = lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });

    // Then it ran as the web process: its own name and the web's bounded database waits,
    const started = logged.find((line) => line.event === "server.started");
    expect(started).toMatchObject({ "process.name": "web", "database.connect_timeout.ms": 1500, "database.statement_timeout.ms": 1500 });
    const database = new URL(process.env.DATABASE_URL!).pathname.slice(1);
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    try {
      const names = await client.query<{ application_name: string }>("select distinct application_name from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [database]);
      expect(names.rows.map((row) => row.application_name)).toContain("web");
      expect(names.rows.map((row) => row.application_name)).not.toContain("flagpost");
    } finally {
      await client.end();
    }
    // and gRPC sync listens on 127.0.0.1, not on HOST, without the plaintext warning loopback does not need
    expect(logged.find((line) => line.event === "grpc_sync.started")).toMatchObject({ url: `grpc://127.0.0.1:${syncPort}` });
    expect(await accepts("127.0.0.1", syncPort)).toBe(true);
    expect(await accepts("127.0.0.2", syncPort)).toBe(false);
    expect(logged.map((line) => line.event)).not.toContain("grpc_sync.plaintext_exposed");
  });
});
