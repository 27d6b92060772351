/** The typed job registry: payloads are validated against each task's schema before it runs. */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { registry } from "../../../src/server/observability/metrics";
import { crontab, taskList } from "../../../src/worker/runner";
import { TASKS } from "../../../src/worker/tasks";
import { captureLogs } from "../support/fixtures";
import { startTestWorker, stopTestWorker } from "../support/worker";
import { eventually } from "../sdk/support";

async function jobState(id: string) {
  const result = await getDb().execute<{ attempts: number; last_error: string | null }>(sql`select attempts, last_error from graphile_worker.jobs where id = ${id}`);
  return result.rows[0] ?? null;
}

async function addRawJob(task: string, payload: unknown): Promise<string> {
  // Raw, as a malformed or foreign producer would: enqueueJob() type-checks its payloads.
  const result = await getDb().execute<{ id: string }>(sql`select id from graphile_worker.add_job(${task}::text, ${JSON.stringify(payload)}::json, max_attempts => 5)`);
  return String(result.rows[0].id);
}

describe("job registry", () => {
  beforeAll(async () => {
    await startTestWorker();
  });
  afterAll(async () => {
    await stopTestWorker();
  });

  it("taskList__everyTaskFile__registeredUnderItsIdWithItsSchedule", () => {
    // Given the task definitions
    // When the runner builds its task list and crontab
    const list = taskList();

    // Then every task is there under its id, and the scheduled one is in the crontab
    expect(Object.keys(list).sort()).toEqual(TASKS.map((task) => task.id).sort());
    expect(crontab()).toBe("0 * * * * sessions_cleanup ?fill=1h");
  });

  it("job__malformedPayload__loggedAsInvalidAndNotRetried", async () => {
    // Given a document-write job whose environment id is not a number
    const logs = captureLogs();
    try {
      const id = await addRawJob("environment_document_write", { environmentId: "not-a-number", secretish: "do-not-log" });

      // When the worker takes it
      await eventually(async () => (await jobState(id)) === null, 15_000, "the job to leave the queue");

      // Then it was logged once as invalid (paths only, no values), counted, and completed without a retry
      const invalid = logs.events("job.payload_invalid");
      expect(invalid).toHaveLength(1);
      expect(invalid[0]["job.task"]).toBe("environment_document_write");
      expect(String(invalid[0].problems)).toContain("environmentId");
      expect(JSON.stringify(invalid)).not.toContain("do-not-log");
      expect(JSON.stringify(invalid)).not.toContain("not-a-number");
      expect(logs.events("job.failed")).toHaveLength(0);
      const metrics = await registry().getSingleMetricAsString("flagsmith_worker_jobs_total");
      expect(metrics).toMatch(/flagsmith_worker_jobs_total\{task="environment_document_write",result="invalid"\} 1/);
    } finally {
      logs.stop();
    }
  });
});
