import { counter, gauge, histogram } from "@/server/observability/metrics";

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

export const flagdGrpcSyncRequests = counter(
  "flagsmith_flagd_grpc_sync_requests_total",
  "Calls to the flagd gRPC sync service (flagd.sync.v1.FlagSyncService on FLAGD_SYNC_PORT), by method (SyncFlags, FetchAllFlags, GetMetadata) and the gRPC status they were answered or refused with (OK, UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, UNAVAILABLE, RESOURCE_EXHAUSTED, UNIMPLEMENTED when Flagpost's flagd_grpc_sync gate is closed for the organisation, INTERNAL). An accepted SyncFlags stream counts OK when it opens.",
  ["method", "code"],
);

export const flagdGrpcSyncStreams = gauge(
  "flagsmith_flagd_grpc_sync_streams",
  "SyncFlags streams this web process holds open (flagd daemons and in-process flagd providers waiting for documents).",
);

export const flagdGrpcSyncDocumentsPushed = counter(
  "flagsmith_flagd_grpc_sync_documents_pushed_total",
  "flagd documents written to SyncFlags streams, by kind: initial (the document current when a stream opened) or update (a newer document, pushed when this process started serving a new revision whose flagd document differs).",
  ["kind"],
);

export const flagdGrpcSyncStreamsClosed = counter(
  "flagsmith_flagd_grpc_sync_streams_closed_total",
  "SyncFlags streams that ended, by reason: client (the client cancelled or went away), refused (its key no longer opens the environment: revoked, the organisation stopped serving flags, the integration was turned off), shutdown (this process is stopping).",
  ["reason"],
);
