/**
 * The on-disk snapshot (src/server/serving/snapshot.ts) in a directory shared by several web processes, as
 * docs/deployment.md allows: each "process" here is its own snapshot state (the process slot swapped), all on one
 * directory. No process may lose another's keys, nor bring back a key another learnt was revoked.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { resetSettingsForTests } from "@/server/config";
import { setLogDestination } from "@/server/observability/logger";
import {
  flushSnapshot,
  forgetSnapshotKeys,
  hashKey,
  readSnapshotDocument,
  snapshotDocument,
  snapshotKey,
  snapshotKeyOf,
  snapshotServable,
  type SnapshotKey,
} from "@/server/serving/snapshot";

// The process slot snapshot.ts keeps its state in (singleton.ts): one value per process.
const holder = (globalThis as unknown as Record<symbol, { value: unknown }>)[Symbol.for("flagpost.documentSnapshot")];
const processes = new Map<string, unknown>();

/** Runs `work` as web process `name` (its own snapshot state, as a separate process has). */
function as<T>(name: string, work: () => T): T {
  holder.value = processes.get(name);
  try {
    return work();
  } finally {
    processes.set(name, holder.value);
    holder.value = undefined;
  }
}

const keyOf = (environmentId: number): SnapshotKey => ({ environmentId, projectId: 10 + environmentId, organisationId: 100, kind: "server", validUntil: null });

const documentOf = (environmentId: number, revision: number) => ({
  environmentId,
  revision,
  document: JSON.stringify({ api_key: "x", revision }),
  sdkExtras: {} as never,
  environmentUpdatedAt: new Date(0).toISOString(),
  flagdDocument: null,
  flagdEtag: null,
  flagdDiagnostics: null,
  translatorVersion: null,
});

let dir: string;

beforeAll(() => {
  setLogDestination({ write: () => undefined });
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-snapshot-unit-"));
  process.env.FLAGPOST_DOCUMENT_CACHE_DIR = dir;
  resetSettingsForTests();
  processes.clear();
});

afterEach(() => {
  delete process.env.FLAGPOST_DOCUMENT_CACHE_DIR;
  resetSettingsForTests();
  holder.value = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("snapshot in a shared directory", () => {
  it("snapshotKey__twoProcessesWriteTheirKeys__eachKeepsTheOthers", async () => {
    // Given process B, which has looked at the snapshot already, and process A, which resolves key-a
    as("B", () => snapshotKeyOf("anything"));
    as("A", () => snapshotKey("key-a", keyOf(1)));
    await as("A", () => flushSnapshot());

    // When B resolves key-b and writes it
    as("B", () => snapshotKey("key-b", keyOf(2)));
    await as("B", () => flushSnapshot());

    // Then a process starting now from the directory knows both keys
    expect(as("C", () => [snapshotKeyOf("key-a"), snapshotKeyOf("key-b")])).toEqual([keyOf(1), keyOf(2)]);
  });

  it("forgetSnapshotKeys__revocationNotifiedToOneProcess__anotherThatMissedItCannotWriteTheKeyBack", async () => {
    // Given process A, which resolved a key of environment 1 and one of environment 2
    as("A", () => {
      snapshotKey("revoked", keyOf(1));
      snapshotKey("kept", keyOf(2));
    });
    await as("A", () => flushSnapshot());

    // When process B is notified of a key change of environment 1 (a revocation), which A misses,
    as("B", () => forgetSnapshotKeys(new Set([1])));
    await as("B", () => flushSnapshot());
    // and A writes again (a new key resolved)
    as("A", () => snapshotKey("new", keyOf(3)));
    await as("A", () => flushSnapshot());

    // Then a process starting now does not serve the revoked key, and serves the others
    expect(as("C", () => snapshotKeyOf("revoked"))).toBeUndefined();
    expect(as("C", () => [snapshotKeyOf("kept"), snapshotKeyOf("new")])).toEqual([keyOf(2), keyOf(3)]);
  });

  it("snapshotKey__readStartedBeforeARevocationWrittenAfterIt__notServedUntilReadAgain", async () => {
    // Given a key change of environment 1 notified to process B
    as("B", () => forgetSnapshotKeys(new Set([1])));
    await as("B", () => flushSnapshot());

    // When process A writes what a database read that started a second earlier answered
    as("A", () => snapshotKey("slow", keyOf(1), Date.now() - 1_000));
    await as("A", () => flushSnapshot());

    // Then it is not served; once a read that started after the change confirms it, it is
    expect(as("C", () => snapshotKeyOf("slow"))).toBeUndefined();
    as("D", () => snapshotKey("slow", keyOf(1), Date.now() + 1));
    await as("D", () => flushSnapshot());
    expect(as("E", () => snapshotKeyOf("slow"))).toEqual(keyOf(1));
  });

  it("snapshotKey__foundRevokedByOneProcess__anOlderAnswerOfAnotherDoesNotBringItBack", async () => {
    // Given a key recorded by process A at t0 and found revoked by process B's read at t0 + 10 ms (no notification reached anyone)
    const t0 = Date.now() - 1_000;
    as("A", () => snapshotKey("key", keyOf(1), t0));
    await as("A", () => flushSnapshot());
    as("B", () => snapshotKey("key", null, t0 + 10));
    await as("B", () => flushSnapshot());

    // When process D writes the answer of a read that started at t0 + 5 ms (before B's)
    as("D", () => snapshotKey("key", keyOf(1), t0 + 5));
    await as("D", () => flushSnapshot());

    // Then the key is not served
    expect(as("C", () => snapshotKeyOf("key"))).toBeUndefined();
  });

  it("snapshotKey__anyKey__neverWrittenInClearAndUnknownKeysLeaveNoFile", async () => {
    // Given a known key and a made-up one
    as("A", () => {
      snapshotKey("ser.secret-known-key", keyOf(1));
      snapshotKey("made-up-key", null);
    });
    await as("A", () => flushSnapshot());

    // When the directory is read
    const files = fs.readdirSync(path.join(dir, "keys"));
    const contents = files.map((file) => fs.readFileSync(path.join(dir, "keys", file), "utf8")).join("\n");

    // Then one file, named by the key's hash, without the key
    expect(files).toEqual([`${hashKey("ser.secret-known-key")}.json`]);
    expect(contents).not.toContain("secret-known-key");
  });

  it("snapshotKey__keysFileOfAnEarlierVersion__neverReadAndRemoved", async () => {
    // Given a keys.json as earlier versions wrote it (every key of a process, rewritten whole)
    fs.writeFileSync(path.join(dir, "keys.json"), JSON.stringify({ [hashKey("old")]: keyOf(1) }));

    // When a process looks the key up, then writes another
    const old = as("A", () => snapshotKeyOf("old"));
    as("A", () => snapshotKey("other", keyOf(2)));
    await as("A", () => flushSnapshot());

    // Then the old file was not trusted, and is gone
    expect(old).toBeUndefined();
    expect(fs.existsSync(path.join(dir, "keys.json"))).toBe(false);
  });

  it("snapshotDocument__olderRevisionLoadedByAnotherProcess__newerOneKept", async () => {
    // Given revision 5 of environment 1 written by process A
    as("A", () => snapshotDocument(documentOf(1, 5)));
    await as("A", () => flushSnapshot());

    // When process B, whose read was slower, writes revision 4
    as("B", () => snapshotDocument(documentOf(1, 4)));
    await as("B", () => flushSnapshot());

    // Then revision 5 is what a process starting now serves
    expect((await as("C", () => readSnapshotDocument(1)))?.revision).toBe(5);
  });
});

describe("snapshotServable", () => {
  it("snapshotServable__emptyDocumentsOnlyOrAKeyOfIt__servableOnlyWithADocumentAndALiveKeyOfItsEnvironment", async () => {
    // Given an empty snapshot directory
    const servable = () => as("A", () => snapshotServable());
    expect(servable()).toBe(false);

    // When a document is written (no key), then a key of another environment, then a key of its environment
    as("A", () => snapshotDocument(documentOf(1, 3)));
    await as("A", () => flushSnapshot());
    const documentOnly = servable();
    as("A", () => snapshotKey("elsewhere", keyOf(2)));
    await as("A", () => flushSnapshot());
    const otherKey = servable();
    as("A", () => snapshotKey("client", keyOf(1)));
    await as("A", () => flushSnapshot());
    const withKey = servable();
    // and then a key change of environment 1 is notified
    as("A", () => forgetSnapshotKeys(new Set([1])));
    await as("A", () => flushSnapshot());
    const afterRevocation = servable();

    // Then it can serve only while a document has a live key
    expect([documentOnly, otherKey, withKey, afterRevocation]).toEqual([false, false, true, false]);
  });
});
