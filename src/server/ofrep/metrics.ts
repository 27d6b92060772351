/** Metrics of the OFREP endpoints. Listed in docs/metrics.md. */
import { counter } from "@/server/observability/metrics";

export const ofrepRequests = counter(
  "flagsmith_ofrep_requests_total",
  "OFREP evaluation requests by endpoint (single: POST /ofrep/v1/evaluate/flags/{key}; bulk: POST /ofrep/v1/evaluate/flags) and HTTP status (200, 304, 400, 401, 403, 404, 413, 415, 429, 503).",
  ["endpoint", "status"],
);

export const ofrepRevisionWaits = counter(
  "flagsmith_ofrep_revision_waits_total",
  "Bulk evaluations re-fetched after a stream notification (flagConfigEtag) naming a newer document revision than this web process served: the revision was checked in the store before answering. By result: caught_up (the newer revision was served) or behind (still older: answered with what this process has).",
  ["result"],
);
