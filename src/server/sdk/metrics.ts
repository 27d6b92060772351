/**
 * Metrics of the SDK API (`/api/v1/...`): identities, traits, analytics. What the SDK API shares
 * with the other protocols (key and document caches, the gate's refusals) is in serving/metrics.ts.
 * Request latency by route and status is the common `flagsmith_http_request_duration_seconds`.
 * Listed in docs/metrics.md.
 */
import { counter } from "@/server/observability/metrics";

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

export const identityWritesSkipped = counter(
  "flagsmith_sdk_identity_writes_skipped_total",
  "Identify requests (/identities/ with an identifier, not transient) answered while the database was unreachable: evaluated from the request's traits and the identity cache, the identity and its traits not stored.",
);
