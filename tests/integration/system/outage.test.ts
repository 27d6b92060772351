/**
 * The data plane outlives its database: a real web process and worker on a PostgreSQL of this
 * file's own, which is stopped (fast shutdown) for 30 s and frozen (SIGSTOP of every server
 * process) for 30 s while SDK and flagd clients keep asking. Environments served before the outage
 * keep being served from their last good document (p99 < 50 ms as the web process measures it); no
 * request waits more than 2 s for anything; readiness says degraded; after the database returns,
 * changes propagate again. A web process started while the database is down serves its snapshot,
 * or says unavailable when the snapshot has nothing to serve.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { isDatabaseDown } from "../../../src/server/db/availability";
import { closeDb } from "../../../src/server/db/client";
import { hammer, ownDatabase, summarise, type OwnDatabase, type Sample } from "../../support/outage";
import { startWebProcess, startWorkerProcess, stopProcess } from "../../support/system";
import { signUpUser, type TestUser } from "../support/fixtures";

const OUTAGE_MS = 30_000;
const PROPAGATION_MS = 10_000;
/** Issue 13: warm reads of environments served before the outage answer within this at p99. */
const P99_MS = 50;
/** Issue 13: no request waits more than this for anything (a 503 at worst for what needs the database). */
const MAX_WAIT_MS = 2_000;
/**
 * Measured at the client, which shares a loaded 2-core machine with the web process, the worker and
 * PostgreSQL: an answer may also wait for a CPU. Warm cached reads, which wait on nothing, were seen
 * up to ~450 ms at their slowest here, while the longest database wait a request can have is 1.75 s
 * (connect timeout 1.5 s; statement timeout 1.5 s + 0.25 s client-side): 250 ms on top of 2 s covers
 * the scheduling of a request that waited that long, not a longer database wait.
 */
const MAX_WAIT_ALLOWANCE_MS = 250;
/** Warm reads at the client, p99: a sanity bound for a shared machine (see expectServed), not the 50 ms. */
const CLIENT_READ_P99_MS = 500;

let database: OwnDatabase;
let web: { url: string; metricsUrl: string; child: ChildProcess; logs: string[] };
let worker: { child: ChildProcess; logs: string[] };
let user: TestUser;
let projectId: number;
let environmentId: number;
let clientKey: string;
let serverKey: string;
let snapshotDir: string;

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sdk = (pathname: string, key: string, init: RequestInit = {}) =>
  fetch(`${web.url}${pathname}`, { ...init, headers: { "x-environment-key": key, "content-type": "application/json", ...(init.headers ?? {}) } });

const identify = (identifier: string, plan: string) =>
  sdk("/api/v1/identities/", clientKey, { method: "POST", body: JSON.stringify({ identifier, traits: [{ trait_key: "plan", trait_value: plan }] }) });

/** What every SDK and flagd client asks for, over and over, during an outage. */
function requests(flagdEtag: string): Record<string, () => Promise<Response>> {
  return {
    flags: () => sdk("/api/v1/flags/", clientKey),
    flagsServer: () => sdk("/api/v1/flags/", serverKey),
    environmentDocument: () => sdk("/api/v1/environment-document/", serverKey),
    flagd: () => fetch(`${web.url}/api/v1/flagd/flags.json`, { headers: { authorization: `Bearer ${serverKey}` } }),
    flagdConditional: () => fetch(`${web.url}/api/v1/flagd/flags.json`, { headers: { authorization: `Bearer ${serverKey}`, "if-none-match": flagdEtag } }),
    identityCached: () => identify("returning-user", "pro"),
    identityNew: () => identify(`new-user-${Math.random().toString(36).slice(2)}`, "free"),
    identityGet: () => sdk("/api/v1/identities/?identifier=returning-user", clientKey),
  };
}

/** Requests that may need the database: they must answer (a 503 at worst) within the bound, never hang. */
function boundedRequests(apiKey: string): Record<string, () => Promise<Response>> {
  return {
    ready: () => fetch(`${web.url}/api/health/ready`),
    live: () => fetch(`${web.url}/api/health/live`),
    trpc: () => fetch(`${web.url}/api/trpc/projects.list?input=${encodeURIComponent(JSON.stringify({ organisationId: user.organisationId }))}`, { headers: { authorization: `Api-Key ${apiKey}` } }),
    unknownKey: () => sdk("/api/v1/flags/", "never-seen-before-key"),
  };
}

const readsOf = (samples: Sample[]) => samples.filter((s) => s.name !== "identityNew" && s.name !== "identityCached" && s.name !== "identityGet");
const p99Of = (samples: Sample[]) => {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.99) - 1];
};

/**
 * The same clients for 5 s with the database up, just before an outage: the p99 the machine gives
 * right now (it is shared, and its load moves latencies far more than Flagpost does).
 */
async function baselineP99(etag: string): Promise<number> {
  const samples = await hammer(5_000, requests(etag), 3);
  const p99 = p99Of(readsOf(samples));
  process.stdout.write(`[outage] baseline p99 of reads: ${p99.toFixed(1)} ms\n`);
  return p99;
}

/** The warm-read routes of the web process's own latency histogram (flagsmith_http_request_duration_seconds). */
const WARM_READ_ROUTES = new Set(["/api/v1/flags/", "/api/v1/environment-document/", "/api/v1/flagd/flags.json"]);

/** Cumulative counts per bucket bound (`le`) of the web process's answers 200/304 on the warm-read routes. */
async function readLatencyBuckets(): Promise<Map<string, number>> {
  const text = await (await fetch(web.metricsUrl)).text();
  const buckets = new Map<string, number>();
  for (const match of text.matchAll(/^flagsmith_http_request_duration_seconds_bucket\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map(([, name, value]) => [name, value]));
    if (!WARM_READ_ROUTES.has(labels.route) || labels.method !== "GET" || !(labels.status === "200" || labels.status === "304")) continue;
    buckets.set(labels.le, (buckets.get(labels.le) ?? 0) + Number(match[2]));
  }
  return buckets;
}

/** Of the warm reads answered between two readings: how many, and the share the web process answered within P99_MS. */
function serverSide(before: Map<string, number>, after: Map<string, number>): { count: number; withinP99Bound: number } {
  const delta = (le: string) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
  const count = delta("+Inf");
  return { count, withinP99Bound: count === 0 ? 0 : delta(String(P99_MS / 1000)) / count };
}

/**
 * Reads during an outage, by the bounds: every one answered from the last good document,
 * p99 < 50 ms as the web process measures it (its own histogram: the time from the request to the
 * answer in the process, which the load of this shared machine on the test's own clients does not
 * inflate), and no request (reads, identities, and the bounded ones: health, tRPC, unknown keys)
 * waiting more than 2 s (+ the allowance above) at the client.
 *
 * The client's p99 is printed but not held to 50 ms: on this shared 2-core machine it measures the
 * CPU left to the test's own clients (seen from 11 to 90 ms across runs while the web process
 * answered every warm read within 50 ms, and over twice the baseline taken seconds before when
 * other test files started meanwhile). It is held to CLIENT_READ_P99_MS instead: far above the machine's noise,
 * far below a read that waited on the database (the connect timeout alone is 1.5 s).
 */
function expectServed(samples: Sample[], bounded: Sample[], label: string, baseline: number, server: { count: number; withinP99Bound: number }): void {
  const summary = summarise(samples);
  const boundedSummary = summarise(bounded);
  const reads = readsOf(samples);
  const identities = samples.filter((s) => s.name.startsWith("identity"));
  const slowest = [...samples, ...bounded].reduce((a, b) => (b.ms > a.ms ? b : a));
  process.stdout.write(`[outage] ${label}: ${JSON.stringify(summary)}\n`);
  process.stdout.write(`[outage] ${label} bounded: ${JSON.stringify(boundedSummary)}\n`);
  process.stdout.write(
    `[outage] ${label}: warm reads p99 ${p99Of(reads).toFixed(1)} ms at the client (baseline ${baseline.toFixed(1)} ms), ` +
      `${(server.withinP99Bound * 100).toFixed(2)}% of ${server.count} answered within ${P99_MS} ms by the web process; ` +
      `slowest request ${slowest.ms.toFixed(0)} ms (${slowest.name}, ${slowest.status}), bound ${MAX_WAIT_MS} + ${MAX_WAIT_ALLOWANCE_MS} ms\n`,
  );
  // Every read of an environment served before the outage answered 200 (or 304 to a conditional poll).
  const failedReads = reads.filter((s) => !(s.status === 200 || (s.name === "flagdConditional" && s.status === 304)));
  expect(failedReads.length, `${label}: ${JSON.stringify(summary)}`).toBe(0);
  expect(identities.every((s) => s.status === 200), `${label}: ${JSON.stringify(summary)}`).toBe(true);
  expect(reads.length).toBeGreaterThan(100);
  // p99 < 50 ms, as the web process answered them (every warm read it answered in the phase is counted).
  expect(server.count, `${label}: warm reads counted by the web process`).toBeGreaterThanOrEqual(reads.length);
  expect(server.withinP99Bound, `${label}: share of warm reads answered within ${P99_MS} ms by the web process`).toBeGreaterThanOrEqual(0.99);
  // At the client: no warm read waited on the database.
  expect(p99Of(reads), `${label} p99 of reads at the client (baseline ${baseline.toFixed(1)} ms): ${JSON.stringify(summary)}`).toBeLessThan(CLIENT_READ_P99_MS);
  // No request waited more than 2 s for anything.
  expect(slowest.ms, `${label}: slowest request (${slowest.name}): ${JSON.stringify(boundedSummary)}`).toBeLessThanOrEqual(MAX_WAIT_MS + MAX_WAIT_ALLOWANCE_MS);
}

beforeAll(async () => {
  database = await ownDatabase();
  // Fixtures are made in-process against this file's own server.
  await closeDb();
  process.env.DATABASE_URL = database.url;
  resetSettingsForTests();
  snapshotDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-snapshot-"));
  web = await startWebProcess({ databaseUrl: database.url, env: { FLAGPOST_DOCUMENT_CACHE_DIR: snapshotDir, LOG_LEVEL: "info" } });
  const started = await startWorkerProcess(database.url, { LOG_LEVEL: "info" });
  worker = { child: started.child, logs: started.logs };

  user = await signUpUser();
  const project = await user.caller.projects.create({ organisationId: user.organisationId, name: "Outage", defaultEnvironments: false });
  projectId = project.id;
  const environment = await user.caller.environments.create({ projectId, name: "Production" });
  environmentId = environment.id;
  clientKey = environment.apiKey;
  serverKey = (await user.caller.environments.createServerKey({ environmentId, name: "backend" })).key;
  await user.caller.flagd.setEnabled({ projectId, enabled: true });
  const feature = await user.caller.features.create({ projectId, name: "banner", initialValue: "hello", defaultEnabled: true });
  const segment = await user.caller.segments.create({ projectId, name: "pro users", rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "plan", value: "pro" }], rules: [] }] });
  await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId, segmentId: segment.id, enabled: true, value: "pro banner" });
  // Served, with the flagd integration and the override in it.
  await eventually(async () => {
    const response = await sdk("/api/v1/identities/", clientKey, { method: "POST", body: JSON.stringify({ identifier: "returning-user", traits: [{ trait_key: "plan", trait_value: "pro" }] }) });
    const body = (await response.json()) as { flags?: { feature: { name: string }; feature_state_value: unknown }[] };
    return response.ok && body.flags?.find((f) => f.feature.name === "banner")?.feature_state_value === "pro banner";
  }, 30_000, "first document served");
}, 240_000);

afterAll(async () => {
  if (process.env.OUTAGE_LOGS) {
    fs.writeFileSync(path.join(process.env.OUTAGE_LOGS, "worker.log"), worker?.logs.join("\n") ?? "");
    fs.writeFileSync(path.join(process.env.OUTAGE_LOGS, "web.log"), web?.logs.join("\n") ?? "");
  }
  await Promise.all([web ? stopProcess(web.child) : undefined, worker ? stopProcess(worker.child) : undefined]);
  await closeDb();
  await database?.destroy();
  if (snapshotDir) fs.rmSync(snapshotDir, { recursive: true, force: true });
}, 60_000);

async function warm(): Promise<string> {
  // This process's own pool may still count the database as down from the last outage (its probe runs every second).
  await eventually(async () => !isDatabaseDown(), 10_000, "this process sees the database");
  // Every endpoint once (and the identity twice, so it is in the identity cache).
  for (const request of Object.values(requests(""))) await (await request()).arrayBuffer();
  await (await identify("returning-user", "pro")).arrayBuffer();
  const flagd = await fetch(`${web.url}/api/v1/flagd/flags.json`, { headers: { authorization: `Bearer ${serverKey}` } });
  expect(flagd.status).toBe(200);
  return flagd.headers.get("etag")!;
}

async function readiness(): Promise<{ status: string; checks: { database: string; documents: { stalenessSeconds: number } } }> {
  return (await (await fetch(`${web.url}/api/health/ready`)).json()) as never;
}

/** A change made once the database answers again (this process notices within its probe interval) is served within the bound. */
async function changePropagates(name: string): Promise<number> {
  await eventually(async () => (await user.caller.features.create({ projectId, name, initialValue: "after", defaultEnabled: true })).name === name, 15_000, "database answering again");
  return eventually(async () => {
    const body = (await (await sdk("/api/v1/flags/", clientKey)).json()) as { feature: { name: string } }[];
    return body.some((flag) => flag.feature.name === name);
  }, PROPAGATION_MS, `${name} served after the outage`);
}

describe("database outage", () => {
  it("databaseStopped__thirtySeconds__sdkAndFlagdServedFromLastGoodDocumentsReadinessDegradedThenChangesPropagate", async () => {
    // Given a warm web process, the latency the machine gives it now, and an organisation API key (for admin calls)
    const etag = await warm();
    const baseline = await baselineP99(etag);
    const apiKey = (await user.caller.organisations.createApiKey({ organisationId: user.organisationId, name: "ops" })).key;
    const answer = await (await identify("returning-user", "pro")).json();

    // When a change is committed while its document job is held mid-run (the documents table locked),
    // and PostgreSQL is stopped under that running job, for 30 s, while clients keep asking
    const queued = `before_stop_${Date.now()}`;
    const holder = new pg.Client({ connectionString: database.url });
    holder.on("error", () => undefined); // ended by the stop below
    await holder.connect();
    await holder.query("begin");
    await holder.query("lock table environment_documents in access exclusive mode");
    await user.caller.features.create({ projectId, name: queued, initialValue: "queued", defaultEnabled: true });
    await eventually(async () => {
      const waiting = await holder.query("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and application_name = 'worker'");
      return (waiting.rows[0] as { n: number }).n > 0;
    }, 10_000, "the document job waiting on the lock");
    const latencies = await readLatencyBuckets();
    await database.stop();
    const [served, bounded] = await Promise.all([hammer(OUTAGE_MS, requests(etag), 3), hammer(OUTAGE_MS, boundedRequests(apiKey), 1)]);
    const server = serverSide(latencies, await readLatencyBuckets());
    const during = await readiness();
    const cachedIdentity = await (await identify("returning-user", "pro")).json();
    await database.start();

    // Then every read was served (p99 < 50 ms), identities answered 200 with the same flags, no request waited more than 2 s,
    const summary = summarise(bounded);
    expectServed(served, bounded, "stopped", baseline, server);
    expect(cachedIdentity).toEqual(answer);
    // what needs the database was answered 503, readiness said degraded,
    expect(Object.keys(summary.trpc.statuses)).toEqual(["503"]);
    expect(Object.keys(summary.unknownKey.statuses)).toEqual(["503"]);
    expect(summary.live.statuses["200"]).toBe(summary.live.count);
    expect(during.status).toBe("degraded");
    expect(during.checks.database).toBe("down");
    expect(during.checks.documents.stalenessSeconds).toBeGreaterThan(5);
    // and once it is back, the worker (still running) has lost no job: the change whose job was cut off is served,
    expect(worker.child.exitCode, worker.logs.slice(-20).join("\n")).toBeNull();
    await eventually(async () => {
      const body = (await (await sdk("/api/v1/flags/", clientKey)).json()) as { feature: { name: string } }[];
      return body.some((flag) => flag.feature.name === queued);
    }, 30_000, "the change queued before the outage served");
    // and a change made now is served within the usual propagation bound
    const propagated = await changePropagates(`after_stop_${Date.now()}`);
    expect(propagated).toBeLessThan(PROPAGATION_MS);
    await eventually(async () => (await readiness()).status === "ready", 15_000, "ready again");
    const events = web.logs.map((line) => { try { return JSON.parse(line) as { event?: string }; } catch { return {}; } }).map((line) => line.event);
    // (the job cut off by the stop ended the worker's runner, which was replaced once the database answered)
    const workerEvents = worker.logs.map((line) => { try { return JSON.parse(line) as { event?: string }; } catch { return {}; } }).map((line) => line.event);
    expect(workerEvents).toContain("worker.runner_failed");
    expect(workerEvents).toContain("worker.restarted");
    expect(events).toContain("document_cache.stale_started");
    expect(events).toContain("document_cache.stale_ended");
    expect(events.filter((event) => event === "identity.persist_skipped").length).toBeLessThanOrEqual(2);
  }, 120_000);

  it("databaseFrozen__thirtySeconds__sdkAndFlagdServedFromLastGoodDocumentsNothingWaitsThenChangesPropagate", async () => {
    // Given a warm web process, and the latency the machine gives it now
    const etag = await warm();
    const baseline = await baselineP99(etag);
    const apiKey = (await user.caller.organisations.createApiKey({ organisationId: user.organisationId, name: "ops-frozen" })).key;

    // When every PostgreSQL process is frozen (SIGSTOP) for 30 s while clients keep asking
    const latencies = await readLatencyBuckets();
    database.freeze();
    let served: Sample[];
    let bounded: Sample[];
    let during: Awaited<ReturnType<typeof readiness>>;
    let server: ReturnType<typeof serverSide>;
    try {
      [served, bounded] = await Promise.all([hammer(OUTAGE_MS, requests(etag), 3), hammer(OUTAGE_MS, boundedRequests(apiKey), 1)]);
      server = serverSide(latencies, await readLatencyBuckets());
      during = await readiness();
    } finally {
      database.thaw();
    }

    // Then every read was served (p99 < 50 ms) and identities answered, no request waited more than 2 s for anything
    // (what needs the database answered 503 at worst; readiness within its own 0.5 s probe bound), and readiness said degraded
    expectServed(served, bounded, "frozen", baseline, server);
    const summary = summarise(bounded);
    expect(summary.ready.max, JSON.stringify(summary)).toBeLessThan(1_000);
    expect(summary.trpc.statuses["503"]).toBeGreaterThan(0);
    expect(Object.keys(summary.unknownKey.statuses), JSON.stringify(summary)).toEqual(["503"]);
    expect(during.status).toBe("degraded");
    // and once it is thawed, the worker is still running and a change is served within the usual propagation bound
    expect(worker.child.exitCode, worker.logs.slice(-20).join("\n")).toBeNull();
    const propagated = await changePropagates(`after_freeze_${Date.now()}`);
    expect(propagated).toBeLessThan(PROPAGATION_MS);
  }, 120_000);

  it("webStartedWithoutDatabase__snapshotDirectory__servesSnapshotDocumentsRefusesUnknownKeysThenRefreshes", async () => {
    // Given a snapshot written by the running web process (it served this environment), and PostgreSQL down
    await warm();
    const keyFiles = () => (fs.existsSync(path.join(snapshotDir, "keys")) ? fs.readdirSync(path.join(snapshotDir, "keys")).filter((name) => name.endsWith(".json")) : []);
    await eventually(async () => fs.existsSync(path.join(snapshotDir, "documents", `${environmentId}.json`)) && keyFiles().length >= 2, 5_000, "snapshot written");
    const keys = keyFiles().map((name) => name + fs.readFileSync(path.join(snapshotDir, "keys", name), "utf8")).join("\n");
    expect(keys).not.toContain(serverKey);
    expect(keys).not.toContain(clientKey);
    const expected = await (await sdk("/api/v1/flags/", clientKey)).json();
    await database.stop();

    // When a second web process starts with that snapshot directory while the database is down, and a third with an empty one
    let second: Awaited<ReturnType<typeof startWebProcess>> | undefined;
    let third: Awaited<ReturnType<typeof startWebProcess>> | undefined;
    const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-empty-snapshot-"));
    try {
      second = await startWebProcess({ databaseUrl: database.url, env: { FLAGPOST_DOCUMENT_CACHE_DIR: snapshotDir, LOG_LEVEL: "info" }, waitForReady: false });
      third = await startWebProcess({ databaseUrl: database.url, env: { FLAGPOST_DOCUMENT_CACHE_DIR: emptyDir, LOG_LEVEL: "info" }, waitForReady: false });
      const emptyReady = await fetch(`${third.url}/api/health/ready`);
      const emptyFlags = await fetch(`${third.url}/api/v1/flags/`, { headers: { "x-environment-key": clientKey } });
      const flags = await fetch(`${second.url}/api/v1/flags/`, { headers: { "x-environment-key": clientKey } });
      const flagd = await fetch(`${second.url}/api/v1/flagd/flags.json`, { headers: { authorization: `Bearer ${serverKey}` } });
      const unknown = await fetch(`${second.url}/api/v1/flags/`, { headers: { "x-environment-key": "ser.not-in-the-snapshot" } });
      const ready = (await (await fetch(`${second.url}/api/health/ready`)).json()) as { status: string };

      // Then it serves the snapshot's documents, refuses keys it cannot check, and reports degraded
      expect(flags.status).toBe(200);
      expect(await flags.json()).toEqual(expected);
      expect(flagd.status).toBe(200);
      expect(unknown.status).toBe(503);
      expect(unknown.headers.get("retry-after")).toBe("1");
      expect(ready.status).toBe("degraded");
      // and the one with nothing to serve says unavailable (503: out of the load balancer), as it answers
      expect(emptyReady.status).toBe(503);
      expect(((await emptyReady.json()) as { status: string }).status).toBe("unavailable");
      expect(emptyFlags.status).toBe(503);

      // And once the database is back, the snapshot entries are confirmed and it becomes ready
      await database.start();
      const url = second.url;
      await eventually(async () => {
        await fetch(`${url}/api/v1/flags/`, { headers: { "x-environment-key": clientKey } });
        return ((await (await fetch(`${url}/api/health/ready`)).json()) as { status: string }).status === "ready";
      }, 20_000, "second web process ready");
    } finally {
      await Promise.all([second ? stopProcess(second.child) : undefined, third ? stopProcess(third.child) : undefined]);
      fs.rmSync(emptyDir, { recursive: true, force: true });
    }
  }, 180_000);
});
