/**
 * SIGTERM to a worker: it takes no new job, and its running job either finishes (within
 * SHUTDOWN_TIMEOUT_MS) or goes back to the queue, where another worker writes it. Exit code 0.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { startWorkerProcess, stopProcess } from "../../support/system";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";
import { storedDocument, waitForDocuments } from "../support/documents";

async function until(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function lockedJob(key: string): Promise<boolean> {
  return (await getDb().execute(sql`select 1 from graphile_worker._private_jobs where key = ${key} and locked_at is not null`)).rows.length > 0;
}

function exitOf(child: import("node:child_process").ChildProcess): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve({ code: child.exitCode, ms: 0 });
    child.once("exit", (code) => resolve({ code, ms: Date.now() - started }));
  });
}

describe("worker graceful stop", () => {
  it("sigterm__jobRunning__jobFinishesThenExitZero", { timeout: 90_000 }, async () => {
    // Given a worker in the middle of a document write that takes 2 s (fault injection)
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
    const worker = await startWorkerProcess(process.env.DATABASE_URL!, { FAULT_DOCUMENT_WRITE_DELAY_MS: "2000" });
    await waitForDocuments([dev.id], 30_000);
    await user.caller.features.create({ projectId: project.id, name: "graceful", initialValue: "finished" });
    await until(() => lockedJob(`environment_document:${dev.id}`), 30_000, "the write to be running");

    // When it receives SIGTERM
    const exited = exitOf(worker.child);
    worker.child.kill("SIGTERM");

    // Then it finishes the write before exiting 0
    const { code } = await exited;
    expect(code).toBe(0);
    const stored = await storedDocument(dev.id);
    expect(stored?.document.feature_states.some((state) => state.feature.name === "graceful")).toBe(true);
    expect(worker.logs.some((line) => line.includes('"event":"worker.stopping"'))).toBe(true);
  });

  it("sigterm__jobLongerThanShutdownTimeout__jobReturnedToTheQueueAndWrittenByTheNextWorker", { timeout: 90_000 }, async () => {
    // Given a worker whose write takes 8 s, with a 1 s shutdown timeout
    const databaseUrl = process.env.DATABASE_URL!;
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
    const settled = await startWorkerProcess(databaseUrl);
    await waitForDocuments([dev.id], 30_000);
    await stopProcess(settled.child);
    const worker = await startWorkerProcess(databaseUrl, { FAULT_DOCUMENT_WRITE_DELAY_MS: "8000", SHUTDOWN_TIMEOUT_MS: "1000" });
    await user.caller.features.create({ projectId: project.id, name: "returned", initialValue: "later" });
    const key = `environment_document:${dev.id}`;
    await until(() => lockedJob(key), 30_000, "the write to be running");

    // When it receives SIGTERM
    const exited = exitOf(worker.child);
    worker.child.kill("SIGTERM");

    // Then it exits 0 well before the write would have finished, the job is back in the queue, unlocked,
    const { code, ms } = await exited;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(7_000);
    expect(await lockedJob(key)).toBe(false);
    expect(worker.logs.some((line) => line.includes('"event":"worker.jobs_returned"'))).toBe(true);
    // and the next worker writes it
    const next = await startWorkerProcess(databaseUrl);
    try {
      await waitForDocuments([dev.id], 30_000);
      const stored = await storedDocument(dev.id);
      expect(stored?.document.feature_states.some((state) => state.feature.name === "returned")).toBe(true);
    } finally {
      await stopProcess(next.child);
    }
  });
});
