import { counter, histogram } from "@/server/observability/metrics";

export const jobsTotal = counter(
  "flagsmith_worker_jobs_total",
  "Background jobs run by the worker, by task and result (success, failure, or invalid: a payload its schema refused, not run and not retried).",
  ["task", "result"],
);

export const jobDuration = histogram(
  "flagsmith_worker_job_duration_seconds",
  "Time a background job took to run, by task.",
  ["task"],
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
);

export const workerRestarts = counter(
  "flagsmith_worker_restarts_total",
  "Times the worker's job runner failed (e.g. a job could not be completed or failed back while the database was away) and was started again in the same process.",
);
