import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { startSystem, startWorkerProcess, stopProcess } from "../../support/system";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";
import { storedDocument, waitForDocuments } from "../support/documents";

async function until(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("worker crash", () => {
  it("workerKilledMidWrite__restarted__jobRetriedAndDocumentConverges", { timeout: 90_000 }, async () => {
    // Given a worker that is slow to write (fault injection: 10 s, ample room to kill it mid-write on a loaded
    // machine; the job is killed, so the delay costs no time) and an environment with a pending change
    const databaseUrl = process.env.DATABASE_URL!;
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
    const feature = await user.caller.features.create({ projectId: project.id, name: "crash", initialValue: "before" });
    const slow = await startWorkerProcess(databaseUrl, { FAULT_DOCUMENT_WRITE_DELAY_MS: "10000", WORKER_RECOVERY_SWEEP_MS: "1000" });
    await user.caller.features.updateState({ featureId: feature.id, environmentId: dev.id, value: "after" });
    const jobKey = `environment_document:${dev.id}`;
    await until(
      async () => (await getDb().execute(sql`select 1 from graphile_worker._private_jobs where key = ${jobKey} and locked_at is not null`)).rows.length > 0,
      30_000,
      "the write job to be locked",
    );

    // When the worker is killed with SIGKILL mid-write, and a new worker starts
    await stopProcess(slow.child, "SIGKILL");
    const [{ revision: envRevision }] = (await getDb().execute<{ revision: number }>(sql`select revision from environments where id = ${dev.id}`)).rows;
    expect((await storedDocument(dev.id))?.revision ?? 0).toBeLessThan(envRevision);
    const fresh = await startWorkerProcess(databaseUrl, { WORKER_RECOVERY_SWEEP_MS: "1000" });
    try {
      // Then the locked job is recovered and retried, and the document converges
      await waitForDocuments([dev.id], 45_000);
      const stored = await storedDocument(dev.id);
      expect(stored?.document.feature_states.find((s) => s.feature.id === feature.id)?.feature_state_value).toBe("after");
      expect(fresh.logs.some((line) => line.includes('"event":"jobs.recovered"'))).toBe(true);
    } finally {
      await stopProcess(fresh.child);
    }
  });
});

describe("worker recovery sweep", () => {
  it("liveWorkerWithALongJob__anotherWorkersSweep__doesNotTakeItsJob", { timeout: 90_000 }, async () => {
    // Given a worker whose document write takes 7 s (longer than the sweep's 5 s threshold) and a second worker sweeping every second
    const databaseUrl = process.env.DATABASE_URL!;
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
    const slow = await startWorkerProcess(databaseUrl, { FAULT_DOCUMENT_WRITE_DELAY_MS: "7000", WORKER_RECOVERY_SWEEP_MS: "1000" });
    const jobKey = `environment_document:${dev.id}`;
    try {
      await until(async () => (await getDb().execute(sql`select 1 from graphile_worker._private_jobs where key = ${jobKey} and locked_at is not null`)).rows.length > 0, 30_000, "the slow worker to take the write");
      const sweeper = await startWorkerProcess(databaseUrl, { WORKER_RECOVERY_SWEEP_MS: "1000" });
      try {
        // When the job has been locked for longer than the threshold while the second worker sweeps
        await waitForDocuments([dev.id], 30_000);

        // Then the live worker kept its job: nobody recovered it and it ran once
        await until(async () => slow.logs.some((line) => line.includes('"event":"environment_document.written"')), 5_000, "the write to be logged");
        expect(sweeper.logs.some((line) => line.includes('"event":"jobs.recovered"'))).toBe(false);
        expect(slow.logs.filter((line) => line.includes('"event":"environment_document.written"')).length).toBe(1);
        expect(sweeper.logs.some((line) => line.includes('"event":"environment_document.written"'))).toBe(false);
        expect(project.id).toBeGreaterThan(0);
      } finally {
        await stopProcess(sweeper.child);
      }
    } finally {
      await stopProcess(slow.child);
    }
  });
});

describe("worker lock connection", () => {
  async function lockHolders(): Promise<number[]> {
    const result = await getDb().execute<{ pid: number }>(
      sql`select distinct pid from pg_locks
           where locktype = 'advisory' and classid = 727275 and objsubid = 2 and granted
             and database = (select oid from pg_database where datname = current_database())`,
    );
    return result.rows.map((r) => r.pid);
  }

  it("lockConnectionTerminated__worker__reacquiresItsLocksAndKeepsWriting", { timeout: 90_000 }, async () => {
    // Given a running worker holding its recovery locks, and an environment
    const databaseUrl = process.env.DATABASE_URL!;
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
    const feature = await user.caller.features.create({ projectId: project.id, name: "relock", initialValue: "before" });
    const before = new Set(await lockHolders());
    const worker = await startWorkerProcess(databaseUrl, { WORKER_RECOVERY_SWEEP_MS: "1000" });
    try {
      let holders: number[] = [];
      await until(async () => (holders = (await lockHolders()).filter((pid) => !before.has(pid))).length > 0, 30_000, "the worker's locks");

      // When an administrator terminates that connection
      for (const pid of holders) await getDb().execute(sql`select pg_terminate_backend(${pid})`);

      // Then the worker logs the loss, takes its locks again on a new connection, and still writes documents
      await until(async () => (await lockHolders()).some((pid) => !before.has(pid) && !holders.includes(pid)), 30_000, "the locks to be taken again");
      // (the lock is visible in pg_locks a moment before the worker's log line reaches us)
      const logged = (event: string) => worker.logs.some((line) => line.includes(`"event":"${event}"`));
      await until(async () => logged("jobs.lock_connection_lost") && logged("jobs.locks_acquired"), 10_000, "the loss and the new locks to be logged");
      await user.caller.features.updateState({ featureId: feature.id, environmentId: dev.id, value: "after" });
      await waitForDocuments([dev.id], 30_000);
      expect((await storedDocument(dev.id))?.document.feature_states.find((s) => s.feature.id === feature.id)?.feature_state_value).toBe("after");
      expect(worker.child.exitCode).toBeNull();
    } finally {
      await stopProcess(worker.child);
    }
  });
});

describe("header propagation into jobs", () => {
  it("trpcMutationWithTraceparentAndTenant__documentJob__sameTraceIdsAndTenantHeader", { timeout: 120_000 }, async () => {
    // Given Flagpost (web + worker) propagating traceparent and x-tenant-id, and a signed-in user with an environment
    const system = await startSystem({ databaseUrl: process.env.DATABASE_URL!, env: { PROPAGATED_HEADERS: "traceparent,X-Tenant-Id" } });
    try {
      const user = await signUpUser();
      const { project, environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
      await waitForDocuments([dev.id]);
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;

      // When a tRPC mutation arrives over HTTP with those headers
      const response = await fetch(`${system.url}/api/trpc/environments.update`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie: `flagpost_session=${user.token}`, traceparent, "x-tenant-id": "tenant-42" },
        body: JSON.stringify({ environmentId: dev.id, description: "propagated" }),
      });
      expect(response.status).toBe(200);
      await waitForDocuments([dev.id]);

      // Then the worker's lines for the resulting document job carry the request's trace, the four ids and the tenant header
      const lines = () => system.logs.worker.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
      await until(async () => lines().some((l) => l.event === "job.completed" && l.trace_id === traceId), 10_000, "the job's log lines");
      const written = lines().find((l) => l.event === "environment_document.written" && l.trace_id === traceId);
      expect(written).toMatchObject({
        "user.id": user.userId,
        "organisation.id": user.organisationId,
        "project.id": project.id,
        "environment.id": dev.id,
      });
      const completed = lines().find((l) => l.event === "job.completed" && l.trace_id === traceId);
      expect(completed).toMatchObject({ "job.task": "environment_document_write", propagated_headers: { "x-tenant-id": "tenant-42" } });
      // …while the web side handled the request in the same trace
      const web = system.logs.web.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(web.some((l) => l.event === "environment.updated" && l.trace_id === traceId)).toBe(true);
    } finally {
      await system.stop();
    }
  });

  it("jobEnqueuedOutsideARequest__noHeaders__runsWithoutPropagatedContext", { timeout: 60_000 }, async () => {
    // Given a worker and a change made outside any request (e.g. a script)
    const worker = await startWorkerProcess(process.env.DATABASE_URL!);
    try {
      const user = await signUpUser();
      const { environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);

      // When its document job runs
      await waitForDocuments([dev.id]);

      // Then it wrote the document, with no propagated headers and a fresh trace
      await until(async () => worker.logs.some((l) => l.includes('"event":"job.completed"') && l.includes('"job.task":"environment_document_write"')), 10_000, "job.completed");
      const completed = worker.logs.map((l) => (l.startsWith("{") ? (JSON.parse(l) as Record<string, unknown>) : {})).find((l) => l.event === "job.completed" && l["job.task"] === "environment_document_write");
      expect(completed?.propagated_headers).toEqual({});
      expect(completed?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      await stopProcess(worker.child);
    }
  });
});
