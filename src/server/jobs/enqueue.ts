/**
 * Enqueueing background jobs from domain services, inside the caller's transaction
 * (`graphile_worker.add_job`): the job exists iff the change committed.
 *
 * Every job carries the request's context with it: the propagated headers (PROPAGATED_HEADERS,
 * under PROPAGATED_HEADERS_KEY, default `_http_headers`; `traceparent` of the active span is always
 * included) and the bound ids (`_log_context`). The worker restores both before running the task
 * (src/worker/job-context.ts). Outside a request nothing is attached and jobs work the same.
 */
import { sql } from "drizzle-orm";
import { settings } from "@/server/config";
import type { Executor } from "@/server/db/client";
import { contextBindings, propagatedHeaders } from "@/server/observability/context";
import { currentTraceparent } from "@/server/observability/tracing";

export const LOG_CONTEXT_KEY = "_log_context";

export interface EnqueueOptions {
  /** Jobs with the same key coalesce: a pending job is replaced (payload and run time). */
  jobKey?: string;
  jobKeyMode?: "replace" | "preserve_run_at" | "unsafe_dedupe";
  runAt?: Date;
  maxAttempts?: number;
  priority?: number;
  queueName?: string;
}

/** The payload plus the propagated context of the current request. */
export function withPropagatedContext(payload: object): Record<string, unknown> {
  const headers: Record<string, string> = { ...propagatedHeaders() };
  const traceparent = currentTraceparent();
  if (traceparent && settings().propagatedHeaders.includes("traceparent")) headers.traceparent = traceparent;
  const out: Record<string, unknown> = { ...payload };
  if (Object.keys(headers).length > 0) out[settings().propagatedHeadersKey] = headers;
  const bindings = contextBindings();
  if (Object.keys(bindings).length > 0) out[LOG_CONTEXT_KEY] = { ...bindings };
  return out;
}

/**
 * Enqueues task `identifier` (a task id of src/worker/tasks/, type-checked with its payload through
 * graphile-worker's `GraphileWorker.Tasks`, which every task file extends).
 */
export async function enqueueJob<Id extends keyof GraphileWorker.Tasks>(
  executor: Executor,
  identifier: Id,
  payload: GraphileWorker.Tasks[Id],
  options: EnqueueOptions = {},
): Promise<void> {
  const body = JSON.stringify(withPropagatedContext(payload));
  await executor.execute(sql`
    select graphile_worker.add_job(
      identifier => ${identifier}::text,
      payload => ${body}::json,
      queue_name => ${options.queueName ?? null}::text,
      run_at => ${options.runAt ? options.runAt.toISOString() : null}::timestamptz,
      max_attempts => ${options.maxAttempts ?? null}::int,
      job_key => ${options.jobKey ?? null}::text,
      priority => ${options.priority ?? null}::int,
      job_key_mode => ${options.jobKeyMode ?? "replace"}::text
    )`);
}

/** Removes a pending job by key (a running one is prevented from retrying). */
export async function removeJob(executor: Executor, jobKey: string): Promise<void> {
  await executor.execute(sql`select graphile_worker.remove_job(${jobKey}::text)`);
}
