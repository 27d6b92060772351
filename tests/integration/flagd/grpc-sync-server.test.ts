/**
 * The gRPC sync server's transport (src/server/api/flagd-sync-server.ts), started in the test process on this
 * file's database with an in-process worker: which port it takes when the default one is taken or a set one is,
 * TLS with the official provider, the stream limit, and close().
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { OpenFeature, ProviderStatus } from "@openfeature/server-sdk";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { environmentApiKeys } from "../../../src/server/db/schema";
import { FlagdSyncPortTakenError, startFlagdSyncServer, type FlagdSyncServer, type FlagdSyncServerOptions } from "../../../src/server/api/flagd-sync-server";
import { freePort } from "../../../src/server/db/embedded";
import { grpcSyncStatus } from "../../../src/server/flagd/grpc-status";
import { stopServing } from "../../../src/server/serving/gate";
import { listeningGeneration } from "../../../src/server/serving/listener";
import { waitForDocuments } from "../support/documents";
import { codeOf, fetchAll, grpc, inProcessProvider, openSync, syncClient } from "../support/flagd-sync";
import { captureLogs, projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { startTestWorker } from "../support/worker";

let serverKey: string;
let user: TestUser;
let environmentId: number;
const servers: FlagdSyncServer[] = [];

const OPTIONS: Omit<FlagdSyncServerOptions, "port" | "portExplicit"> = { host: "127.0.0.1", maxStreams: 100, keepaliveMs: 30_000 };

async function start(options: Partial<FlagdSyncServerOptions> & { port: number }): Promise<FlagdSyncServer> {
  const server = await startFlagdSyncServer({ ...OPTIONS, portExplicit: true, ...options });
  if (!server) throw new Error("no server");
  servers.push(server);
  return server;
}

async function blockPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  return { port: (blocker.address() as net.AddressInfo).port, close: () => new Promise((resolve) => blocker.close(() => resolve())) };
}

beforeAll(async () => {
  await startTestWorker();
  user = await signUpUser();
  const { project, environments: [environment] } = await projectWithEnvironments(user, ["Production"]);
  environmentId = environment.id;
  await user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });
  await user.caller.features.create({ projectId: project.id, name: "banner", initialValue: "hello", defaultEnabled: true });
  serverKey = (await user.caller.environments.createServerKey({ environmentId: environment.id, name: "sync" })).key;
  await waitForDocuments([environment.id]);
}, 120_000);

afterAll(async () => {
  await OpenFeature.close();
  await Promise.all(servers.map((server) => server.close(1_000)));
  await stopServing();
});

describe("flagd gRPC sync server", () => {
  it("startFlagdSyncServer__portZero__noServer", async () => {
    // Given FLAGD_SYNC_PORT=0
    // When the server is started
    const server = await startFlagdSyncServer({ ...OPTIONS, port: 0, portExplicit: true });

    // Then there is none
    expect(server).toBeNull();
  });

  it("startFlagdSyncServer__defaultPortTaken__listensOnAFreePortAndSaysSo", async () => {
    // Given the default port is taken by another process's listener
    const blocked = await blockPort();
    const logs = captureLogs();
    try {
      // When the server starts with that port as its default (FLAGD_SYNC_PORT unset)
      const server = await start({ port: blocked.port, portExplicit: false });

      // Then it listens on another port, serves there, logs why, and the admin UI's status says so
      expect(server.port).not.toBe(blocked.port);
      expect(await fetchAll(syncClient(server.port), { selector: serverKey })).toContain('"banner"');
      expect(logs.events("grpc_sync.port_taken")).toEqual([expect.objectContaining({ level: "warn", port: blocked.port, "grpc.port": server.port })]);
      expect(grpcSyncStatus()).toEqual({ host: "127.0.0.1", port: server.port, tls: false, defaultPortTaken: true });
    } finally {
      logs.stop();
      await blocked.close();
    }
  });

  it("startFlagdSyncServer__explicitPortTaken__failsNamingThePortAndTheVariable", async () => {
    // Given a port taken by another listener
    const blocked = await blockPort();
    try {
      // When the server starts with it set explicitly (FLAGD_SYNC_PORT)
      const started = startFlagdSyncServer({ ...OPTIONS, port: blocked.port, portExplicit: true });

      // Then it refuses to start and says which port and variable
      await expect(started).rejects.toBeInstanceOf(FlagdSyncPortTakenError);
      await expect(started).rejects.toThrow(`The flagd gRPC sync port 127.0.0.1:${blocked.port} is taken (set by FLAGD_SYNC_PORT): choose another port, or 0 to turn gRPC sync off`);
    } finally {
      await blocked.close();
    }
  });

  it("startFlagdSyncServer__tlsCertificateAndKey__officialProviderSyncsOverTls", { timeout: 60_000 }, async () => {
    // Given a self-signed certificate for 127.0.0.1 and a server started with it
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-tls-"));
    const certFile = path.join(dir, "cert.pem");
    const keyFile = path.join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], { stdio: "ignore" });
    const server = await start({ port: await freePort(), tls: { certFile, keyFile } });

    // When the official provider connects with TLS (trusting that certificate), and a plaintext client tries
    await OpenFeature.setProviderAndWait("tls", inProcessProvider(server.port, serverKey, { tls: true, certPath: certFile }));
    const plaintext = await codeOf(fetchAll(syncClient(server.port, undefined, { "grpc.initial_reconnect_backoff_ms": 100 }), { selector: serverKey }));

    // Then the provider is ready and evaluates; the plaintext client gets nothing
    expect(server.tls).toBe(true);
    expect(OpenFeature.getClient("tls").providerStatus).toBe(ProviderStatus.READY);
    expect(await OpenFeature.getClient("tls").getStringValue("banner", "none")).toBe("hello");
    expect(plaintext).toBe(grpc.status.UNAVAILABLE);
    await expect(startFlagdSyncServer({ ...OPTIONS, port: 1, portExplicit: true, tls: { certFile } })).rejects.toThrow("FLAGD_SYNC_TLS_CERT_FILE and FLAGD_SYNC_TLS_KEY_FILE go together");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("startFlagdSyncServer__plaintextBeyondLoopback__warnsOnceNotOnLoopbackNorWithTls", { timeout: 60_000 }, async () => {
    // Given a certificate, and log lines captured
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-tls-"));
    const certFile = path.join(dir, "cert.pem");
    const keyFile = path.join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=localhost"], { stdio: "ignore" });
    const logs = captureLogs();
    try {
      // When servers start in plaintext on every interface (FLAGD_SYNC_HOST=0.0.0.0), in plaintext on loopback,
      // and over TLS on every interface (each closed at once: the test exposes nothing for long)
      const exposed = await start({ host: "0.0.0.0", port: await freePort() });
      await exposed.close(1_000);
      const loopback = await start({ host: "127.0.0.1", port: await freePort() });
      await loopback.close(1_000);
      const tls = await start({ host: "0.0.0.0", port: await freePort(), tls: { certFile, keyFile } });
      await tls.close(1_000);

      // Then only the plaintext one beyond loopback is warned about, naming where it listens
      expect(logs.events("grpc_sync.plaintext_exposed")).toEqual([expect.objectContaining({ level: "warn", host: "0.0.0.0", "grpc.port": exposed.port })]);
    } finally {
      logs.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("syncFlags__beyondTheStreamLimit__resourceExhaustedUntilAStreamCloses", { timeout: 60_000 }, async () => {
    // Given a server allowing two streams, and two open
    const server = await start({ port: await freePort(), maxStreams: 2 });
    const logs = captureLogs();
    const client = syncClient(server.port);
    const first = openSync(client, { selector: serverKey });
    const second = openSync(client, { selector: serverKey });
    await Promise.all([first.message(0), second.message(0)]);

    // When a third and a fourth are opened, then one of the first two closes and another is opened
    const third = await openSync(client, { selector: serverKey }).ended;
    const fourth = await openSync(client, { selector: serverKey }).ended;
    first.cancel();
    // (the server has seen the cancel once its count is down to the one stream left)
    for (const deadline = Date.now() + 10_000; server.openStreams() !== 1 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    expect(server.openStreams()).toBe(1);
    const fifth = openSync(client, { selector: serverKey });

    // Then the third and fourth are refused RESOURCE_EXHAUSTED (one warning), the fifth is served
    expect(third).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    expect(fourth).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    expect(await fifth.message(0)).toContain('"banner"');
    expect(server.openStreams()).toBe(2);
    expect(logs.events("sync_stream.limit_reached")).toHaveLength(1);
    logs.stop();
    client.close();
  });

  it("syncFlags__keyReachesItsExpiryWithoutAnyChange__streamEndedUnauthenticatedAtTheNextReauthorisation", { timeout: 60_000 }, async () => {
    // Given a server re-authorising its streams every 200 ms, a server key expiring in 6 s (set before its
    // first use, as an expiry is; time enough to open both streams before it), and two streams: one opened with
    // that key, one with a key that does not expire
    const server = await start({ port: await freePort(), reauthoriseMs: 200 });
    const expiring = await user.caller.environments.createServerKey({ environmentId, name: "expiring" });
    const expiresAt = Date.now() + 6_000;
    await getDb().update(environmentApiKeys).set({ expiresAt: new Date(expiresAt) }).where(eq(environmentApiKeys.id, expiring.id));
    const client = syncClient(server.port);
    const doomed = openSync(client, { selector: expiring.key });
    const kept = openSync(client, { selector: serverKey });
    await Promise.all([doomed.message(0), kept.message(0)]);

    // When the expiry passes, with no document change and no key notification
    const ended = await doomed.ended;

    // Then the expiring key's stream is ended UNAUTHENTICATED at the first re-authorisation after its expiry (due
    // within 200 ms of it; 3.5 s allows for a loaded machine, yet stays short of any other way it could end: the
    // cached key re-checked without regard to its expiry, 10 s after its first use at the soonest, i.e. 4 s after
    // the expiry, or a re-authorisation at the default interval, 60 s), the other stays open
    expect(ended).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect(Date.now() - expiresAt).toBeLessThan(3_500);
    expect(doomed.messages).toHaveLength(1);
    expect(kept.status).toBeNull();
    expect(server.openStreams()).toBe(1);
    kept.cancel();
    client.close();
  });

  it("syncFlags__keyRevokedWhileTheChangeListenerWasReconnecting__streamEndedUnauthenticatedOnceItIsBack", { timeout: 60_000 }, async () => {
    // Given a server (re-authorising its streams only every 10 minutes) and two streams: one opened with a key that
    // is about to be revoked, one with another key
    const server = await start({ port: await freePort(), reauthoriseMs: 600_000 });
    const doomed = await user.caller.environments.createServerKey({ environmentId, name: `missed-${Date.now()}` });
    const client = syncClient(server.port);
    const revoked = openSync(client, { selector: doomed.key });
    const kept = openSync(client, { selector: serverKey });
    await Promise.all([revoked.message(0), kept.message(0)]);
    for (const deadline = Date.now() + 10_000; listeningGeneration() < 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
    const generation = listeningGeneration();
    expect(generation).toBeGreaterThanOrEqual(0);

    // When the key is revoked in the transaction that ends this process's LISTEN connection (the notification is lost)
    await getDb().transaction(async (tx) => {
      await tx.update(environmentApiKeys).set({ active: false, revokedAt: new Date() }).where(eq(environmentApiKeys.id, doomed.id));
      await tx.execute(sql`select pg_terminate_backend(pid, 5000) from pg_stat_activity where application_name like '%document-listener' and datname = current_database()`);
    });
    const revokedAt = Date.now();

    // Then once the listener is back, the revoked key's stream ends UNAUTHENTICATED (not at the next re-authorisation),
    // and the other stays open
    const ended = await Promise.race([revoked.ended, new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000))]);
    expect(listeningGeneration()).toBeGreaterThan(generation);
    expect(ended).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(Date.now() - revokedAt).toBeLessThan(15_000);
    expect(kept.status).toBeNull();
    kept.cancel();
    client.close();
  });

  it("close__openStreamsAndNewCalls__streamsEndUnavailableNewCallsRefusedWithinTheBound", { timeout: 60_000 }, async () => {
    // Given a server with two open streams
    const server = await start({ port: await freePort() });
    const client = syncClient(server.port);
    const streams = [openSync(client, { selector: serverKey }), openSync(client, { selector: serverKey })];
    await Promise.all(streams.map((stream) => stream.message(0)));

    // When it is closed
    const started = Date.now();
    const drained = await server.close(5_000);

    // Then every stream ended UNAVAILABLE (clients reconnect), it drained in time, and nothing is served any more
    expect(drained).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const stream of streams) expect(await stream.ended).toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(server.openStreams()).toBe(0);
    expect(await codeOf(fetchAll(syncClient(server.port), { selector: serverKey }))).toBe(grpc.status.UNAVAILABLE);
    expect(grpcSyncStatus()).toBeNull();
    client.close();
  });
});
