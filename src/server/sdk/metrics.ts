/**
 * Metrics of the SDK API (`/api/v1/...`) and of the document-serving path it shares with flagd
 * (documents/serving.ts). Request latency by route and status is the common
 * `flagsmith_http_request_duration_seconds`. Listed in docs/metrics.md.
 */
import { counter, gauge } from "../observability/metrics";

export const keyCacheLookups = counter(
  "flagsmith_sdk_environment_key_lookups_total",
  "SDK environment-key resolutions by result: hit (answered from the per-process cache, including cached unknown keys) or miss (queried the database).",
  ["result"],
);

export const documentCacheLookups = counter(
  "flagsmith_sdk_document_cache_lookups_total",
  "Stored-document lookups by the SDK and flagd endpoints, by result: hit (served from the per-process cache without a query), revalidated (a revision check confirmed the cached revision), loaded (the document was read from the store), missing (no document stored yet).",
  ["result"],
);

export const documentListenerConnected = gauge(
  "flagsmith_sdk_document_listener_connected",
  "1 while this web process LISTENs for environment-document notifications (cached documents are then trusted until notified), 0 while it falls back to timed revision checks.",
);

export const documentNotifications = counter(
  "flagsmith_sdk_document_notifications_total",
  "Environment-document notifications received by this web process (one per stored document write, in any environment).",
);

export const authFailures = counter(
  "flagsmith_sdk_auth_failures_total",
  "SDK requests refused before serving, by reason: missing_key, unknown_key (unknown, revoked or expired), server_key_required (client key on /environment-document/), stop_serving_flags (the organisation is disabled from serving flags).",
  ["reason"],
);

export const documentsUnavailable = counter(
  "flagsmith_sdk_document_unavailable_total",
  "SDK requests answered 503 because the environment has no stored document yet (it is being created or its first write is pending).",
);

export const identityRequests = counter(
  "flagsmith_sdk_identity_requests_total",
  "Identity evaluations (/identities/ and the deprecated /flags/<identifier>), by mode: persisted (get-or-create), identified_transient (`transient: true`, nothing written) or transient (no identifier, nothing stored).",
  ["mode"],
);

export const traitWrites = counter(
  "flagsmith_sdk_trait_writes_total",
  "Traits written by the SDK API, by operation: upserted (new or changed values) or deleted (null values). Unchanged values are not rewritten.",
  ["operation"],
);

export const identityCacheLookups = counter(
  "flagsmith_sdk_identity_cache_lookups_total",
  "Stored-identity lookups by /identities/, by result: hit (identity and traits from the per-process cache), miss (read from the database); answered counts the hits that were answered with the cached answer (same identity state, request and document revision: no evaluation).",
  ["result"],
);

export const identityNotifications = counter(
  "flagsmith_sdk_identity_notifications_total",
  "Identity-change notifications received by this web process (one per database statement changing stored identities or traits).",
);

export const analyticsEvaluations = counter(
  "flagsmith_sdk_analytics_evaluations_total",
  "Flag evaluation counts reported by SDKs to /analytics/flags/, summed, by result: stored, or dropped (feature name not in the environment's current document).",
  ["result"],
);
