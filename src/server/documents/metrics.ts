import { counter, histogram } from "@/server/observability/metrics";

export const documentWrites = counter(
  "flagsmith_environment_document_writes_total",
  "Environment document writes by the worker, by result: success (stored), stale (a newer revision was already stored; discarded), failure (error; the job is retried).",
  ["result"],
);

export const documentDeferrals = counter(
  "flagsmith_environment_document_deferrals_total",
  "Document writes held back by the creation guard (an environment or feature still being created), by outcome: deferred (re-enqueued with backoff) or gave_up (bound reached).",
  ["outcome"],
);

export const documentBytes = histogram(
  "flagsmith_environment_document_size_bytes",
  "Size of written environment documents (Flagsmith JSON) in bytes.",
  [],
  [1_000, 5_000, 20_000, 100_000, 500_000, 2_000_000, 10_000_000],
);

export const documentWriteLag = histogram(
  "flagsmith_environment_document_write_lag_seconds",
  "Time from the commit of a change to the write of the document that contains it.",
  [],
  [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
);
