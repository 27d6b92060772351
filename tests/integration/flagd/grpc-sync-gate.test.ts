/**
 * flagd gRPC sync behind Flagpost's own rollout gate `flagd_grpc_sync` (docs/rollouts.md), with the shipped-file
 * source pointed at variants of config/flagpost-flags.json (FLAGPOST_FLAGS_FILE): an organisation with the gate
 * closed gets UNIMPLEMENTED on every RPC (as from a server without the service), one with it open is served, and
 * a stream open when the gate closes is ended at the next re-authorisation. The sync server runs in the test
 * process (its gates are this process's), re-authorising every 200 ms.
 */
import { OpenFeature, ProviderStatus } from "@openfeature/server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFlagdSyncServer, type FlagdSyncServer } from "../../../src/server/api/flagd-sync-server";
import { resetSettingsForTests } from "../../../src/server/config";
import { freePort } from "../../../src/server/db/embedded";
import { flagdGrpcSyncRequests } from "../../../src/server/flagd/metrics";
import { closeOpenFeatureClient } from "../../../src/server/rollouts/client";
import { clearEvaluationContexts } from "../../../src/server/rollouts/contexts";
import { stopServing } from "../../../src/server/serving/gate";
import { flagsFileWith } from "../../support/flags-files";
import { waitForDocuments } from "../support/documents";
import { codeOf, fetchAll, getMetadata, grpc, inProcessProvider, metadata, openSync, syncClient } from "../support/flagd-sync";
import { captureLogs, projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { startTestWorker } from "../support/worker";

/** flagsmith_flagd_grpc_sync_requests_total{code="UNIMPLEMENTED"} by method. */
async function unimplementedCounts(): Promise<Record<string, number>> {
  const { values } = await flagdGrpcSyncRequests.get();
  return Object.fromEntries(values.filter((value) => value.labels.code === "UNIMPLEMENTED").map((value) => [String(value.labels.method), value.value]));
}

interface Tenant {
  user: TestUser;
  serverKey: string;
  projectId: number;
}

let server: FlagdSyncServer;
let beta: Tenant;
let other: Tenant;

async function useFlagsFile(file: string | undefined): Promise<void> {
  if (file === undefined) delete process.env.FLAGPOST_FLAGS_FILE;
  else process.env.FLAGPOST_FLAGS_FILE = file;
  resetSettingsForTests();
  await closeOpenFeatureClient();
  clearEvaluationContexts();
}

/** A flags file where flagd_grpc_sync is off, except for `organisationId` (a segment on the organisation_id trait). */
function gateOnlyFor(organisationId: number): string {
  return flagsFileWith({ flagd_grpc_sync: false }, (document) => {
    const feature = document.feature_states.find((state) => state.feature.name === "flagd_grpc_sync")!.feature;
    document.project.segments.push({
      id: 601,
      name: "gRPC sync beta",
      rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property_: "organisation_id", value: String(organisationId) }], rules: [] }],
      feature_states: [
        { feature, enabled: true, django_id: 9601, featurestate_uuid: "00000000-0000-0000-0000-000000009601", feature_state_value: null, feature_segment: { priority: 0 }, multivariate_feature_state_values: [] },
      ],
    });
  });
}

async function tenant(): Promise<Tenant & { environmentId: number }> {
  const user = await signUpUser();
  const { project, environments: [environment] } = await projectWithEnvironments(user, ["Production"]);
  await user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });
  await user.caller.features.create({ projectId: project.id, name: "banner", initialValue: "hello", defaultEnabled: true });
  const { key } = await user.caller.environments.createServerKey({ environmentId: environment.id, name: "in-process" });
  return { user, serverKey: key, environmentId: environment.id, projectId: project.id };
}

beforeAll(async () => {
  await startTestWorker();
  const [first, second] = [await tenant(), await tenant()];
  beta = first;
  other = second;
  await waitForDocuments([first.environmentId, second.environmentId]);
  server = (await startFlagdSyncServer({ host: "127.0.0.1", port: await freePort(), portExplicit: true, maxStreams: 100, keepaliveMs: 30_000, reauthoriseMs: 200 }))!;
}, 120_000);

afterAll(async () => {
  await useFlagsFile(undefined);
  await OpenFeature.close();
  await server?.close(1_000);
  await stopServing();
});

describe("flagd gRPC sync behind the flagd_grpc_sync gate", () => {
  it("flagdGrpcSync__gateClosedForOneOrganisation__everyRpcWithItsKeyUnimplementedTheOpenOrganisationServedAndOfferedInTheUi", { timeout: 60_000 }, async () => {
    // Given flags where flagd_grpc_sync is off for every organisation but `beta`
    await useFlagsFile(gateOnlyFor(beta.user.organisationId));
    const client = syncClient(server.port);
    const logs = captureLogs();
    const unimplementedBefore = await unimplementedCounts();

    // When each organisation's key calls SyncFlags, FetchAllFlags and GetMetadata (the key in flagd-selector)
    const sync = (selector: string) => openSync(client, { selector });
    const closedSync = await sync(other.serverKey).ended;
    const closedFetch = await fetchAll(client, { selector: other.serverKey }).catch((error: grpc.ServiceError) => error);
    const closedMetadata = await getMetadata(client, metadata({ "flagd-selector": other.serverKey })).catch((error: grpc.ServiceError) => error);
    const openStream = sync(beta.serverKey);
    const openDocument = await openStream.message(0);
    const openFetch = await fetchAll(client, { selector: beta.serverKey });
    const openMetadata = await getMetadata(client, metadata({ "flagd-selector": beta.serverKey }));

    // Then the closed organisation gets UNIMPLEMENTED naming the method, exactly what a server without the service answers
    expect(closedSync).toEqual({ code: grpc.status.UNIMPLEMENTED, details: "The server does not implement the method /flagd.sync.v1.FlagSyncService/SyncFlags" });
    expect(closedFetch).toMatchObject({ code: grpc.status.UNIMPLEMENTED, details: "The server does not implement the method /flagd.sync.v1.FlagSyncService/FetchAllFlags" });
    expect(closedMetadata).toMatchObject({ code: grpc.status.UNIMPLEMENTED, details: "The server does not implement the method /flagd.sync.v1.FlagSyncService/GetMetadata" });
    // …the open one is served as usual
    expect(JSON.parse(openDocument).flags.banner).toBeDefined();
    expect(openFetch).toBe(openDocument);
    expect(openMetadata).toEqual({ metadata: { fields: {} } });
    // …the key is still checked first (a closed gate is no probe for keys), and GetMetadata without a key tells nothing either way
    expect(await codeOf(fetchAll(client, { selector: "ser.not-a-real-key-123456" }))).toBe(grpc.status.UNAUTHENTICATED);
    expect(await codeOf(getMetadata(client, metadata({ "flagd-selector": "ser.not-a-real-key-123456" })))).toBe(grpc.status.UNAUTHENTICATED);
    expect(await getMetadata(client)).toEqual({ metadata: { fields: {} } });
    // …the refusals are counted by method and code, and nothing logged carries the key
    const unimplemented = await unimplementedCounts();
    expect(["SyncFlags", "FetchAllFlags", "GetMetadata"].map((method) => (unimplemented[method] ?? 0) - (unimplementedBefore[method] ?? 0))).toEqual([1, 1, 1]);
    expect(logs.lines.filter((line) => JSON.stringify(line).includes(other.serverKey))).toEqual([]);
    // …and the admin UI's flagd status offers gRPC sync to the open organisation only (the panel and Connect page show none of it otherwise)
    expect((await beta.user.caller.flagd.status({ projectId: beta.projectId })).grpcSync).toMatchObject({ host: "127.0.0.1", port: server.port });
    expect((await other.user.caller.flagd.status({ projectId: other.projectId })).grpcSync).toBeNull();
    logs.stop();
    openStream.cancel();
    client.close();
  });

  it("flagdGrpcSync__gateClosedForOneOrganisation__officialProviderOfThatOrganisationNeverReady", { timeout: 60_000 }, async () => {
    // Given flags where flagd_grpc_sync is off for every organisation but `beta`
    await useFlagsFile(gateOnlyFor(beta.user.organisationId));

    // When the official in-process provider connects with each organisation's key
    const closed = inProcessProvider(server.port, other.serverKey);
    const refused = await OpenFeature.setProviderAndWait("gate-closed", closed).then(
      () => "ready",
      () => "refused",
    );
    await OpenFeature.setProviderAndWait("gate-open", inProcessProvider(server.port, beta.serverKey));

    // Then the closed organisation's provider is not ready and serves the caller's default; the open one evaluates
    expect(refused).toBe("refused");
    expect(await OpenFeature.getClient("gate-closed").getStringDetails("banner", "default")).toMatchObject({ value: "default", reason: "ERROR" });
    expect(OpenFeature.getClient("gate-open").providerStatus).toBe(ProviderStatus.READY);
    expect(await OpenFeature.getClient("gate-open").getStringValue("banner", "default")).toBe("hello");
    await closed.onClose();
  });

  it("flagdGrpcSync__gateClosesAndReopensWhileStreamsAreOpen__closedOrganisationsStreamEndsUnimplementedThenItIsServedAgain", { timeout: 60_000 }, async () => {
    // Given every gate on (the shipped file) and a stream of each organisation
    await useFlagsFile(undefined);
    const client = syncClient(server.port);
    const closing = openSync(client, { selector: other.serverKey });
    const staying = openSync(client, { selector: beta.serverKey });
    await Promise.all([closing.message(0), staying.message(0)]);

    // When the flags change to close the gate for `other` (no document of its environment changes)
    await useFlagsFile(gateOnlyFor(beta.user.organisationId));

    // Then its stream ends UNIMPLEMENTED at the next re-authorisation; beta's stays open
    expect(await closing.ended).toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    expect(closing.messages).toHaveLength(1);
    expect(staying.status).toBeNull();

    // When the gate opens again
    await useFlagsFile(undefined);

    // Then the organisation is served again
    const reopened = openSync(client, { selector: other.serverKey });
    expect(JSON.parse(await reopened.message(0)).flags.banner).toBeDefined();
    expect(staying.status).toBeNull();
    reopened.cancel();
    staying.cancel();
    client.close();
  });
});
