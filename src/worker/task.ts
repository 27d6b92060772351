/**
 * What a task file exports (one file per task under tasks/, named after its task id): the id, the
 * zod schema of its payload and the handler. Each task file also merges its payload type into
 * graphile-worker's `GraphileWorker.Tasks`, so that `enqueueJob("<task id>", payload)` anywhere is
 * type-checked against the schema.
 */
import type { JobHelpers } from "graphile-worker";
import type { z } from "zod";

export interface TaskDefinition<Id extends keyof GraphileWorker.Tasks = keyof GraphileWorker.Tasks, Schema extends z.ZodType = z.ZodType> {
  id: Id;
  /** Validates the payload before the handler runs; a payload that fails is logged (`job.payload_invalid`) and not retried. */
  payload: Schema;
  handler(payload: z.infer<Schema>, helpers: JobHelpers): Promise<void>;
  /** graphile-worker crontab schedule (first five fields) and options, when the task also runs on a schedule. */
  schedule?: { cron: string; options?: string };
}

/** Declares a task with its types tied together. */
export function defineTask<Id extends keyof GraphileWorker.Tasks, Schema extends z.ZodType>(task: TaskDefinition<Id, Schema>): TaskDefinition<Id, Schema> {
  return task;
}

/** Any task, its payload type erased (the runner validates each payload with the task's own schema). */
export interface AnyTask {
  id: string;
  payload: z.ZodType;
  handler(payload: never, helpers: JobHelpers): Promise<void>;
  schedule?: { cron: string; options?: string };
}
