/**
 * Restores a request's context around a job: the bound ids (`_log_context`), the propagated
 * headers (PROPAGATED_HEADERS_KEY) — readable by the task through `jobHeaders()` — and the trace
 * (`traceparent` → the job's span continues the request's trace).
 */
import type { JobHelpers, Task } from "graphile-worker";
import { settings } from "@/server/config";
import { LOG_CONTEXT_KEY } from "@/server/jobs/enqueue";
import { CONTEXT_KEYS, runWithContext, propagatedHeaders, type ContextBindings } from "@/server/observability/context";
import { getLogger } from "@/server/observability/logger";
import { incomingContext, SpanKind, withSpan } from "@/server/observability/tracing";
import { jobDuration, jobsTotal } from "./metrics";

const log = getLogger("worker");

export type JobPayload = Record<string, unknown>;
export type TaskHandler = (payload: JobPayload, helpers: JobHelpers) => Promise<void>;

/** The propagated request headers of the running job (lower-case names). */
export function jobHeaders(): Record<string, string> {
  return propagatedHeaders();
}

function restore(payload: JobPayload): { bindings: ContextBindings; headers: Record<string, string> } {
  const bindings: ContextBindings = {};
  const rawBindings = payload[LOG_CONTEXT_KEY];
  if (rawBindings && typeof rawBindings === "object") {
    for (const key of CONTEXT_KEYS) {
      const value = (rawBindings as Record<string, unknown>)[key];
      if (typeof value === "string" || typeof value === "number") bindings[key] = value;
    }
  }
  const headers: Record<string, string> = {};
  const rawHeaders = payload[settings().propagatedHeadersKey];
  if (rawHeaders && typeof rawHeaders === "object") {
    for (const [key, value] of Object.entries(rawHeaders as Record<string, unknown>)) {
      if (typeof value === "string") headers[key.toLowerCase()] = value;
    }
  }
  return { bindings, headers };
}

/** Wraps a task handler with context restore, a span, metrics and start/failure events. */
export function contextualTask(name: string, handler: TaskHandler): Task {
  return async (rawPayload, helpers) => {
    const payload = (rawPayload && typeof rawPayload === "object" ? rawPayload : {}) as JobPayload;
    const { bindings, headers } = restore(payload);
    await runWithContext(
      () =>
        withSpan(
          `job ${name}`,
          async (span) => {
            span.setAttribute("job.id", String(helpers.job.id));
            span.setAttribute("job.attempt", helpers.job.attempts);
            const stop = jobDuration.startTimer({ task: name });
            try {
              await handler(payload, helpers);
              jobsTotal.inc({ task: name, result: "success" });
              const { traceparent: _traceparent, ...carried } = headers;
              log.debug("job.completed", { job__task: name, job__id: String(helpers.job.id), job__attempt: helpers.job.attempts, propagated_headers: carried });
            } catch (error) {
              jobsTotal.inc({ task: name, result: "failure" });
              log.error("job.failed", { job__task: name, job__id: String(helpers.job.id), job__attempt: helpers.job.attempts, error });
              throw error;
            } finally {
              stop();
            }
          },
          { parent: incomingContext({ get: (name) => headers[name] }), kind: SpanKind.CONSUMER },
        ),
      { bindings, headers },
    );
  };
}
