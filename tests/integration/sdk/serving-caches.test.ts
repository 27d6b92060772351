/**
 * src/server/serving/ in process, against this file's own database, where last-good serving depends on what the
 * caches keep and trust: the key cache's bounds (a flood of made-up keys never pushes out a key in use), the
 * document cache's (least recently used first, never an environment with open streams), what a key notification
 * or a listener reconnect makes them forget, the snapshot's keys, and readiness with nothing to serve.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { DatabaseUnavailableError, markUp, reportDatabaseError } from "../../../src/server/db/availability";
import { getDb } from "../../../src/server/db/client";
import { writeEnvironmentDocument } from "../../../src/server/publishing/write-document";
import { onDocumentChange, type DocumentChange } from "../../../src/server/serving/changes";
import { clearDocumentCache, currentDocument, DOCUMENT_CACHE_MAX_ENTRIES, pinDocument } from "../../../src/server/serving/document-cache";
import { stopServing } from "../../../src/server/serving/gate";
import { readiness } from "../../../src/server/serving/health";
import { KEY_CACHE_MAX_ENTRIES, KEY_CACHE_MAX_UNKNOWN_ENTRIES, keyCacheSize, resolveEnvironmentKey } from "../../../src/server/serving/key-cache";
import { ensureListener, isListening, listeningGeneration } from "../../../src/server/serving/listener";
import { TOUCH_INTERVAL_MS } from "../../../src/server/serving/lru";
import { keyNotifications } from "../../../src/server/serving/metrics";
import { flushSnapshot, hashKey, resetSnapshotForTests, snapshotDocument, snapshotKey, snapshotKeyOf } from "../../../src/server/serving/snapshot";
import { projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { eventually } from "./support";

// Only notifications (or a reconnect) may make this process re-read a key within a test.
process.env.ENVIRONMENT_KEY_CACHE_SECONDS = "600";
const snapshotDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-serving-caches-"));
process.env.FLAGPOST_DOCUMENT_CACHE_DIR = snapshotDir;
resetSettingsForTests();
resetSnapshotForTests();

let user: TestUser;
let projectId: number;
let environmentId: number;
let otherEnvironmentId: number;
let clientKey: string;
let serverKey: string;

beforeAll(async () => {
  user = await signUpUser();
  const { project, environments } = await projectWithEnvironments(user, ["Production", "Staging"]);
  projectId = project.id;
  [environmentId, otherEnvironmentId] = environments.map((environment) => environment.id);
  clientKey = environments[0].apiKey;
  serverKey = (await user.caller.environments.createServerKey({ environmentId, name: "backend" })).key;
  await user.caller.features.create({ projectId, name: "banner", initialValue: "hello", defaultEnabled: true });
  await writeEnvironmentDocument({ environmentId });
  await writeEnvironmentDocument({ environmentId: otherEnvironmentId });
  ensureListener();
  await eventually(async () => isListening(), 10_000, "listener connected");
});

afterAll(async () => {
  await stopServing();
  delete process.env.FLAGPOST_DOCUMENT_CACHE_DIR;
  resetSettingsForTests();
  resetSnapshotForTests();
  fs.rmSync(snapshotDir, { recursive: true, force: true });
});

/** Runs `work` over `items`, `concurrency` at a time. */
async function inBatches<T>(items: T[], work: (item: T) => unknown, concurrency = 50): Promise<void> {
  for (let i = 0; i < items.length; i += concurrency) await Promise.all(items.slice(i, i + concurrency).map(async (item) => work(item)));
}

/** Reads the documents of `count` environments that do not exist (each one a cache entry: "no document"). */
let nextMissingEnvironment = 50_000_000;
async function readOtherEnvironments(count: number): Promise<void> {
  const ids = Array.from({ length: count }, () => nextMissingEnvironment++);
  await inBatches(ids, (id) => currentDocument(id));
}

const answeredAtOnce = <T>(value: T | Promise<T>): T => {
  if (value instanceof Promise) {
    value.catch(() => undefined);
    throw new Error("not answered from the cache (a promise: the database was asked)");
  }
  return value;
};

async function notificationsReceived(): Promise<number> {
  return (await keyNotifications.get()).values[0]?.value ?? 0;
}

describe("key cache bounds", () => {
  it("resolveEnvironmentKey__floodOfMadeUpKeysThenDatabaseUnreachable__keysInUseStillAnswered", async () => {
    // Given no snapshot (the default: nothing but the cache can answer a key while the database is away),
    process.env.FLAGPOST_DOCUMENT_CACHE_DIR = "";
    resetSettingsForTests();
    resetSnapshotForTests();
    // and a client key and a server key in use, their environment's document cached
    expect(await resolveEnvironmentKey(clientKey)).toMatchObject({ environmentId, kind: "client" });
    expect(await resolveEnvironmentKey(serverKey)).toMatchObject({ environmentId, kind: "server" });
    expect(await currentDocument(environmentId)).not.toBeNull();

    // When more distinct made-up keys than the cache holds are tried (each one asks the database)
    const run = Date.now().toString(36);
    await inBatches(Array.from({ length: KEY_CACHE_MAX_ENTRIES + 50 }, (_, i) => `made-up-${run}-${i}`), (key) => resolveEnvironmentKey(key));
    // and then the database becomes unreachable
    reportDatabaseError(new DatabaseUnavailableError());
    try {
      // Then both keys are still answered, from the cache, at once; the made-up keys take a bounded cache of their own
      expect(answeredAtOnce(resolveEnvironmentKey(clientKey))).toEqual({ environmentId, projectId, organisationId: user.organisationId, kind: "client" });
      expect(answeredAtOnce(resolveEnvironmentKey(serverKey))).toEqual({ environmentId, projectId, organisationId: user.organisationId, kind: "server" });
      expect(keyCacheSize().unknown).toBeLessThanOrEqual(KEY_CACHE_MAX_UNKNOWN_ENTRIES);
    } finally {
      markUp();
      process.env.FLAGPOST_DOCUMENT_CACHE_DIR = snapshotDir;
      resetSettingsForTests();
      resetSnapshotForTests();
    }
  }, 120_000);
});

describe("document cache bounds", () => {
  it("currentDocument__moreEnvironmentsReadThanItHoldsSinceItWasLastUsed__recentlyUsedDocumentKept", async () => {
    // Given an environment's document read, then half as many other environments as the cache holds,
    expect(await currentDocument(environmentId)).not.toBeNull();
    await readOtherEnvironments(DOCUMENT_CACHE_MAX_ENTRIES / 2);
    // and the document used again (a hit moves it up at most once per TOUCH_INTERVAL_MS)
    await new Promise((resolve) => setTimeout(resolve, TOUCH_INTERVAL_MS + 50));
    expect(answeredAtOnce(currentDocument(environmentId))).not.toBeNull();

    // When three quarters of the cache's size more environments are read
    await readOtherEnvironments((DOCUMENT_CACHE_MAX_ENTRIES * 3) / 4);

    // Then it is still answered from the cache (the least recently used went first, not the first loaded)
    expect(answeredAtOnce(currentDocument(environmentId))?.environmentId).toBe(environmentId);
  }, 120_000);

  it("pinDocument__environmentWithOpenStreams__neverEvictedAndItsChangesStillReachTheStreams", async () => {
    // Given the other environment's document cached and pinned (as an open stream pins it)
    const before = await currentDocument(otherEnvironmentId);
    expect(before).not.toBeNull();
    const release = pinDocument(otherEnvironmentId);
    const changes: DocumentChange[] = [];
    const unsubscribe = onDocumentChange("serving-caches-test", (change) => {
      if (change.environmentId === otherEnvironmentId) changes.push(change);
    });
    try {
      // When more environments than the cache holds are read, and a new revision of it is written afterwards
      await readOtherEnvironments(DOCUMENT_CACHE_MAX_ENTRIES + 10);
      await user.caller.features.create({ projectId, name: `pinned_${Date.now()}`, defaultEnabled: false });
      await writeEnvironmentDocument({ environmentId: otherEnvironmentId });

      // Then the new revision reaches the document-change handlers (what streams listen to), and it is served from the cache
      await eventually(async () => changes.length > 0, 10_000, "change of the pinned environment announced");
      expect(changes[0].served.revision).toBeGreaterThan(before!.revision);
      expect(answeredAtOnce(currentDocument(otherEnvironmentId))?.revision).toBe(changes[0].served.revision);
    } finally {
      unsubscribe();
      release();
    }
  }, 120_000);
});

describe("what key notifications and reconnects make the key cache forget", () => {
  it("resolveEnvironmentKey__revokedWhileTheListenerWasReconnecting__refusedAtItsNextUseOnceItIsBack", async () => {
    // Given a server key in use (cached: its creation's notification came before its first use) while this process LISTENs
    await eventually(async () => isListening(), 10_000, "listener connected");
    const notified = await notificationsReceived();
    const created = await user.caller.environments.createServerKey({ environmentId, name: `missed-${Date.now()}` });
    await eventually(async () => (await notificationsReceived()) > notified, 10_000, "key creation notified");
    expect(await resolveEnvironmentKey(created.key)).toMatchObject({ environmentId, kind: "server" });
    expect(answeredAtOnce(resolveEnvironmentKey(created.key))).toMatchObject({ environmentId, kind: "server" });
    const generation = listeningGeneration();

    // When it is revoked in the transaction that ends the listener's connection (its notification reaches no one here)
    await getDb().transaction(async (tx) => {
      await tx.execute(sql`update environment_api_keys set active = false, revoked_at = now() where id = ${created.id}`);
      await tx.execute(sql`select pg_terminate_backend(pid, 5000) from pg_stat_activity where application_name like '%document-listener' and datname = current_database()`);
    });
    // and the listener reconnects
    await eventually(async () => listeningGeneration() > generation, 15_000, "listener reconnected");

    // Then the key is refused at its next use (checked before it is trusted again), not after the cache period
    expect(await resolveEnvironmentKey(created.key)).toBeNull();
  }, 60_000);

  it("resolveEnvironmentKey__keyChangeNotifiedWhileItsLookupRuns__answerNeitherCachedNorSnapshottedUntilReadAgain", async () => {
    // Given a server key this process has never read, whose lookup is held (another transaction locks `projects`)
    const created = await user.caller.environments.createServerKey({ environmentId, name: `racing-${Date.now()}` });
    const holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
    let pending: ReturnType<typeof resolveEnvironmentKey>;
    try {
      await holder.query("begin");
      await holder.query("lock table projects in access exclusive mode");
      pending = resolveEnvironmentKey(created.key);
      expect(pending).toBeInstanceOf(Promise);
      await eventually(async () => {
        const waiting = await holder.query("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()");
        return (waiting.rows[0] as { n: number }).n > 0;
      }, 10_000, "the lookup waiting on the lock");

      // When a key change of its environment is notified meanwhile (as a revocation committed then would be)
      const before = await notificationsReceived();
      await getDb().execute(sql`select pg_notify('environment_keys', ${String(environmentId)})`);
      await eventually(async () => (await notificationsReceived()) > before, 10_000, "key notification received");
      await holder.query("commit");
    } finally {
      await holder.end();
    }

    // Then the lookup answers its caller, but the snapshot does not keep that answer (no record written)
    expect(await pending).toMatchObject({ environmentId, kind: "server" });
    await flushSnapshot();
    expect(snapshotKeyOf(created.key)).toBeUndefined();
    expect(fs.existsSync(path.join(snapshotDir, "keys", `${hashKey(created.key)}.json`))).toBe(false);
    // nor does the cache: the next use reads it again, and that answer is snapshotted
    const again = resolveEnvironmentKey(created.key);
    expect(again).toBeInstanceOf(Promise);
    expect(await again).toMatchObject({ environmentId, kind: "server" });
    await flushSnapshot();
    expect(snapshotKeyOf(created.key)).toMatchObject({ environmentId, kind: "server" });
  }, 60_000);
});

describe("readiness", () => {
  it("readiness__databaseUnreachableNothingCachedSnapshotDirectoryEmpty__unavailableUntilTheSnapshotCanServe", async () => {
    // Given a process with no cached document and an empty snapshot directory
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-empty-snapshot-"));
    process.env.FLAGPOST_DOCUMENT_CACHE_DIR = empty;
    resetSettingsForTests();
    resetSnapshotForTests();
    clearDocumentCache();
    try {
      // When the database is unreachable
      reportDatabaseError(new DatabaseUnavailableError());
      const nothing = await readiness();
      // and then the snapshot holds a document and a key of its environment
      const stored = await getDb().execute<{ revision: number; document: string; environment_updated_at: string }>(
        sql`select d.revision, d.document, e.updated_at as environment_updated_at from environment_documents d join environments e on e.id = d.environment_id where d.environment_id = ${environmentId}`,
      );
      const row = stored.rows[0];
      snapshotDocument({ environmentId, revision: row.revision, document: row.document, sdkExtras: {} as never, environmentUpdatedAt: new Date(row.environment_updated_at).toISOString(), flagdDocument: null, flagdEtag: null, flagdDiagnostics: null, translatorVersion: null });
      snapshotKey(clientKey, { environmentId, projectId, organisationId: user.organisationId, kind: "client", validUntil: null }, Date.now() + 1);
      await flushSnapshot();
      const snapshot = await readiness();

      // Then it says unavailable (503: nothing to serve), then degraded (it can serve the snapshot)
      expect(nothing).toMatchObject({ status: "unavailable", checks: { database: "down", documents: { cached: 0, snapshot: true } } });
      expect(snapshot.status).toBe("degraded");
    } finally {
      markUp();
      process.env.FLAGPOST_DOCUMENT_CACHE_DIR = snapshotDir;
      resetSettingsForTests();
      resetSnapshotForTests();
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
