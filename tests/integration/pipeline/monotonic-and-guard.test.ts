import { eq, sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { environments } from "../../../src/server/db/schema";
import { resetSettingsForTests } from "../../../src/server/config";
import { buildInSnapshot } from "../../../src/server/documents/build";
import { environmentsChanged } from "../../../src/server/documents/changes";
import { documentDeferrals, documentWrites } from "../../../src/server/documents/metrics";
import { storeDocument } from "../../../src/server/documents/store";
import { captureLogs, projectWithEnvironments, signUpUser } from "../support/fixtures";
import { storedDocument, waitForDocuments } from "../support/documents";
import { startTestWorker, stopTestWorker } from "../support/worker";

async function counterValue(metric: typeof documentWrites | typeof documentDeferrals, labels: Record<string, string>): Promise<number> {
  const data = await metric.get();
  return data.values.find((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))?.value ?? 0;
}

afterEach(async () => {
  await stopTestWorker();
  delete process.env.DOCUMENT_GUARD_BASE_DELAY_MS;
  delete process.env.DOCUMENT_GUARD_MAX_ATTEMPTS;
  resetSettingsForTests();
});

describe("monotonic document writes", () => {
  it("twoWrites__completingInReverseOrder__newerDocumentStays", async () => {
    // Given a document built at revision R1, then a change and a document built at R2 > R1
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
    const feature = await user.caller.features.create({ projectId: project.id, name: "f", initialValue: "old" });
    const older = await buildInSnapshot(dev.id);
    await user.caller.features.updateState({ featureId: feature.id, environmentId: dev.id, value: "new" });
    const newer = await buildInSnapshot(dev.id);
    expect(newer.revision).toBeGreaterThan(older.revision);
    const write = (built: typeof older) => ({
      environmentId: dev.id,
      revision: built.revision,
      document: JSON.stringify(built.document),
      sdkExtras: built.sdkExtras,
      environmentUpdatedAt: built.updatedAt,
      featureStatesCount: built.featureStatesCount,
    });

    // When the newer write completes first and the older one after it
    const first = await storeDocument(getDb(), write(newer));
    const second = await storeDocument(getDb(), write(older));

    // Then the older write is discarded and the newer document remains
    expect([first, second]).toEqual([true, false]);
    const stored = await storedDocument(dev.id);
    expect(stored?.revision).toBe(newer.revision);
    expect(stored?.document.feature_states[0].feature_state_value).toBe("new");
  });
});

describe("creation guard", () => {
  it("documentWrite__environmentStillCreating__defersWithExponentialBackoffThenWrites", { timeout: 60_000 }, async () => {
    // Given an environment marked as being created, a fast backoff for the test, and a running worker
    process.env.DOCUMENT_GUARD_BASE_DELAY_MS = "200";
    process.env.DOCUMENT_GUARD_MAX_ATTEMPTS = "10";
    resetSettingsForTests();
    const user = await signUpUser();
    const { environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
    await waitForDocumentsWithWorker([dev.id]);
    await getDb().update(environments).set({ isCreating: true }).where(eq(environments.id, dev.id));
    const capture = captureLogs();
    const deferredBefore = await counterValue(documentDeferrals, { outcome: "deferred" });
    await startTestWorker();

    // When a write is enqueued, and the flag is cleared after the third deferral
    await getDb().transaction((tx) => environmentsChanged(tx, { environmentIds: [dev.id] }, "test"));
    const deadline = Date.now() + 20_000;
    while (capture.events("environment_document.deferred").length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await getDb().transaction(async (tx) => {
      await tx.update(environments).set({ isCreating: false }).where(eq(environments.id, dev.id));
      await environmentsChanged(tx, { environmentIds: [dev.id] }, "creation_finished");
    });
    await waitForDocuments([dev.id]);
    capture.stop();

    // Then the deferrals came at growing intervals (200, 400 ms …), were counted, and the document was written once the flag cleared
    const deferred = capture.events("environment_document.deferred");
    expect(deferred.slice(0, 3).map((l) => l["delay.ms"])).toEqual([200, 400, 800]);
    const times = deferred.slice(0, 3).map((l) => Date.parse(l.time as string));
    // (each next attempt is scheduled from before its enqueue's round trip, and logged after its own: 50 ms of slack)
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(150);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(350);
    expect(await counterValue(documentDeferrals, { outcome: "deferred" })).toBeGreaterThanOrEqual(deferredBefore + 3);
    const written = capture.events("environment_document.written").filter((l) => l["environment.id"] === dev.id);
    expect(written.length).toBeGreaterThanOrEqual(1);
  });

  it("documentWrite__featureCreatingPastTheBound__givesUpLogsAndCounts", { timeout: 60_000 }, async () => {
    // Given a feature stuck "creating" and a bound of 3 attempts
    process.env.DOCUMENT_GUARD_BASE_DELAY_MS = "100";
    process.env.DOCUMENT_GUARD_MAX_ATTEMPTS = "3";
    resetSettingsForTests();
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
    const feature = await user.caller.features.create({ projectId: project.id, name: "stuck" });
    await getDb().execute(sql`update features set is_creating = true where id = ${feature.id}`);
    const revisionBefore = (await storedDocument(dev.id))?.revision ?? 0;
    const capture = captureLogs();
    const gaveUpBefore = await counterValue(documentDeferrals, { outcome: "gave_up" });

    // When a write is enqueued and the worker runs
    await getDb().transaction((tx) => environmentsChanged(tx, { environmentIds: [dev.id] }, "test"));
    await startTestWorker();
    const deadline = Date.now() + 20_000;
    while (capture.events("environment_document.gave_up").length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    capture.stop();

    // Then it deferred twice, gave up with a warning event, the metric counted it, and no partial document was written
    expect(capture.events("environment_document.deferred")).toHaveLength(2);
    const [gaveUp] = capture.events("environment_document.gave_up");
    expect(gaveUp).toMatchObject({ level: "warn", "environment.id": dev.id, reason: "feature_creating", "guard.attempts": 3 });
    expect(await counterValue(documentDeferrals, { outcome: "gave_up" })).toBe(gaveUpBefore + 1);
    expect((await storedDocument(dev.id))?.revision ?? 0).toBe(revisionBefore);
  });
});

async function waitForDocumentsWithWorker(environmentIds: number[]): Promise<void> {
  await startTestWorker();
  await waitForDocuments(environmentIds);
  await stopTestWorker();
}
