/**
 * Restores a request's context around a job: the bound ids (`_log_context`), the propagated
 * headers (PROPAGATED_HEADERS_KEY) — readable by the task through `jobHeaders()` — and the trace
 * (`traceparent` → the job's span continues the request's trace).
 */
import type { Task } from "graphile-worker";
import { settings } from "@/server/config";
import { LOG_CONTEXT_KEY } from "@/server/jobs/enqueue";
import { CONTEXT_KEYS, runWithContext, propagatedHeaders, type ContextBindings } from "@/server/observability/context";
import { getLogger } from "@/server/observability/logger";
import { incomingContext, SpanKind, withSpan } from "@/server/observability/tracing";
import { jobDuration, jobsTotal } from "./metrics";
import type { AnyTask } from "./task";

const log = getLogger("worker");

type JobPayload = Record<string, unknown>;

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

/**
 * Wraps a task with context restore, payload validation, a span, metrics and start/failure events.
 * A payload its schema refuses is logged (`job.payload_invalid`) and the job completes: running it
 * again would fail the same way.
 */
export function contextualTask(task: AnyTask): Task {
  const name = task.id;
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
            const parsed = task.payload.safeParse(rawPayload);
            if (!parsed.success) {
              jobsTotal.inc({ task: name, result: "invalid" });
              log.error("job.payload_invalid", {
                job__task: name,
                job__id: String(helpers.job.id),
                // Paths and messages only: payload values are never logged.
                problems: parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join(".") || "(payload)"}: ${issue.code}`).join("; "),
              });
              return;
            }
            const stop = jobDuration.startTimer({ task: name });
            try {
              await task.handler(parsed.data as never, helpers);
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
