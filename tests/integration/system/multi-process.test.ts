/**
 * How users scale out: two web processes and two workers on one PostgreSQL (docs/deployment.md).
 * Changes, trait writes and key revocations made through one web process reach the other through
 * the database's notifications; a worker killed mid-job is replaced by the other with no lost write.
 */
import type { ChildProcess } from "node:child_process";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { closeDb, getDb } from "../../../src/server/db/client";
import { ownDatabase, type OwnDatabase } from "../../support/outage";
import { startWebProcess, startWorkerProcess, stopProcess } from "../../support/system";
import { signUpUser, type TestUser } from "../support/fixtures";

/**
 * How long a change may take to reach every web process (document job + NOTIFY; generous for a slow, loaded
 * machine running six processes). Still well under the 30 s after which a web process re-reads a document it
 * trusts without being notified (TRUSTED_MAX_AGE_MS, serving/document-cache.ts).
 */
const PROPAGATION_MS = 10_000;
/**
 * How long a trait write or a key revocation may take to reach the other web process: well under the 30 s
 * after which a cached identity is read again anyway (IDENTITY_CACHE_MAX_AGE_MS) and the minutes for which a
 * key is trusted (KEY_TRUSTED_MAX_AGE_MS; ENVIRONMENT_KEY_CACHE_SECONDS is 600 here), so only the notification
 * can make it in time.
 */
const NOTIFICATION_MS = 10_000;
/** The kill test's document write, slowed by fault injection: room to see a worker take it and kill it mid-write. */
const KILL_WRITE_DELAY_MS = "6000";

let database: OwnDatabase;
const webs: { url: string; child: ChildProcess; logs: string[] }[] = [];
const workers: { name: string; child: ChildProcess; logs: string[] }[] = [];
let user: TestUser;
let apiKey: string;
let projectId: number;
let environmentId: number;
let clientKey: string;
let firstFeatureId: number;

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A tRPC mutation over HTTP through one web process, as an API script would call it. */
async function mutate(web: { url: string }, procedure: string, input: unknown): Promise<unknown> {
  const response = await fetch(`${web.url}/api/trpc/${procedure}`, {
    method: "POST",
    headers: { authorization: `Api-Key ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(input),
  });
  const body = (await response.json()) as { result?: { data: unknown }; error?: unknown };
  if (!response.ok) throw new Error(`${procedure}: ${response.status} ${JSON.stringify(body.error)}`);
  return body.result?.data;
}

/** Starts a worker per name (its connections' application_name), sweeping for crashed workers' jobs every second, into `workers`. */
async function startWorkers(names: string[], env: Record<string, string> = {}): Promise<void> {
  for (const name of names) {
    const started = await startWorkerProcess(database.url, { FLAGPOST_PROCESS: name, WORKER_RECOVERY_SWEEP_MS: "1000", LOG_LEVEL: "info", ...env });
    workers.push({ name, child: started.child, logs: started.logs });
  }
}

async function flagsOn(web: { url: string }, key: string): Promise<{ status: number; names: string[]; values: unknown[] }> {
  const response = await fetch(`${web.url}/api/v1/flags/`, { headers: { "x-environment-key": key } });
  if (!response.ok) return { status: response.status, names: [], values: [] };
  const flags = (await response.json()) as { feature: { name: string }; feature_state_value: unknown }[];
  return { status: 200, names: flags.map((flag) => flag.feature.name), values: flags.map((flag) => flag.feature_state_value) };
}

beforeAll(async () => {
  database = await ownDatabase();
  await closeDb();
  process.env.DATABASE_URL = database.url;
  resetSettingsForTests();
  // Keys cached for 10 minutes (not 10 s) should a web process's change listener be down: within the
  // revocation test's bound, a revoked key is refused because of the key notification, not a cache expiry.
  for (let i = 0; i < 2; i++) webs.push(await startWebProcess({ databaseUrl: database.url, env: { LOG_LEVEL: "info", ENVIRONMENT_KEY_CACHE_SECONDS: "600" } }));
  await startWorkers(["worker-a", "worker-b"]);
  user = await signUpUser();
  apiKey = (await user.caller.organisations.createApiKey({ organisationId: user.organisationId, name: "script" })).key;
  const project = await user.caller.projects.create({ organisationId: user.organisationId, name: "Scaled", defaultEnvironments: false });
  projectId = project.id;
  const environment = await user.caller.environments.create({ projectId, name: "Production" });
  environmentId = environment.id;
  clientKey = environment.apiKey;
  firstFeatureId = (await user.caller.features.create({ projectId, name: "first", initialValue: "1", defaultEnabled: true })).id;
  for (const web of webs) await eventually(async () => (await flagsOn(web, clientKey)).names.includes("first"), 30_000, "first document on every web process");
}, 300_000);

afterAll(async () => {
  await Promise.all([...webs.map((web) => stopProcess(web.child)), ...workers.map((worker) => stopProcess(worker.child))]);
  await closeDb();
  await database?.destroy();
}, 60_000);

describe("two web processes and two workers on one database", () => {
  it("change__madeThroughWebA__servedByWebBWithinThePropagationBound", async () => {
    // Given both web processes serve the environment
    const [a, b] = webs;
    expect((await flagsOn(b, clientKey)).names).toContain("first");

    // When a feature is created through web A's admin API
    const name = `through_a_${Date.now()}`;
    const started = Date.now();
    await mutate(a, "features.create", { projectId, name, initialValue: "x", defaultEnabled: true });

    // Then web B serves it within the propagation bound (whichever worker wrote the document)
    await eventually(async () => (await flagsOn(b, clientKey)).names.includes(name), PROPAGATION_MS, "web B serves the change");
    expect(Date.now() - started).toBeLessThan(PROPAGATION_MS);
  });

  it("trait__writtenThroughWebA__seenByWebBWhichHadTheIdentityCached", async () => {
    // Given an identity both web processes have answered (so B holds it in its identity cache)
    const [a, b] = webs;
    const identifier = `user-${Date.now()}`;
    const identify = (web: { url: string }, traits: { trait_key: string; trait_value: string }[]) =>
      fetch(`${web.url}/api/v1/identities/`, { method: "POST", headers: { "x-environment-key": clientKey, "content-type": "application/json" }, body: JSON.stringify({ identifier, traits }) });
    const traitsOn = async (web: { url: string }) =>
      ((await (await fetch(`${web.url}/api/v1/identities/?identifier=${identifier}`, { headers: { "x-environment-key": clientKey } })).json()) as { traits: { trait_key: string; trait_value: unknown }[] }).traits;
    expect((await identify(a, [{ trait_key: "plan", trait_value: "free" }])).status).toBe(200);
    await eventually(async () => (await traitsOn(b)).some((t) => t.trait_key === "plan" && t.trait_value === "free"), PROPAGATION_MS, "B sees the first trait");

    // When web A stores a new value
    expect((await identify(a, [{ trait_key: "plan", trait_value: "pro" }])).status).toBe(200);

    // Then web B answers with it (its cached copy was dropped by the identity notification: without it, B would
    // answer from that copy for up to 30 s)
    await eventually(async () => (await traitsOn(b)).some((t) => t.trait_key === "plan" && t.trait_value === "pro"), NOTIFICATION_MS, "B sees the new trait");
  });

  it("serverKey__revokedThroughWebA__refusedByWebBOnItsNextRequest", async () => {
    // Given a server key that web B has just served (cached there)
    const [a, b] = webs;
    const created = (await mutate(a, "environments.createServerKey", { environmentId, name: `revoked-${Date.now()}` })) as { key: string };
    await eventually(async () => (await flagsOn(b, created.key)).status === 200, PROPAGATION_MS, "B serves the new key");
    const keys = (await user.caller.environments.serverKeys({ environmentId })).filter((key) => key.name.startsWith("revoked-"));

    // When it is revoked through web A
    const started = Date.now();
    await mutate(a, "environments.revokeServerKey", { environmentId, serverKeyId: keys[keys.length - 1].id });

    // Then web B refuses it within the bound (the key notification; it takes milliseconds), not after a cache
    // period (minutes here)
    await eventually(async () => (await flagsOn(b, created.key)).status === 401, NOTIFICATION_MS, "B refuses the revoked key");
    expect(Date.now() - started).toBeLessThan(NOTIFICATION_MS);
  });

  it("worker__killedMidJob__otherWorkerRetriesItWithNoLostWrite", { timeout: 240_000 }, async () => {
    // Given two workers whose document writes are slowed to 6 s by fault injection (in place of the two
    // others, which write at once), and a change whose document write one of them has taken
    await Promise.all(workers.splice(0).map((worker) => stopProcess(worker.child)));
    await startWorkers(["slow-worker-a", "slow-worker-b"], { FAULT_DOCUMENT_WRITE_DELAY_MS: KILL_WRITE_DELAY_MS });
    const value = `during_crash_${Date.now()}`;
    await user.caller.features.updateState({ featureId: firstFeatureId, environmentId, value });
    let holder: string | undefined;
    await eventually(async () => {
      const result = await getDb().execute<{ application_name: string }>(sql`
        select a.application_name from graphile_worker._private_jobs j
          join pg_locks l on l.locktype = 'advisory' and l.classid = 727275 and l.objid = hashtext(j.locked_by)::oid and l.granted
          join pg_stat_activity a on a.pid = l.pid
         where j.key = ${`environment_document:${environmentId}`} and j.locked_at is not null`);
      holder = result.rows[0]?.application_name;
      return holder !== undefined;
    }, 30_000, "a worker to take the write").catch(async (error: unknown) => {
      const jobs = await getDb().execute(sql`select key, locked_by, locked_at, run_at, attempts, last_error, now() from graphile_worker._private_jobs`);
      throw new Error(`${(error as Error).message}; jobs ${JSON.stringify(jobs.rows)}; worker logs ${workers.map((w) => w.logs.slice(-5).join("\n")).join("\n---\n")}`);
    });

    // When that worker is killed (SIGKILL) mid-write
    const index = workers.findIndex((worker) => worker.name === holder);
    expect(index).toBeGreaterThanOrEqual(0);
    await stopProcess(workers[index].child, "SIGKILL");

    // Then the other worker recovers the job (once it has been locked 5 s) and rewrites it (6 s), and the
    // change is served by both web processes
    for (const web of webs) await eventually(async () => (await flagsOn(web, clientKey)).values.includes(value), 60_000, `${web.url} serves the change`);
    expect(workers[1 - index].logs.some((line) => line.includes('"event":"jobs.recovered"'))).toBe(true);
    expect(workers[1 - index].child.exitCode).toBeNull();
  });
});
