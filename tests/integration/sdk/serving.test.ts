/**
 * src/server/serving/ in process, against this file's own database: key resolution and caching,
 * the document cache and its freshness through LISTEN/NOTIFY (the timed revision check is set to
 * 10 minutes here, so only notifications can make a new document visible in time).
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { getDb } from "../../../src/server/db/client";
import { onDocumentChange } from "../../../src/server/serving/changes";
import { currentDocument } from "../../../src/server/serving/document-cache";
import { stopServing } from "../../../src/server/serving/gate";
import { resolveEnvironmentKey } from "../../../src/server/serving/key-cache";
import { isListening, listeningGeneration } from "../../../src/server/serving/listener";
import { writeEnvironmentDocument } from "../../../src/server/publishing/write-document";
import { documentCacheLookups, keyNotifications } from "../../../src/server/serving/metrics";
import { projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { eventually } from "./support";

process.env.DOCUMENT_REVISION_CHECK_MS = "600000";
process.env.ENVIRONMENT_KEY_CACHE_SECONDS = "60";
resetSettingsForTests();

async function lookups(result: string): Promise<number> {
  const metric = await documentCacheLookups.get();
  return metric.values.find((v) => v.labels.result === result)?.value ?? 0;
}

let user: TestUser;
let projectId: number;
let environmentId: number;
let clientKey: string;

beforeAll(async () => {
  user = await signUpUser();
  const { project, environments } = await projectWithEnvironments(user, ["Development"]);
  projectId = project.id;
  environmentId = environments[0].id;
  clientKey = environments[0].apiKey;
  await user.caller.features.create({ projectId, name: "banner", initialValue: "hello", defaultEnabled: true });
});

afterAll(async () => {
  await stopServing();
});

describe("resolveEnvironmentKey", () => {
  it("resolveEnvironmentKey__clientAndServerKeys__environmentWithKind", async () => {
    // Given a client key and a server key of one environment
    const server = await user.caller.environments.createServerKey({ environmentId, name: "backend" });

    // When both are resolved
    const client = await resolveEnvironmentKey(clientKey);
    const resolvedServer = await resolveEnvironmentKey(server.key);

    // Then both name the environment, project and organisation, with their kind
    expect(client).toEqual({ environmentId, projectId, organisationId: user.organisationId, kind: "client" });
    expect(resolvedServer).toEqual({ environmentId, projectId, organisationId: user.organisationId, kind: "server" });
  });

  it("resolveEnvironmentKey__revokedExpiredUnknownOrOversized__null", async () => {
    // Given a revoked key, an expired key, an unknown key and an absurdly long one
    const revoked = await user.caller.environments.createServerKey({ environmentId, name: "revoked" });
    const keys = await user.caller.environments.serverKeys({ environmentId });
    await user.caller.environments.revokeServerKey({ environmentId, serverKeyId: keys.find((k) => k.name === "revoked")!.id });
    const expired = await user.caller.environments.createServerKey({ environmentId, name: "expired" });
    await getDb().execute(sql`update environment_api_keys set expires_at = now() - interval '1 minute' where name = 'expired' and environment_id = ${environmentId}`);

    // When they are resolved
    const results = await Promise.all([revoked.key, expired.key, "ser.unknown-key", "nope", "x".repeat(500)].map(resolveEnvironmentKey));

    // Then none resolves
    expect(results).toEqual([null, null, null, null, null]);
  });

  it("resolveEnvironmentKey__keyRevokedAfterUse__refusedAsSoonAsTheChangeIsNotified", async () => {
    // Given a server key that has been used once (cached for ENVIRONMENT_KEY_CACHE_SECONDS=60) while this process LISTENs
    // (listening before the first use: a lookup that spans the listener's connect is cached unconfirmed, and
    // checked again at its next use, which would refuse the key without the notification)
    await eventually(async () => isListening(), 5_000, "listener connected");
    const generation = listeningGeneration();
    const created = await user.caller.environments.createServerKey({ environmentId, name: "cached" });
    expect(await resolveEnvironmentKey(created.key)).not.toBeNull();
    const notified = await keyNotifications.get();
    const before = notified.values[0]?.value ?? 0;

    // When it is revoked in the database (directly: no process drops it by hand)
    await getDb().execute(sql`update environment_api_keys set active = false, revoked_at = now() where name = 'cached' and environment_id = ${environmentId}`);

    // Then the revocation is refused once its notification arrives, long before the cache period
    const started = Date.now();
    await eventually(async () => (await resolveEnvironmentKey(created.key)) === null, 5_000, "revoked key refused");
    expect(Date.now() - started).toBeLessThan(5_000);
    // by the notification, unless the listener reconnected meanwhile (a heartbeat timed out on a loaded
    // machine): then the notification may be lost, and the reconnect's re-check is what refuses the key
    const notifiedAfter = (await keyNotifications.get()).values[0]?.value ?? 0;
    if (listeningGeneration() === generation) expect(notifiedAfter).toBeGreaterThan(before);
  });

  it("resolveEnvironmentKey__unknownKey__negativelyCachedUntilAKeyChangeIsNotified", async () => {
    // Given a key that does not exist yet, resolved once, while this process LISTENs
    await eventually(async () => isListening(), 5_000, "listener connected");
    const key = `late${Date.now()}`;
    expect(await resolveEnvironmentKey(key)).toBeNull();

    // When an environment gets that key afterwards
    await getDb().execute(sql`update environments set api_key = ${key} where id = ${environmentId}`);
    try {
      // Then the cached miss is dropped by the key-change notification and the key resolves
      await eventually(async () => (await resolveEnvironmentKey(key))?.environmentId === environmentId, 5_000, "new key resolves");
    } finally {
      await getDb().execute(sql`update environments set api_key = ${clientKey} where id = ${environmentId}`);
    }
  });
});

describe("currentDocument", () => {
  it("currentDocument__beforeFirstWrite__nullThenLoadedAndCached", async () => {
    // Given an environment without a stored document
    const { environments } = await projectWithEnvironments(user, ["Fresh"]);
    const fresh = environments[0].id;
    expect(await currentDocument(fresh)).toBeNull();

    // When its document is written and read twice
    await writeEnvironmentDocument({ environmentId: fresh });
    await eventually(async () => (await currentDocument(fresh)) !== null, 5_000, "first document visible");
    const first = await currentDocument(fresh);
    const hitsBefore = await lookups("hit");
    const second = await currentDocument(fresh);

    // Then it is parsed once and the second read is a cache hit returning the same entry
    expect(first?.document.name).toBe("Fresh");
    expect(first?.text).toBe(JSON.stringify(first?.document));
    expect(first?.updatedAtEpoch).toBeCloseTo(first!.updatedAt.getTime() / 1000, 2);
    expect(second).toBe(first);
    expect(await lookups("hit")).toBe(hitsBefore + 1);
  });

  it("currentDocument__concurrentColdReads__oneLoadShared", async () => {
    // Given a written document nobody has read in this process
    const { environments } = await projectWithEnvironments(user, ["Concurrent"]);
    const id = environments[0].id;
    await writeEnvironmentDocument({ environmentId: id });
    const loadsBefore = await lookups("loaded");

    // When 20 requests read it at once
    const entries = await Promise.all(Array.from({ length: 20 }, () => currentDocument(id)));

    // Then one load served all of them
    expect(new Set(entries).size).toBe(1);
    expect(await lookups("loaded")).toBe(loadsBefore + 1);
  });

  it("derived__sameRevision__computedOnce", async () => {
    // Given a cached document
    await writeEnvironmentDocument({ environmentId });
    await eventually(async () => (await currentDocument(environmentId)) !== null, 5_000, "document");
    const entry = (await currentDocument(environmentId))!;

    // When derived data is asked for twice
    let computed = 0;
    const first = entry.derived("test.count", () => ++computed);
    const second = entry.derived("test.count", () => ++computed);

    // Then it is computed once
    expect([first, second, computed]).toEqual([1, 1, 1]);
  });

  it("currentDocument__newRevisionWritten__visibleThroughNotificationWithoutTtl", async () => {
    // Given a warm cache while this process LISTENs (the timed check is 10 minutes away)
    await eventually(async () => isListening(), 5_000, "listener connected");
    await writeEnvironmentDocument({ environmentId });
    await eventually(async () => (await currentDocument(environmentId)) !== null, 5_000, "document");
    const before = (await currentDocument(environmentId))!;
    before.derived("test.marker", () => "old revision");

    // When a change is made and its document written
    await user.caller.features.create({ projectId, name: `flag_${Date.now()}`, defaultEnabled: true });
    await writeEnvironmentDocument({ environmentId });

    // Then the new revision is served long before the 10-minute timed check, with fresh derived data
    await eventually(async () => (await currentDocument(environmentId))!.revision > before.revision, 5_000, "new revision visible");
    const after = (await currentDocument(environmentId))!;
    expect(after.document.feature_states.length).toBe(before.document.feature_states.length + 1);
    expect(after.derived("test.marker", () => "new revision")).toBe("new revision");
  });

  it("onDocumentChange__newRevisionOfACachedEnvironment__handlersToldOnceWithTheParsedDocument", async () => {
    // Given a handler registered for document changes and a cached environment
    await eventually(async () => isListening(), 5_000, "listener connected");
    await writeEnvironmentDocument({ environmentId });
    await eventually(async () => (await currentDocument(environmentId)) !== null, 5_000, "document");
    const before = (await currentDocument(environmentId))!;
    const changes: { environmentId: number; previousRevision: number; revision: number; current: boolean }[] = [];
    const unsubscribe = onDocumentChange("test", (change) =>
      changes.push({ environmentId: change.environmentId, previousRevision: change.previousRevision, revision: change.served.revision, current: currentDocument(change.environmentId) === change.served }),
    );
    try {
      // When a change is made and its document written
      await user.caller.features.create({ projectId, name: `pushed_${Date.now()}`, defaultEnabled: true });
      await writeEnvironmentDocument({ environmentId });

      // Then the handler is told once, with the new revision already served synchronously
      await eventually(async () => changes.length > 0, 5_000, "change fanned out");
      await new Promise((r) => setTimeout(r, 200));
      expect(changes).toHaveLength(1);
      expect(changes[0]).toMatchObject({ environmentId, previousRevision: before.revision, current: true });
      expect(changes[0].revision).toBeGreaterThan(before.revision);
    } finally {
      unsubscribe();
    }
  });

  it("currentDocument__listenerConnectionKilled__reconnectsAndServesMissedRevision", async () => {
    // Given a warm cache and a LISTEN connection
    await eventually(async () => isListening(), 5_000, "listener connected");
    await writeEnvironmentDocument({ environmentId });
    await eventually(async () => (await currentDocument(environmentId)) !== null, 5_000, "document");
    const before = (await currentDocument(environmentId))!;

    // When the database drops the listener's connection and a document is written meanwhile
    await getDb().execute(
      sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name like '%document-listener' and datname = current_database()`,
    );
    await user.caller.features.create({ projectId, name: `missed_${Date.now()}`, defaultEnabled: false });
    await writeEnvironmentDocument({ environmentId });

    // Then the listener reconnects and the missed revision is served (no 10-minute wait)
    await eventually(async () => (await currentDocument(environmentId))!.revision > before.revision, 10_000, "missed revision visible");
    await eventually(async () => isListening(), 10_000, "listener reconnected");
  });
});
