/**
 * Soak: a mixed load for several minutes against one web process and two workers, with PostgreSQL
 * stopped for 30 s and frozen for 30 s in the middle and a worker killed once (then restarted).
 *
 *   npx tsx bench/soak.ts [--minutes 4] [--environments 5]
 *
 * Load (open loop, every stream at a fixed rate): SDK `/flags/` with client and server keys,
 * `/environment-document/`, identities with and without trait writes, flagd conditional polls, and
 * admin writes through tRPC (one feature update every 2 s, the change then propagates).
 *
 * Prints, per phase: SDK answers by status, p50/p99 per request kind; the staleness the web process
 * reported; the web process's RSS before and after; and whether every environment's final document
 * (as served) equals the database's truth (a document freshly built from the database).
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { log, machine, percentile } from "./lib";

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const MINUTES = arg("minutes", 4);
const ENVIRONMENTS = arg("environments", 5);
const OUTAGE_MS = 30_000;

interface Sample {
  phase: string;
  kind: string;
  status: number;
  ms: number;
}

function rssKb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const { startEmbeddedPostgres } = await import("../src/server/db/embedded");
  const { migrateDatabase } = await import("../src/server/db/migrate");
  const { startWebProcess, startWorkerProcess, stopProcess } = await import("../tests/support/system");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-soak-"));
  let database = await startEmbeddedPostgres({ dataDir, database: "soak" });
  const port = database.port;
  await migrateDatabase(database.url);
  process.env.DATABASE_URL = database.url;
  process.env.LOG_LEVEL = "warn";
  const { resetSettingsForTests } = await import("../src/server/config");
  resetSettingsForTests();

  log("starting web + 2 workers");
  const snapshotDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-soak-snapshot-"));
  const web = await startWebProcess({ databaseUrl: database.url, env: { LOG_LEVEL: "warn", FLAGPOST_DOCUMENT_CACHE_DIR: snapshotDir } });
  const workers: ChildProcess[] = [];
  for (let i = 0; i < 2; i++) workers.push((await startWorkerProcess(database.url, { LOG_LEVEL: "warn", WORKER_RECOVERY_SWEEP_MS: "2000" })).child);

  log(`creating ${ENVIRONMENTS} environments`);
  const { signUp } = await import("../src/server/auth/service");
  const { principalFromSessionToken } = await import("../src/server/auth/principal");
  const { createCaller } = await import("../src/server/api/trpc-router");
  const { createCallerContext } = await import("../src/server/auth/procedures");
  const session = await signUp({ email: "soak@example.com", name: "Soak", password: "correct horse battery" });
  const caller = createCaller(createCallerContext(await principalFromSessionToken(session.token)));
  const apiKey = (await caller.organisations.createApiKey({ organisationId: session.organisationId, name: "soak" })).key;
  const project = await caller.projects.create({ organisationId: session.organisationId, name: "Soak", defaultEnvironments: false });
  await caller.flagd.setEnabled({ projectId: project.id, enabled: true });
  const featureIds: number[] = [];
  for (let i = 0; i < 20; i++) featureIds.push((await caller.features.create({ projectId: project.id, name: `flag_${i}`, initialValue: `v${i}`, defaultEnabled: i % 2 === 0 })).id);
  const segment = await caller.segments.create({ projectId: project.id, name: "pro", rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "plan", value: "pro" }], rules: [] }] });
  const environments: { id: number; client: string; server: string }[] = [];
  for (let i = 0; i < ENVIRONMENTS; i++) {
    const environment = await caller.environments.create({ projectId: project.id, name: `env-${i}` });
    await caller.segmentOverrides.create({ featureId: featureIds[0], environmentId: environment.id, segmentId: segment.id, enabled: true, value: "pro" });
    environments.push({ id: environment.id, client: environment.apiKey, server: (await caller.environments.createServerKey({ environmentId: environment.id, name: "soak" })).key });
  }
  const headers = (key: string) => ({ "x-environment-key": key, "content-type": "application/json" });
  for (const environment of environments) {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(`${web.url}/api/v1/flags/`, { headers: headers(environment.client) });
      if (response.ok) break;
      if (attempt > 300) throw new Error("documents not served");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const etags = new Map<number, string>();
  for (const environment of environments) {
    const response = await fetch(`${web.url}/api/v1/flagd/flags.json`, { headers: { authorization: `Bearer ${environment.server}` } });
    etags.set(environment.id, response.headers.get("etag") ?? "");
  }

  let phase = "warm";
  const samples: Sample[] = [];
  const staleness: { phase: string; seconds: number }[] = [];
  let stopping = false;
  let round = 0;
  const pick = () => environments[round++ % environments.length];
  type Environment = (typeof environments)[number];
  const kinds: Record<string, (environment: Environment, n: number) => Promise<Response>> = {
    flags: (environment) => fetch(`${web.url}/api/v1/flags/`, { headers: headers(environment.client) }),
    flagsServer: (environment) => fetch(`${web.url}/api/v1/flags/`, { headers: headers(environment.server) }),
    environmentDocument: (environment) => fetch(`${web.url}/api/v1/environment-document/`, { headers: headers(environment.server) }),
    identity: (environment, n) => fetch(`${web.url}/api/v1/identities/`, { method: "POST", headers: headers(environment.client), body: JSON.stringify({ identifier: `user-${n % 200}`, traits: [{ trait_key: "plan", trait_value: "pro" }] }) }),
    identityTraitWrite: (environment, n) => fetch(`${web.url}/api/v1/identities/`, { method: "POST", headers: headers(environment.client), body: JSON.stringify({ identifier: `writer-${n % 50}`, traits: [{ trait_key: "n", trait_value: n }] }) }),
    flagdPoll: (environment) => fetch(`${web.url}/api/v1/flagd/flags.json`, { headers: { authorization: `Bearer ${environment.server}`, "if-none-match": etags.get(environment.id) ?? "" } }),
  };
  // Open loop: each kind fires every `intervalMs`, whatever the previous request is doing.
  const streams = Object.entries(kinds).map(([kind, request]) =>
    setInterval(() => {
      if (stopping) return;
      const started = performance.now();
      const current = phase;
      const environment = pick();
      request(environment, round).then(
        async (response) => {
          if (kind === "flagdPoll" && response.status === 200) etags.set(environment.id, response.headers.get("etag") ?? "");
          await response.arrayBuffer();
          samples.push({ phase: current, kind, status: response.status, ms: performance.now() - started });
        },
        () => samples.push({ phase: current, kind, status: -1, ms: performance.now() - started }),
      );
    }, 5),
  );
  let writes = 0;
  const admin = setInterval(() => {
    if (stopping) return;
    const current = phase;
    const started = performance.now();
    fetch(`${web.url}/api/trpc/features.updateState`, {
      method: "POST",
      headers: { authorization: `Api-Key ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ featureId: featureIds[writes % featureIds.length], environmentId: environments[writes % environments.length].id, value: `w${writes++}` }),
    }).then(
      async (response) => {
        await response.arrayBuffer();
        samples.push({ phase: current, kind: "adminWrite", status: response.status, ms: performance.now() - started });
      },
      () => samples.push({ phase: current, kind: "adminWrite", status: -1, ms: performance.now() - started }),
    );
  }, 2_000);
  const stalenessTimer = setInterval(() => {
    fetch(`${web.url}/api/health/ready`).then(
      async (response) => staleness.push({ phase, seconds: ((await response.json()) as { checks: { documents: { stalenessSeconds: number } } }).checks.documents.stalenessSeconds }),
      () => undefined,
    );
  }, 1_000);

  const rssBefore = rssKb(web.child.pid!);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const rest = Math.max(20_000, (MINUTES * 60_000 - 2 * OUTAGE_MS) / 4);
  phase = "before";
  log(`phase before (${rest / 1000} s)`);
  await sleep(rest);
  phase = "database stopped";
  log("stopping PostgreSQL for 30 s");
  await database.stop();
  await sleep(OUTAGE_MS);
  database = await startEmbeddedPostgres({ dataDir, database: "soak", port });
  phase = "recovered";
  log(`phase recovered (${rest / 1000} s), killing a worker once`);
  await sleep(rest / 2);
  workers[0].kill("SIGKILL");
  await sleep(rest / 2);
  workers[0] = (await startWorkerProcess(database.url, { LOG_LEVEL: "warn", WORKER_RECOVERY_SWEEP_MS: "2000" })).child;
  phase = "database frozen";
  log("freezing PostgreSQL (SIGSTOP) for 30 s");
  const { execFileSync } = await import("node:child_process");
  const pids = [database.pid, ...execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" }).trim().split("\n").map((line) => line.trim().split(/\s+/).map(Number)).filter(([, ppid]) => ppid === database.pid).map(([pid]) => pid)];
  for (const pid of pids) process.kill(pid, "SIGSTOP");
  await sleep(OUTAGE_MS);
  for (const pid of pids) process.kill(pid, "SIGCONT");
  phase = "after";
  log(`phase after (${rest / 1000} s)`);
  await sleep(rest);
  stopping = true;
  for (const stream of streams) clearInterval(stream);
  clearInterval(admin);
  clearInterval(stalenessTimer);
  await sleep(3_000);
  const rssAfter = rssKb(web.child.pid!);

  // Final documents: what the web process serves against a fresh build from the database, per environment.
  const { buildInSnapshot } = await import("../src/server/documents/build");
  let converged = 0;
  const { closeDb } = await import("../src/server/db/client");
  await closeDb();
  for (const environment of environments) {
    let equal = false;
    for (let attempt = 0; attempt < 100 && !equal; attempt++) {
      const built = await buildInSnapshot(environment.id);
      const served = await (await fetch(`${web.url}/api/v1/environment-document/`, { headers: headers(environment.server) })).json();
      equal = JSON.stringify(served) === JSON.stringify(built.document);
      if (!equal) await sleep(100);
    }
    if (equal) converged++;
  }

  // Report.
  const phases = ["warm", "before", "database stopped", "recovered", "database frozen", "after"];
  const sdkKinds = ["flags", "flagsServer", "environmentDocument", "identity", "identityTraitWrite", "flagdPoll"];
  console.log(`machine: ${machine()}`);
  console.log(`soak: ${MINUTES} min, ${ENVIRONMENTS} environments, 1 web process, 2 workers (one SIGKILLed and restarted), PostgreSQL stopped 30 s and frozen 30 s`);
  console.log(`load average at the end (1/5/15 min): ${os.loadavg().map((v) => v.toFixed(2)).join(" / ")}`);
  console.log("");
  console.log("| phase | SDK answers by status | warm-environment answers other than 200/304 | p50 / p99 ms (flags, identity, flagd poll) | admin writes by status | max staleness s |");
  console.log("|---|---|---:|---|---|---:|");
  let bad = 0;
  for (const name of phases) {
    const inPhase = samples.filter((sample) => sample.phase === name);
    if (inPhase.length === 0) continue;
    const sdk = inPhase.filter((sample) => sdkKinds.includes(sample.kind));
    const statuses: Record<string, number> = {};
    for (const sample of sdk) statuses[sample.status] = (statuses[sample.status] ?? 0) + 1;
    const wrong = sdk.filter((sample) => sample.status !== 200 && sample.status !== 304).length;
    if (name !== "warm") bad += wrong;
    const latency = (kind: string) => {
      const values = inPhase.filter((sample) => sample.kind === kind).map((sample) => sample.ms);
      return `${percentile(values, 50).toFixed(1)}/${percentile(values, 99).toFixed(1)}`;
    };
    const adminStatuses: Record<string, number> = {};
    for (const sample of inPhase.filter((s) => s.kind === "adminWrite")) adminStatuses[sample.status] = (adminStatuses[sample.status] ?? 0) + 1;
    const maxStale = Math.max(0, ...staleness.filter((s) => s.phase === name).map((s) => s.seconds));
    console.log(`| ${name} | ${JSON.stringify(statuses)} | ${wrong} | ${latency("flags")} · ${latency("identity")} · ${latency("flagdPoll")} | ${JSON.stringify(adminStatuses)} | ${maxStale.toFixed(1)} |`);
  }
  console.log("");
  console.log(`SDK answers other than 200/304 for warm environments, whole run: ${bad}`);
  console.log(`web RSS: ${(rssBefore / 1024).toFixed(0)} MiB before the load, ${(rssAfter / 1024).toFixed(0)} MiB after (${(((rssAfter - rssBefore) / rssBefore) * 100).toFixed(0)} %)`);
  console.log(`final documents equal to the database's truth: ${converged}/${environments.length}`);

  await closeDb();
  await stopProcess(web.child);
  for (const worker of workers) await stopProcess(worker);
  await database.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(snapshotDir, { recursive: true, force: true });
  process.exit(bad === 0 && converged === environments.length ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
