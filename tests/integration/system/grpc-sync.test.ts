/**
 * flagd gRPC sync across the life of a web process, on a PostgreSQL of this file's own: the official in-process
 * provider survives a web restart (the stopping process ends its stream with UNAVAILABLE, it reconnects to the
 * new one and gets the document written meanwhile); with PostgreSQL stopped an open stream stays open with its
 * last document and new calls for a cached environment are still answered; a web process whose own flags have
 * the flagd_grpc_sync gate off answers UNIMPLEMENTED; and no log line carries the key.
 */
import type { ChildProcess } from "node:child_process";
import { OpenFeature, ProviderEvents, ProviderStatus } from "@openfeature/server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { closeDb } from "../../../src/server/db/client";
import { ownDatabase, type OwnDatabase } from "../../support/outage";
import { startWebProcess, startWorkerProcess, stopProcess } from "../../support/system";
import { flagsFileWith } from "../../support/flags-files";
import { codeOf, fetchAll, getMetadata, grpc, inProcessProvider, metadata, nextEvent, openSync, syncClient } from "../support/flagd-sync";
import { signUpUser, type TestUser } from "../support/fixtures";
import { freePort } from "../../../src/server/db/embedded";

let database: OwnDatabase;
let web: { url: string; child: ChildProcess; logs: string[] };
let worker: { child: ChildProcess; logs: string[] };
const webLogs: string[][] = [];
let syncPort: number;
let user: TestUser;
let environmentId: number;
let featureId: number;
let serverKey: string;

async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve(check()).catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How long a stopping web process may let requests and streams drain (well above how long its stop should take). */
const SHUTDOWN_TIMEOUT_MS = 30_000;

async function startWeb(): Promise<void> {
  web = await startWebProcess({ databaseUrl: database.url, env: { FLAGD_SYNC_PORT: String(syncPort), LOG_LEVEL: "debug", SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } });
  webLogs.push(web.logs);
}

function events(logs: string[]): Array<Record<string, unknown>> {
  return logs.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

beforeAll(async () => {
  database = await ownDatabase();
  await closeDb();
  process.env.DATABASE_URL = database.url;
  resetSettingsForTests();
  syncPort = await freePort();
  await startWeb();
  const started = await startWorkerProcess(database.url, { LOG_LEVEL: "info" });
  worker = { child: started.child, logs: started.logs };
  user = await signUpUser();
  const project = await user.caller.projects.create({ organisationId: user.organisationId, name: "Sync", defaultEnvironments: false });
  const environment = await user.caller.environments.create({ projectId: project.id, name: "Production" });
  environmentId = environment.id;
  await user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });
  featureId = (await user.caller.features.create({ projectId: project.id, name: "banner", initialValue: "v1", defaultEnabled: true })).id;
  serverKey = (await user.caller.environments.createServerKey({ environmentId, name: "in-process" })).key;
  await eventually(async () => JSON.parse(await fetchAll(syncClient(syncPort), { selector: serverKey })).flags.banner !== undefined, 30_000, "document served over gRPC");
}, 240_000);

afterAll(async () => {
  await OpenFeature.close();
  await Promise.all([web ? stopProcess(web.child) : undefined, worker ? stopProcess(worker.child) : undefined]);
  await closeDb();
  await database?.destroy();
}, 60_000);

describe("flagd gRPC sync and the web process's life", () => {
  it("grpcSync__webRestart__streamsEndedUnavailableProviderReconnectsAndGetsTheDocumentWrittenMeanwhile", { timeout: 180_000 }, async () => {
    // Given the official provider and a raw stream synced from the web process
    await OpenFeature.setProviderAndWait("restart", inProcessProvider(syncPort, serverKey));
    const client = OpenFeature.getClient("restart");
    expect(await client.getStringValue("banner", "none", { targetingKey: "u" })).toBe("v1");
    const raw = openSync(syncClient(syncPort), { selector: serverKey });
    await raw.message(0);

    // When the web process is stopped (SIGTERM), the value changes meanwhile, and a new web process starts on the same port
    const stale = nextEvent("restart", ProviderEvents.Stale, 15_000);
    const stopping = Date.now();
    const stopped = web.child;
    await stopProcess(stopped);
    const stopMs = Date.now() - stopping;
    const ended = await raw.ended;
    await stale;
    await user.caller.features.updateState({ featureId, environmentId, value: "v2" });
    const changed = nextEvent("restart", ProviderEvents.ConfigurationChanged, 60_000);
    await startWeb();

    // Then the stopping process ended the streams with UNAVAILABLE and exited 0 well within its bound: open streams
    // did not hold it for its drain timeout (30 s; 10 s allows a loaded machine for the rest of the stop)
    expect(ended).toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(stopped.exitCode).toBe(0);
    expect(stopMs).toBeLessThan(10_000);
    const stopLine = events(webLogs[0]).find((line) => line.event === "grpc_sync.stopped");
    expect(stopLine).toMatchObject({ logger: "flagd", "streams.closed": 2, drained: true });
    // and the provider reconnected to the new process, got the new document and serves the new value
    expect(await changed).toMatchObject({ flagsChanged: ["banner"] });
    expect(await client.getStringValue("banner", "none", { targetingKey: "u" })).toBe("v2");
    expect(client.providerStatus).toBe(ProviderStatus.READY);
  });

  it("grpcSync__databaseStopped__openStreamStaysOpenWithItsDocumentAndNewCallsForTheCachedEnvironmentAnswer", { timeout: 120_000 }, async () => {
    // Given a provider and a raw stream on the (restarted) web process, which has served the environment
    await OpenFeature.setProviderAndWait("outage", inProcessProvider(syncPort, serverKey));
    const client = OpenFeature.getClient("outage");
    const raw = openSync(syncClient(syncPort), { selector: serverKey });
    const before = await raw.message(0);
    let errors = 0;
    client.addHandler(ProviderEvents.Error, () => errors++);
    client.addHandler(ProviderEvents.Stale, () => errors++);

    // When PostgreSQL is stopped, and the web process has noticed (its listener's heartbeat: within 7 s)
    await database.stop();
    try {
      await eventually(async () => ((await (await fetch(`${web.url}/api/health/ready`)).json()) as { status: string }).status === "degraded", 20_000, "web degraded");
      await new Promise((r) => setTimeout(r, 3_000));
      // (the new client's connection is made before the clock starts: only the call is timed)
      const fresh = syncClient(syncPort);
      await new Promise<void>((resolve, reject) => fresh.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())));
      const started = performance.now();
      const fetched = await fetchAll(fresh, { selector: serverKey });
      const fetchMs = performance.now() - started;
      const second = openSync(syncClient(syncPort), { selector: serverKey });
      const secondDocument = await second.message(0, 5_000);

      // Then the open stream is still open with its document, the provider stayed ready and evaluates,
      expect(raw.status).toBeNull();
      expect(errors).toBe(0);
      expect(client.providerStatus).toBe(ProviderStatus.READY);
      expect(await client.getStringValue("banner", "none", { targetingKey: "u" })).toBe("v2");
      // and a new FetchAllFlags and a new stream for this cached environment are answered at once (well within the
      // web process's 1.5 s database timeouts: from its last good document, not after a query), with that document
      expect(fetched).toBe(before);
      expect(secondDocument).toBe(before);
      expect(fetchMs).toBeLessThan(1_000);
      second.cancel();
      fresh.close();
    } finally {
      await database.start();
    }

    // And once the database is back, a change reaches the stream that stayed open
    await eventually(async () => (await user.caller.features.updateState({ featureId, environmentId, value: "v3" })) !== undefined, 20_000, "database answering");
    const latest = JSON.parse(await raw.message(1, 30_000)) as { flags: { banner: { variants: Record<string, string> } } };
    expect(Object.values(latest.flags.banner.variants)).toContain("v3");
    raw.cancel();
  });

  it("grpcSync__webProcessWithTheGateOffInItsFlagsFile__unimplementedForEveryRpcAndTheProviderNeverReady", { timeout: 120_000 }, async () => {
    // Given a second web process whose own flags (FLAGPOST_FLAGS_FILE) have flagd_grpc_sync off, beside the first (shipped flags)
    const gatedPort = await freePort();
    const gated = await startWebProcess({ databaseUrl: database.url, env: { FLAGD_SYNC_PORT: String(gatedPort), FLAGPOST_FLAGS_FILE: flagsFileWith({ flagd_grpc_sync: false }), LOG_LEVEL: "debug" } });
    webLogs.push(gated.logs);
    try {
      // When the same server key calls each RPC there, and the official provider connects to it
      const client = syncClient(gatedPort);
      const sync = await openSync(client, { selector: serverKey }).ended;
      const fetched = await codeOf(fetchAll(client, { selector: serverKey }));
      const meta = await codeOf(getMetadata(client, metadata({ "flagd-selector": serverKey })));
      const provider = inProcessProvider(gatedPort, serverKey);
      const ready = await OpenFeature.setProviderAndWait("gated", provider).then(
        () => "ready",
        () => "refused",
      );
      await provider.onClose();
      client.close();

      // Then every RPC answers UNIMPLEMENTED, the provider never becomes ready, and the first process still serves the key
      expect(sync).toMatchObject({ code: grpc.status.UNIMPLEMENTED });
      expect([fetched, meta]).toEqual([grpc.status.UNIMPLEMENTED, grpc.status.UNIMPLEMENTED]);
      expect(ready).toBe("refused");
      expect(JSON.parse(await fetchAll(syncClient(syncPort), { selector: serverKey })).flags.banner).toBeDefined();
    } finally {
      await stopProcess(gated.child);
    }
  });

  it("grpcSync__everyLogLine__neverCarriesTheSelectorsKey", () => {
    // Given every line the web processes wrote at debug level during these tests
    const lines = webLogs.flat();
    expect(lines.length).toBeGreaterThan(10);

    // Then the server key is in none of them, and the sync events carry environment ids
    expect(lines.filter((line) => line.includes(serverKey))).toEqual([]);
    const opened = events(lines).filter((line) => line.event === "sync_stream.opened");
    expect(opened.length).toBeGreaterThan(0);
    expect(opened.every((line) => line["environment.id"] === environmentId)).toBe(true);
  });
});
