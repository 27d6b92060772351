import { counter, histogram } from "@/server/observability/metrics";

export const flagdSyncRequests = counter(
  "flagsmith_flagd_sync_requests_total",
  "Requests to the flagd sync endpoint (/api/v1/flagd/flags.json), by HTTP status (200, 304, 401, 403, 404, 503).",
  ["status"],
);

export const flagdBuildSeconds = histogram(
  "flagsmith_flagd_document_build_seconds",
  "Time to translate an environment document into a flagd document (worker, per document write).",
  [],
  [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
);

export const flagdDocumentBytes = histogram(
  "flagsmith_flagd_document_size_bytes",
  "Size of flagd documents as served, in bytes.",
  [],
  [1_000, 5_000, 20_000, 100_000, 500_000, 2_000_000, 10_000_000],
);

export const flagdWarnings = counter(
  "flagsmith_flagd_translation_warnings_total",
  "Translation warnings in built flagd documents, by reason (regex_unsupported, identity_override_limit_exceeded, …).",
  ["reason"],
);
