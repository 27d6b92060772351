/**
 * Flagpost on Flagpost: one Flagpost (B) takes its own flags from another (A) through the Flagsmith
 * API with local evaluation. A gate targeted at one organisation in A's admin API turns the
 * capability on for that organisation only in B, within B's polling interval, without a restart;
 * with A unreachable, B keeps evaluating with the last document it fetched.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebProcess, startWorkerProcess, stopProcess } from "../../support/system";
import { grpc, openSync, syncClient } from "../support/flagd-sync";
import { projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";

let a: { url: string; child: ChildProcess };
let b: { url: string; child: ChildProcess; logs: string[]; flagdSyncPort: number };
let worker: { child: ChildProcess };
let admin: TestUser;
let flagsEnvironmentId: number;
let contextEvaluationId: number;
const gateFeatureIds: Record<string, number> = {};
let serverKey: string;
const root = path.resolve(__dirname, "../../..");
const customers: { user: TestUser; apiKey: string }[] = [];

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** B's gates for a customer organisation, as B's admin UI asks for them. */
async function gatesOnB(customer: { user: TestUser; apiKey: string }): Promise<Record<string, boolean>> {
  const input = encodeURIComponent(JSON.stringify({ organisationId: customer.user.organisationId }));
  const response = await fetch(`${b.url}/api/trpc/rollouts.gates?input=${input}`, { headers: { authorization: `Api-Key ${customer.apiKey}` } });
  const body = (await response.json()) as { result: { data: Record<string, boolean> } };
  return body.result.data;
}

beforeAll(async () => {
  const databaseUrl = process.env.DATABASE_URL!;
  // A: Flagpost's own flags live in a project of A ("Flagpost flags"), context_evaluation off by default.
  admin = await signUpUser();
  const project = await admin.caller.projects.create({ organisationId: admin.organisationId, name: "Flagpost flags", defaultEnvironments: false });
  const environment = await admin.caller.environments.create({ projectId: project.id, name: "Production" });
  flagsEnvironmentId = environment.id;
  for (const name of ["ofrep_api", "realtime_streams", "flagd_grpc_sync"]) gateFeatureIds[name] = (await admin.caller.features.create({ projectId: project.id, name, defaultEnabled: true })).id;
  contextEvaluationId = (await admin.caller.features.create({ projectId: project.id, name: "context_evaluation", defaultEnabled: false })).id;
  serverKey = (await admin.caller.environments.createServerKey({ environmentId: flagsEnvironmentId, name: "flagpost-b" })).key;
  for (let i = 0; i < 3; i++) {
    const user = await signUpUser();
    customers.push({ user, apiKey: (await user.caller.organisations.createApiKey({ organisationId: user.organisationId, name: "script" })).key });
  }
  a = await startWebProcess({ databaseUrl, env: { LOG_LEVEL: "warn" } });
  worker = await startWorkerProcess(databaseUrl, { LOG_LEVEL: "warn" });
  await eventually(async () => (await fetch(`${a.url}/api/v1/environment-document/`, { headers: { "x-environment-key": serverKey } })).ok, 30_000, "A serves the flags document");
  // B: takes its own flags from A, polling every second.
  b = await startWebProcess({
    databaseUrl,
    env: { LOG_LEVEL: "info", FLAGPOST_FLAGS_API_URL: `${a.url}/api/v1/`, FLAGPOST_FLAGS_SERVER_KEY: serverKey, FLAGPOST_FLAGS_REFRESH_SECONDS: "1" },
  });
}, 240_000);

afterAll(async () => {
  await Promise.all([a && stopProcess(a.child), b && stopProcess(b.child), worker && stopProcess(worker.child)]);
}, 60_000);

describe("Flagpost's own flags from another Flagpost", () => {
  it("streamGatesClosedInA__streamsAlreadyOpenOnBEndWithinItsPollingIntervalNotAtTheirMinuteCheck", { timeout: 120_000 }, async () => {
    // Given a customer of B with an event stream and a flagd gRPC sync stream open on B (both gates on in A's document)
    const customer = customers[1];
    const { project, environments: [environment] } = await projectWithEnvironments(customer.user, ["Production"]);
    await customer.user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });
    const { key: serverKeyOfCustomer } = await customer.user.caller.environments.createServerKey({ environmentId: environment.id, name: "in-process" });
    await eventually(async () => (await fetch(`${b.url}/api/v1/flags/`, { headers: { "x-environment-key": environment.apiKey } })).ok, 30_000, "B serves the customer's flags");
    const events = new AbortController();
    const sse = await fetch(`${b.url}/sse/environments/${environment.apiKey}/stream`, { signal: events.signal });
    expect(sse.status).toBe(200);
    let sseEnded = false;
    const reading = (async () => {
      const reader = sse.body!.getReader();
      try {
        while (!(await reader.read()).done);
      } catch {
        // aborted by the test (it did not end by itself)
      }
      sseEnded = !events.signal.aborted;
    })();
    const client = syncClient(b.flagdSyncPort);
    const sync = openSync(client, { selector: serverKeyOfCustomer });
    await eventually(async () => sync.messages.length > 0, 10_000, "the sync stream got its first document");

    // When A's admin API switches both gates off
    const started = Date.now();
    for (const gate of ["realtime_streams", "flagd_grpc_sync"]) await admin.caller.features.updateState({ featureId: gateFeatureIds[gate], environmentId: flagsEnvironmentId, enabled: false });

    // Then both open streams end within B's polling interval plus the document write (B re-checks its own streams once a minute otherwise)
    const { code } = await sync.ended;
    expect(code).toBe(grpc.status.UNIMPLEMENTED);
    await eventually(async () => sseEnded, 10_000, "the event stream ended");
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await fetch(`${b.url}/sse/environments/${environment.apiKey}/stream`)).status).toBe(404);
    events.abort();
    await reading;
    client.close();

    // Finally the gates are switched back on (in A and, within its polling interval, in B)
    for (const gate of ["realtime_streams", "flagd_grpc_sync"]) await admin.caller.features.updateState({ featureId: gateFeatureIds[gate], environmentId: flagsEnvironmentId, enabled: true });
    await eventually(async () => {
      const reopened = await fetch(`${b.url}/sse/environments/${environment.apiKey}/stream`);
      await reopened.body?.cancel();
      return reopened.status === 200;
    }, 15_000, "streams open again on B");
  });

  it("gateTargetedAtOneOrganisationInA__turnsOnForItOnlyInBWithoutRestartAndIsKeptWhenAIsUnreachable", async () => {
    const [beta, other, late] = customers;
    // Given B evaluates A's document (the gate off for everyone: unlike the shipped file, where it is on)
    await eventually(async () => (await gatesOnB(beta)).context_evaluation === false, 15_000, "B uses A's document");
    expect((await gatesOnB(other)).context_evaluation).toBe(false);

    // When A's admin API targets the gate at the beta organisation (a segment on its organisation_id)
    const segment = await admin.caller.segments.create({
      projectId: (await admin.caller.environments.get({ environmentId: flagsEnvironmentId })).projectId,
      name: "beta organisations",
      rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "organisation_id", value: String(beta.user.organisationId) }], rules: [] }],
    });
    const started = Date.now();
    await admin.caller.segmentOverrides.create({ featureId: contextEvaluationId, environmentId: flagsEnvironmentId, segmentId: segment.id, enabled: true, value: null });

    // Then within B's polling interval (plus the document write) the beta organisation has it, the other not
    await eventually(async () => (await gatesOnB(beta)).context_evaluation === true, 10_000, "gate on for beta in B");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await gatesOnB(other)).context_evaluation).toBe(false);
    expect(b.child.exitCode).toBeNull();

    // And `npm run flags:sync` downloads that document into a flags file, saying what changed against the shipped one
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "flags-sync-")), "flags.json");
    fs.copyFileSync(path.join(root, "config/flagpost-flags.json"), file);
    const sync = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "scripts/flags-sync.ts"), "--api-url", `${a.url}/api/v1/`, "--server-key", serverKey, "--file", file], { cwd: root, encoding: "utf8" });
    expect(sync.status, sync.stderr).toBe(0);
    expect(sync.stdout).toContain("changed context_evaluation: on null → off null");
    expect(sync.stdout).toContain("segments added: beta organisations");
    expect(sync.stdout).not.toContain(serverKey);
    expect((JSON.parse(fs.readFileSync(file, "utf8")) as { project: { segments: { name: string }[] } }).project.segments.map((s) => s.name)).toEqual(["beta organisations"]);

    // And when A becomes unreachable, B keeps evaluating with the last document it fetched — also for an organisation it never evaluated before
    await stopProcess(a.child);
    await eventually(async () => b.logs.some((line) => line.includes('"event":"flags.refresh_failed"')), 10_000, "B notices A is gone");
    expect((await gatesOnB(beta)).context_evaluation).toBe(true);
    expect((await gatesOnB(other)).context_evaluation).toBe(false);
    expect((await gatesOnB(late)).context_evaluation).toBe(false);
  });
});
