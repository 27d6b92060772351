/**
 * Metrics of the read side every protocol shares (key cache, document cache, change listener, the
 * environment-key gate). Names keep their `flagsmith_sdk_` prefix (dashboards). Listed in
 * docs/metrics.md.
 */
import { counter, gauge } from "@/server/observability/metrics";

export const keyCacheLookups = counter(
  "flagsmith_sdk_environment_key_lookups_total",
  "Environment-key resolutions by result: hit (answered from the per-process cache, including cached unknown keys and answers due for a background check), miss (not cached: queried the database), recheck (cached but learnt before the change listener's last reconnect: checked against the database before being trusted again), snapshot (not cached while the database was unreachable: answered from the on-disk snapshot).",
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
  "Requests refused by the environment-key gate before serving (SDK API and flagd sync), by reason: missing_key, unknown_key (unknown, revoked or expired), server_key_required (client key where a server key is required), stop_serving_flags (the organisation is disabled from serving flags).",
  ["reason"],
);

export const documentsUnavailable = counter(
  "flagsmith_sdk_document_unavailable_total",
  "Requests (SDK API and flagd sync) answered 503 because the environment has no stored document yet (it is being created or its first write is pending).",
);

export const keyNotifications = counter(
  "flagsmith_sdk_environment_key_notifications_total",
  "Environment-key change notifications received by this web process (a server key created, revoked, changed or deleted, or an environment deleted): the keys of those environments are dropped from the cache.",
);

export const databaseUnavailableRefusals = counter(
  "flagsmith_sdk_database_unavailable_total",
  "Requests answered 503 because they needed the database (an environment key or document this process had never read) while it was unreachable, and no snapshot held it. Cached environments keep being served.",
);
