/**
 * `npm run start:web` / `npm run start:worker` (scripts/launcher.ts in `web` / `worker` mode, as
 * package.json and the docker-compose services run them) while PostgreSQL is down: the launcher
 * starts the process anyway instead of failing on its migrations — the web serves the documents of
 * its snapshot directory, the worker waits for the database — and applies the migrations once the
 * database answers. On a PostgreSQL of this file's own, stopped and started again.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { closeDb } from "../../../src/server/db/client";
import { freePort } from "../../../src/server/db/embedded";
import { ownDatabase, type OwnDatabase } from "../../support/outage";
import { ensureBuilt, startWorkerProcess, stopProcess } from "../../support/system";
import { signUpUser } from "../support/fixtures";

const root = path.resolve(__dirname, "../../..");

let database: OwnDatabase;
let snapshotDir: string;
let environmentId: number;
let clientKey: string;
let serverKey: string;

interface Launched {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

/** `node --import tsx scripts/launcher.ts <mode>`: what `npm run start:web` / `start:worker` run. */
function launch(mode: "web" | "worker", env: Record<string, string>): Launched {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "scripts/launcher.ts"), mode], {
    cwd: root,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const push = (chunk: Buffer) => lines.push(...chunk.toString("utf8").split("\n").filter((line) => line.trim()));
  child.stdout?.on("data", push);
  child.stderr?.on("data", push);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) await stopProcess(child);
  });
  return { child, lines, exited };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, launched?: Launched): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (launched && launched.child.exitCode !== null) throw new Error(`${what}: the launcher exited (${launched.child.exitCode}):\n${launched.lines.slice(-30).join("\n")}`);
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}\n${launched?.lines.slice(-30).join("\n") ?? ""}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const events = (launched: Launched) =>
  launched.lines.map((line) => {
    try {
      return (JSON.parse(line) as { event?: string }).event;
    } catch {
      return undefined;
    }
  });

async function webEnv(): Promise<{ url: string; env: Record<string, string> }> {
  const port = await freePort();
  return {
    url: `http://127.0.0.1:${port}`,
    env: {
      DATABASE_URL: database.url,
      HOST: "127.0.0.1",
      PORT: String(port),
      FLAGD_SYNC_PORT: String(await freePort()),
      METRICS_PORT: String(await freePort()),
      FLAGPOST_DOCUMENT_CACHE_DIR: snapshotDir,
    },
  };
}

const flags = (url: string, key: string) => fetch(`${url}/api/v1/flags/`, { headers: { "x-environment-key": key } });
const readiness = async (url: string) => ((await (await fetch(`${url}/api/health/ready`)).json()) as { status: string }).status;

beforeAll(async () => {
  ensureBuilt();
  database = await ownDatabase();
  // Fixtures are made in-process against this file's own server.
  await closeDb();
  process.env.DATABASE_URL = database.url;
  resetSettingsForTests();
  snapshotDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-launcher-snapshot-"));

  const user = await signUpUser();
  const project = await user.caller.projects.create({ organisationId: user.organisationId, name: "Launcher outage", defaultEnvironments: false });
  const environment = await user.caller.environments.create({ projectId: project.id, name: "Production" });
  environmentId = environment.id;
  clientKey = environment.apiKey;
  serverKey = (await user.caller.environments.createServerKey({ environmentId, name: "backend" })).key;
  await user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });
  await user.caller.features.create({ projectId: project.id, name: "banner", initialValue: "hello", defaultEnabled: true });
  // The documents, written by a worker that is gone before the outages below.
  const worker = await startWorkerProcess(database.url, { LOG_LEVEL: "warn" });
  try {
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await until(async () => (await admin.query("select 1 from environment_documents where environment_id = $1", [environmentId])).rowCount === 1, 60_000, "document written");
    } finally {
      await admin.end();
    }
  } finally {
    await stopProcess(worker.child);
  }
  await closeDb();
}, 240_000);

afterAll(async () => {
  await closeDb();
  await database?.destroy();
  if (snapshotDir) fs.rmSync(snapshotDir, { recursive: true, force: true });
}, 60_000);

describe("launcher web / worker while PostgreSQL is down", () => {
  it("startWeb__databaseStopped__startsAnywayServesSnapshotDocumentsRefusesUnknownKeysThenMigrates", { timeout: 240_000 }, async () => {
    // Given an earlier `npm run start:web` (database up) that served the environment and wrote its snapshot
    const first = await webEnv();
    const earlier = launch("web", first.env);
    await until(async () => (await fetch(`${first.url}/api/health/ready`)).ok, 120_000, "first web ready", earlier);
    const expected = await (await flags(first.url, clientKey)).json();
    expect((await fetch(`${first.url}/api/v1/flagd/flags.json`, { headers: { authorization: `Bearer ${serverKey}` } })).status).toBe(200);
    // (one file per key: keys/<sha256 of the key>.json, serving/snapshot.ts)
    const keysDir = path.join(snapshotDir, "keys");
    await until(
      () => fs.existsSync(path.join(snapshotDir, "documents", `${environmentId}.json`)) && fs.existsSync(keysDir) && fs.readdirSync(keysDir).filter((name) => name.endsWith(".json")).length >= 2,
      10_000,
      "snapshot written",
    );
    earlier.child.kill("SIGTERM");
    expect(await earlier.exited).toBe(0);

    // When PostgreSQL is stopped and `npm run start:web` starts again with the same snapshot directory
    await database.stop();
    const second = await webEnv();
    const web = launch("web", second.env);
    try {
      await until(async () => (await fetch(`${second.url}/api/health/live`)).ok, 120_000, "web live without its database", web);

      // Then the launcher said why it started without migrating, and the web serves the snapshot's documents,
      const output = web.lines.join("\n");
      expect(output).toContain("PostgreSQL is unreachable");
      expect(output).not.toContain("database migration failed");
      const served = await flags(second.url, clientKey);
      expect(served.status).toBe(200);
      expect(await served.json()).toEqual(expected);
      expect((await fetch(`${second.url}/api/v1/flagd/flags.json`, { headers: { authorization: `Bearer ${serverKey}` } })).status).toBe(200);
      // refuses a key it cannot check, and reports degraded readiness
      const unknown = await flags(second.url, "ser.not-in-the-snapshot");
      expect(unknown.status).toBe(503);
      expect(unknown.headers.get("retry-after")).toBe("1");
      expect(await readiness(second.url)).toBe("degraded");
    } finally {
      await database.start();
    }

    // And once PostgreSQL is back, the launcher applies the migrations and the web becomes ready, still running
    await until(() => web.lines.some((line) => line.includes("migrations applied")), 60_000, "migrations applied in the background", web);
    await until(async () => {
      await flags(second.url, clientKey);
      return (await readiness(second.url)) === "ready";
    }, 30_000, "web ready", web);
    expect(web.child.exitCode).toBeNull();
    web.child.kill("SIGTERM");
    expect(await web.exited).toBe(0);
  });

  it("startWorker__databaseStoppedAndNotMigrated__keepsWaitingThenMigratesAndComesUp", { timeout: 180_000 }, async () => {
    // Given an empty database (never migrated), on a PostgreSQL that is then stopped
    const name = `fresh_${Date.now()}`;
    const admin = new pg.Client({ connectionString: database.current.adminUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const fresh = new URL(database.url);
    fresh.pathname = `/${name}`;
    const freshUrl = fresh.toString();
    await database.stop();

    // When `npm run start:worker` starts
    const metricsPort = await freePort();
    const worker = launch("worker", { DATABASE_URL: freshUrl, WORKER_METRICS_PORT: String(metricsPort) });
    try {
      await until(() => events(worker).includes("worker.start_failed"), 60_000, "worker waiting for its database", worker);
      await new Promise((resolve) => setTimeout(resolve, 3_000));

      // Then it keeps running (it neither exits nor stops the launcher), and said why it did not migrate
      expect(worker.child.exitCode).toBeNull();
      expect(worker.lines.join("\n")).toContain("PostgreSQL is unreachable");
      expect(events(worker)).not.toContain("worker.started");
    } finally {
      await database.start();
    }

    // And once PostgreSQL answers, the launcher migrates the database and the worker comes up
    await until(() => worker.lines.some((line) => line.includes("migrations applied")), 60_000, "migrations applied in the background", worker);
    await until(() => events(worker).includes("worker.started"), 60_000, "worker started", worker);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).ok).toBe(true);
    const client = new pg.Client({ connectionString: freshUrl });
    await client.connect();
    try {
      const tables = await client.query("select count(*)::int as n from information_schema.tables where table_name in ('environment_documents', '_private_jobs')");
      expect((tables.rows[0] as { n: number }).n).toBe(2);
    } finally {
      await client.end();
    }
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
  });
});
