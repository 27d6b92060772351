/**
 * flagd gRPC sync through the running system (scripts/web.ts with FLAGD_SYNC_PORT, and the worker): the official
 * in-process flagd provider (`@openfeature/flagd-provider`, `resolverType: "in-process"`) with the
 * `@openfeature/server-sdk`, and a raw `flagd.sync.v1.FlagSyncService` client for what the provider does not show
 * (status codes, bytes, stream ends).
 */
import { OpenFeature, ProviderEvents, ProviderStatus, type Client, type EvaluationContext, type FlagValueType } from "@openfeature/server-sdk";
import { FlagdCore, MemoryStorage } from "@openfeature/flagd-core";
import { afterAll, describe, expect, inject, it } from "vitest";

// The system under test (web + worker) runs on its own database: fixtures are made there.
process.env.DATABASE_URL = inject("systemDatabaseUrl");
const { resetSettingsForTests } = await import("../../../src/server/config");
resetSettingsForTests();

const { importFlagsmithEnvironment } = await import("../../../src/server/imports/flagsmith");
const { SYSTEM_ACTOR } = await import("../../../src/server/auth/principal");
const { generateIdentities, generateRandomDocument } = await import("../../support/flagsmith-documents");
const { recordingLogger, schemaErrors } = await import("../../unit/flagd/helpers");
const { waitForDocuments } = await import("../support/documents");
const { projectWithEnvironments, signUpUser } = await import("../support/fixtures");
const { codeOf, fetchAll, getMetadata, grpc, inProcessProvider, metadata, nextEvent, openSync, syncClient } = await import("../support/flagd-sync");

import type { FlagdDocument } from "../../../src/server/flagd/types";

const base = inject("systemUrl");
const port = inject("systemFlagdSyncPort");
const metricsUrl = inject("systemMetricsUrl");

afterAll(async () => {
  await OpenFeature.close();
});

async function httpDocument(serverKey: string): Promise<string> {
  const response = await fetch(`${base}/api/v1/flagd/flags.json`, { headers: { authorization: `Bearer ${serverKey}` } });
  expect(response.status).toBe(200);
  return response.text();
}

function flagType(document: FlagdDocument, key: string): FlagValueType {
  const first = Object.values(document.flags[key].variants)[0];
  return typeof first === "boolean" ? "boolean" : typeof first === "number" ? "number" : typeof first === "string" ? "string" : "object";
}

// A default no flag resolves to, so a fallback to the caller's default shows.
const DEFAULTS: Record<FlagValueType, boolean | number | string | object> = { boolean: false, number: -424242, string: "\u0000default", object: { default: true } };

async function details(client: Client, type: FlagValueType, key: string, context: EvaluationContext) {
  switch (type) {
    case "boolean":
      return client.getBooleanDetails(key, DEFAULTS.boolean as boolean, context);
    case "number":
      return client.getNumberDetails(key, DEFAULTS.number as number, context);
    case "string":
      return client.getStringDetails(key, DEFAULTS.string as string, context);
    default:
      return client.getObjectDetails(key, DEFAULTS.object as never, context);
  }
}

async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("flagd gRPC sync (in-process providers)", () => {
  it("grpcSync__officialInProcessProviderOnGeneratedEnvironments__readyAndEvaluatesExactlyAsFlagdCoreOnTheHttpDocument", { timeout: 240_000 }, async () => {
    // Given generated environments imported into the running system with the flagd integration on
    const user = await signUpUser();
    const environments: Array<{ environmentId: number; serverKey: string }> = [];
    for (let seed = 21; seed <= 24; seed++) {
      const generated = generateRandomDocument({ seed, features: 14, segments: 9, identities: 5, hideDisabledFlags: seed === 24 ? true : null });
      const imported = await importFlagsmithEnvironment(SYSTEM_ACTOR, generated, { organisationId: user.organisationId });
      await user.caller.flagd.setEnabled({ projectId: imported.projectId, enabled: true });
      environments.push({ environmentId: imported.environmentId, serverKey: imported.serverKey });
    }
    await waitForDocuments(environments.map((e) => e.environmentId), 60_000);
    const contexts: EvaluationContext[] = [
      {},
      { targetingKey: "" },
      ...Array.from({ length: 5 }, (_, x) => ({ targetingKey: `user-${x}`, plan: "pro", age: 30 })),
      ...generateIdentities(60, 7).map((identity) => ({ targetingKey: identity.identifier, ...identity.traits })),
    ];

    const differences: string[] = [];
    let compared = 0;
    for (const [index, { serverKey }] of environments.entries()) {
      // When the official provider syncs each environment over gRPC (the server key as its selector), and
      // flagd-core loads the same environment's HTTP flags.json
      const domain = `generated-${index}`;
      await OpenFeature.setProviderAndWait(domain, inProcessProvider(port, serverKey));
      const client = OpenFeature.getClient(domain);
      const http = await httpDocument(serverKey);
      const fetched = await fetchAll(syncClient(port), { selector: serverKey });
      const document = JSON.parse(http) as FlagdDocument;
      expect(schemaErrors(document)).toEqual([]);
      const logger = recordingLogger();
      const storage = new MemoryStorage(logger);
      storage.setConfigurations(http, true);
      const core = new FlagdCore(storage, logger);

      // Then the provider is READY, gRPC serves the very bytes of the HTTP document, and every flag resolves
      // for every context exactly as flagd-core resolves it (value, variant, reason, error, flag metadata)
      expect(client.providerStatus).toBe(ProviderStatus.READY);
      expect(fetched).toBe(http);
      for (const key of Object.keys(document.flags)) {
        const type = flagType(document, key);
        for (const context of contexts) {
          compared++;
          const viaGrpc = await details(client, type, key, context);
          const viaHttp = core.resolve(type, key, DEFAULTS[type] as never, context);
          // The provider adds its selector to the metadata as `scope` (docs/flagd.md: why the key is there).
          const { scope, ...flagMetadata } = viaGrpc.flagMetadata;
          expect(scope).toBe(serverKey);
          const actual = JSON.stringify({ value: viaGrpc.value, variant: viaGrpc.variant, reason: viaGrpc.reason, errorCode: viaGrpc.errorCode, flagMetadata });
          const expected = JSON.stringify({ value: viaHttp.value, variant: viaHttp.variant, reason: viaHttp.reason, errorCode: viaHttp.errorCode, flagMetadata: viaHttp.flagMetadata });
          if (actual !== expected) differences.push(`${document.metadata.flagSetId} ${key} ${JSON.stringify(context)}: grpc ${actual} http ${expected}`);
        }
      }
      expect(logger.lines).toEqual([]);
    }
    expect(differences).toEqual([]);
    expect(compared).toBeGreaterThan(4 * 14 * 60);
  });

  it("grpcSync__changeThroughTheAdminApi__providerEmitsConfigurationChangedAndEvaluatesTheNewValue", { timeout: 60_000 }, async () => {
    // Given an environment with a feature, a server key, the integration on, and a provider synced to it
    const user = await signUpUser();
    const { project, environments: [environment] } = await projectWithEnvironments(user, ["Production"]);
    await user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });
    const feature = await user.caller.features.create({ projectId: project.id, name: "banner", initialValue: "blue", defaultEnabled: true });
    const { key } = await user.caller.environments.createServerKey({ environmentId: environment.id, name: "in-process" });
    await waitForDocuments([environment.id]);
    await OpenFeature.setProviderAndWait("change", inProcessProvider(port, key));
    const client = OpenFeature.getClient("change");
    expect(await client.getStringValue("banner", "none", { targetingKey: "u1" })).toBe("blue");

    // When the value changes through the running Flagpost's admin API (tRPC over HTTP, with an organisation API key)
    const { key: apiKey } = await user.caller.organisations.createApiKey({ organisationId: user.organisationId, name: "admin-api" });
    const changed = nextEvent("change", ProviderEvents.ConfigurationChanged);
    const response = await fetch(`${base}/api/trpc/features.updateState`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Api-Key ${apiKey}` },
      body: JSON.stringify({ featureId: feature.id, environmentId: environment.id, value: "green" }),
    });
    expect(response.status).toBe(200);

    // Then the provider emits PROVIDER_CONFIGURATION_CHANGED naming the flag, and evaluates the new value
    expect(await changed).toMatchObject({ flagsChanged: ["banner"] });
    expect(await client.getStringValue("banner", "none", { targetingKey: "u1" })).toBe("green");
    expect(client.providerStatus).toBe(ProviderStatus.READY);
  });

  it("grpcSync__wrongKeyClientKeyOrIntegrationOff__refusedLikeTheHttpEndpoint", { timeout: 60_000 }, async () => {
    // Given an environment with a server key, its client key, and a second project with the integration off
    const user = await signUpUser();
    const { project, environments: [environment] } = await projectWithEnvironments(user, ["Production"]);
    await user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });
    const { key } = await user.caller.environments.createServerKey({ environmentId: environment.id, name: "sync" });
    const off = await projectWithEnvironments(user, ["Off"]);
    const { key: offKey } = await user.caller.environments.createServerKey({ environmentId: off.environments[0].id, name: "sync" });
    await waitForDocuments([environment.id, off.environments[0].id]);
    const client = syncClient(port);

    // When SyncFlags and FetchAllFlags are called with each
    const sync = async (selector: string) => (await openSync(client, { selector }).ended).code;
    const fetch = (selector: string) => codeOf(fetchAll(client, { selector }));

    // Then: no key or an unknown one → UNAUTHENTICATED (401), a client key → PERMISSION_DENIED (403), the
    // integration off → NOT_FOUND (404); the right key → the document
    for (const call of [sync, fetch]) {
      expect(await call("")).toBe(grpc.status.UNAUTHENTICATED);
      expect(await call("ser.not-a-real-key-123456")).toBe(grpc.status.UNAUTHENTICATED);
      expect(await call(environment.apiKey)).toBe(grpc.status.PERMISSION_DENIED);
      expect(await call(offKey)).toBe(grpc.status.NOT_FOUND);
    }
    expect(await fetchAll(client, { selector: key })).toBe(await httpDocument(key));

    // And the official provider with a wrong or a client key does not become ready
    for (const [domain, selector] of [["wrong-key", "ser.wrong-key-1234567890"], ["client-key", environment.apiKey]] as const) {
      const provider = inProcessProvider(port, selector);
      await expect(OpenFeature.setProviderAndWait(domain, provider)).rejects.toThrow();
      expect(OpenFeature.getClient(domain).providerStatus).toBe(ProviderStatus.ERROR);
      // (no document was ever received: nothing resolves, the caller's default is served)
      const result = await OpenFeature.getClient(domain).getBooleanDetails("anything", true);
      expect(result).toMatchObject({ value: true, reason: "ERROR" });
      // (it would keep retrying in the background)
      await provider.onClose();
    }
    client.close();
  });

  it("grpcSync__credentials__authorizationBearerWinsOverSelectorHeaderWhichWinsOverTheField", { timeout: 60_000 }, async () => {
    // Given an environment with the integration on and a server key
    const user = await signUpUser();
    const { project, environments: [environment] } = await projectWithEnvironments(user, ["Production"]);
    await user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });
    const { key } = await user.caller.environments.createServerKey({ environmentId: environment.id, name: "sync" });
    await waitForDocuments([environment.id]);
    const client = syncClient(port);
    const http = await httpDocument(key);

    // When the key travels in each place a client can put it
    const bearer = await fetchAll(client, {}, metadata({ authorization: `Bearer ${key}` }));
    const header = await fetchAll(client, { selector: "ignored" }, metadata({ "flagd-selector": key }));
    const field = await fetchAll(client, { selector: key });
    const bearerWins = await codeOf(fetchAll(client, { selector: key }, metadata({ authorization: "Bearer ser.wrong-key-123456" })));
    const notBearer = await codeOf(fetchAll(client, { selector: key }, metadata({ authorization: `Basic ${key}` })));

    // Then each opens the environment; a bearer token is the credential whenever authorization is sent
    expect([bearer, header, field]).toEqual([http, http, http]);
    expect(bearerWins).toBe(grpc.status.UNAUTHENTICATED);
    expect(notBearer).toBe(grpc.status.UNAUTHENTICATED);
    client.close();
  });

  it("grpcSync__openStream__revokedKeyOrIntegrationOffEndsItAtOnce", { timeout: 60_000 }, async () => {
    // Given two streams of one environment, each opened with its own server key
    const user = await signUpUser();
    const { project, environments: [environment] } = await projectWithEnvironments(user, ["Production"]);
    await user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });
    const first = await user.caller.environments.createServerKey({ environmentId: environment.id, name: "first" });
    const second = await user.caller.environments.createServerKey({ environmentId: environment.id, name: "second" });
    await waitForDocuments([environment.id]);
    const client = syncClient(port);
    const revoked = openSync(client, { selector: first.key });
    const kept = openSync(client, { selector: second.key });
    await Promise.all([revoked.message(0), kept.message(0)]);

    // When the first key is revoked
    await user.caller.environments.revokeServerKey({ environmentId: environment.id, serverKeyId: first.id });

    // Then its stream ends UNAUTHENTICATED (without waiting for a document change), the other stays open
    expect(await revoked.ended).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(kept.status).toBeNull();

    // When the project's flagd integration is turned off
    await user.caller.flagd.setEnabled({ projectId: project.id, enabled: false });

    // Then the other stream ends NOT_FOUND at the next document
    expect(await kept.ended).toMatchObject({ code: grpc.status.NOT_FOUND });
    expect(kept.messages).toHaveLength(1);
    client.close();
  });

  it("grpcSync__streamAndMetadata__oneDocumentPerChangeNoSyncContextEmptyMetadataAndMetrics", { timeout: 60_000 }, async () => {
    // Given a stream of an environment
    const user = await signUpUser();
    const { project, environments: [environment] } = await projectWithEnvironments(user, ["Production"]);
    await user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });
    const feature = await user.caller.features.create({ projectId: project.id, name: "limit", initialValue: 1, defaultEnabled: true });
    const { key } = await user.caller.environments.createServerKey({ environmentId: environment.id, name: "sync" });
    await waitForDocuments([environment.id]);
    const client = syncClient(port);
    const stream = openSync(client, { selector: key, providerId: "grpc-sync-test" });
    const initial = JSON.parse(await stream.message(0)) as FlagdDocument;

    // When the feature changes twice
    await user.caller.features.updateState({ featureId: feature.id, environmentId: environment.id, value: 2 });
    await eventually(() => (stream.messages.length >= 2 ? true : undefined), 10_000, "second document");
    await user.caller.features.updateState({ featureId: feature.id, environmentId: environment.id, value: 3 });
    await eventually(() => (stream.messages.length >= 3 ? true : undefined), 10_000, "third document");

    // Then each document arrived once, in order, equal to the HTTP document of the moment
    expect(stream.messages.map((m) => (JSON.parse(m) as FlagdDocument).flags.limit.variants)).toEqual([{ control: 1 }, { control: 2 }, { control: 3 }]);
    expect(initial.metadata.flagSetId).toContain("/production");
    expect(stream.messages[2]).toBe(await httpDocument(key));
    // …GetMetadata answers an empty static context (flag set metadata is in the document)
    expect(await getMetadata(client)).toEqual({ metadata: { fields: {} } });
    // …and /metrics counts the open stream and the pushes
    const metrics = await (await fetch(metricsUrl)).text();
    expect(metrics).toMatch(/^flagsmith_flagd_grpc_sync_streams [1-9]\d*$/m);
    expect(metrics).toMatch(/^flagsmith_flagd_grpc_sync_documents_pushed_total\{kind="update"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^flagsmith_flagd_grpc_sync_requests_total\{method="SyncFlags",code="OK"\} [1-9]\d*$/m);
    stream.cancel();
    client.close();
  });
});
