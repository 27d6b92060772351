/**
 * Process configuration, read once from the environment. Every setting Flagpost reads is here
 * (and in the README's configuration table).
 */

function list(value: string | undefined, fallback: string[]): string[] {
  if (value === undefined || value.trim() === "") return fallback;
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function int(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const parsed = Number.parseInt(value, 10);
  if (!Number.isFinite(parsed)) throw new Error(`Expected an integer, got "${value}"`);
  return parsed;
}

function bool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === "") return fallback;
  const normalised = value.trim().toLowerCase();
  if (normalised === "true" || normalised === "1") return true;
  if (normalised === "false" || normalised === "0") return false;
  throw new Error(`Expected true or false, got "${value}"`);
}

export interface Settings {
  databaseUrl: string | undefined;
  /** pg pool size per process. */
  databasePoolSize: number;
  /**
   * `web` / `worker` (set by scripts/web.ts and the worker's entry, else `flagpost`): the PostgreSQL
   * `application_name` of this process's connections, and which timeout defaults apply.
   */
  processName: string;
  /** Longest wait for a database connection (new, or a free one from the pool; web 1.5 s, else 5 s); 0 waits forever. */
  databaseConnectTimeoutMs: number;
  /**
   * Longest a statement may run (server-side `statement_timeout`; the client gives up 250 ms later
   * when the server does not answer at all). Default 1.5 s in the web process (no request waits
   * more than ~2 s on the database), 30 s elsewhere (worker, tools); 0 disables.
   */
  databaseStatementTimeoutMs: number;
  /** Server-side `idle_in_transaction_session_timeout`: a transaction left open this long is ended; 0 disables. */
  databaseIdleInTransactionTimeoutMs: number;
  /**
   * Whether the two server-side timeouts are sent as connection startup parameters (pg's way).
   * False for a transaction pooler such as PgBouncer, which refuses unknown startup parameters: the
   * client-side bound (statement timeout + 250 ms) stays, the server-side limits are then set on
   * the database role or the pooler (docs/deployment.md).
   */
  databaseStartupTimeouts: boolean;
  /** Where a web process keeps a snapshot of the documents and keys it serves (unset: no snapshot). */
  documentCacheDir: string | undefined;
  /** How long a stopping process waits for in-flight requests and the running job. */
  shutdownTimeoutMs: number;
  /** Flagpost's own flags (docs/rollouts.md): the shipped environment document, relative to the working directory. */
  flagsFile: string;
  /** A Flagsmith-compatible API to take Flagpost's own flags from (with `flagsServerKey`); unset: the shipped file. */
  flagsApiUrl: string | undefined;
  flagsServerKey: string | undefined;
  /** How often that API's environment document is polled. */
  flagsRefreshSeconds: number;
  logLevel: string;
  /** Request headers copied into the jobs a request enqueues (matched case-insensitively). */
  propagatedHeaders: string[];
  /** Payload key under which propagated headers travel in a job. */
  propagatedHeadersKey: string;
  otlpEndpoint: string | undefined;
  serviceName: string;
  /** Session lifetime in days. */
  sessionDays: number;
  /** Unsuccessful sign-in attempts allowed per email from one client address in one throttle window. */
  signInMaxAttempts: number;
  /** Unsuccessful sign-in attempts allowed per email from all addresses together in one window (a ceiling against guessing from many addresses). */
  signInEmailMaxAttempts: number;
  /** Length of a sign-in throttle window, in seconds. */
  signInWindowSeconds: number;
  /** Unsuccessful sign-in attempts allowed per client address (IPv4, or IPv6 /64) in one window; 0 turns it off. */
  signInAddressMaxAttempts: number;
  /** Sign-ups allowed per client address (IPv4, or IPv6 /64) in one sign-up window; 0 turns it off. */
  signUpAddressMaxAttempts: number;
  /** Length of a sign-up throttle window, in seconds. */
  signUpWindowSeconds: number;
  /** Largest tRPC request body in bytes (an import document may be larger: MAX_IMPORT_DOCUMENT_BYTES, signed-in callers only). */
  trpcMaxBodyBytes: number;
  /** Port of the web process's /metrics listener; 0 serves /metrics on the public port instead. */
  metricsPort: number;
  metricsHost: string;
  /** When set, every /metrics (web and worker) requires `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** How many proxies of ours stand in front of the web process (0: the socket's peer is the client). */
  trustProxyHops: number;
  /** Always mark the session cookie `Secure` (it is anyway behind `X-Forwarded-Proto: https`). */
  secureCookies: boolean;
  /** Seconds an SDK key → environment resolution stays cached in a web process. */
  environmentKeyCacheSeconds: number;
  /** Identities (with traits and their last answer) a web process caches for /api/v1/identities/; 0 disables. */
  identityCacheEntries: number;
  /** Milliseconds a web process trusts its cached document revision before re-checking the store. */
  documentRevisionCheckMs: number;
  /** Creation guard: how many times a document write defers while `is_creating` is set. */
  documentGuardMaxAttempts: number;
  /** Creation guard: first backoff delay (doubles each attempt). */
  documentGuardBaseDelayMs: number;
  /** Environments (or features) seeded per transaction while creating a feature or environment. */
  seedBatchSize: number;
  /** Port of the worker's own /metrics endpoint (0 disables it). */
  workerMetricsPort: number;
  /** Whether WORKER_METRICS_PORT was set (else a taken default port is replaced by a free one). */
  workerMetricsPortExplicit: boolean;
  /** Whether METRICS_PORT was set (else a taken default port is replaced by a free one). */
  metricsPortExplicit: boolean;
  workerMetricsHost: string;
  /** How often a worker unlocks jobs left locked by crashed workers. */
  workerRecoverySweepMs: number;
  /** Maximum identity overrides emitted per flag in a flagd document. */
  flagdIdentityOverrideLimit: number;
  /** Port of the web process's flagd gRPC sync server (`flagd.sync.v1.FlagSyncService`); 0 turns it off. */
  flagdSyncPort: number;
  /** Address the gRPC sync server binds: loopback unless set (not HOST: plaintext sync carries a server key). */
  flagdSyncHost: string;
  /** Whether FLAGD_SYNC_PORT was set (else a taken default port is replaced by a free one). */
  flagdSyncPortExplicit: boolean;
  /** PEM certificate chain and private key files: with both set, gRPC sync is served over TLS. */
  flagdSyncTlsCertFile: string | undefined;
  flagdSyncTlsKeyFile: string | undefined;
  /** Most SyncFlags streams one web process keeps open; more are refused with RESOURCE_EXHAUSTED. */
  flagdSyncMaxStreams: number;
  /** The gRPC sync server pings each connection this often (HTTP/2 keepalive) and drops it when unanswered; 0 disables. */
  flagdSyncKeepaliveMs: number;
  /** Largest SDK request body accepted, in bytes (also OFREP's). */
  sdkMaxBodyBytes: number;
  /** OFREP evaluations allowed per second per client address (IPv4, or IPv6 /64) in one web process; 0 turns the limit off. */
  ofrepRateLimitPerSecond: number;
  /** Event streams (server-sent events) one web process keeps open at most; past it new streams get 503. */
  streamMaxConnections: number;
  /** Seconds between heartbeat comments on every open event stream. */
  streamHeartbeatSeconds: number;
  /**
   * Fault injection for tests only: a pause between building and storing each document, so a test
   * can kill a worker mid-write. Leave unset in production.
   */
  faultDocumentWriteDelayMs: number;
}

function read(): Settings {
  const env = process.env;
  const processName = env.FLAGPOST_PROCESS || "flagpost";
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    databasePoolSize: int(env.DATABASE_POOL_SIZE, 10),
    processName,
    databaseConnectTimeoutMs: int(env.DATABASE_CONNECT_TIMEOUT_MS, processName === "web" ? 1500 : 5000),
    databaseStatementTimeoutMs: int(env.DATABASE_STATEMENT_TIMEOUT_MS, processName === "web" ? 1500 : 30_000),
    databaseIdleInTransactionTimeoutMs: int(env.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS, 10_000),
    databaseStartupTimeouts: bool(env.DATABASE_STARTUP_TIMEOUTS, true),
    documentCacheDir: env.FLAGPOST_DOCUMENT_CACHE_DIR || undefined,
    shutdownTimeoutMs: int(env.SHUTDOWN_TIMEOUT_MS, 10_000),
    flagsFile: env.FLAGPOST_FLAGS_FILE || "config/flagpost-flags.json",
    flagsApiUrl: env.FLAGPOST_FLAGS_API_URL || undefined,
    flagsServerKey: env.FLAGPOST_FLAGS_SERVER_KEY || undefined,
    flagsRefreshSeconds: int(env.FLAGPOST_FLAGS_REFRESH_SECONDS, 30),
    logLevel: env.LOG_LEVEL || "info",
    propagatedHeaders: list(env.PROPAGATED_HEADERS, ["traceparent"]).map((h) => h.toLowerCase()),
    propagatedHeadersKey: env.PROPAGATED_HEADERS_KEY || "_http_headers",
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
    serviceName: env.OTEL_SERVICE_NAME || "flagpost",
    sessionDays: int(env.SESSION_DAYS, 14),
    signInMaxAttempts: int(env.SIGN_IN_MAX_ATTEMPTS, 10),
    signInEmailMaxAttempts: int(env.SIGN_IN_EMAIL_MAX_ATTEMPTS, 100),
    signInWindowSeconds: int(env.SIGN_IN_WINDOW_SECONDS, 900),
    signInAddressMaxAttempts: int(env.SIGN_IN_ADDRESS_MAX_ATTEMPTS, 100),
    signUpAddressMaxAttempts: int(env.SIGN_UP_ADDRESS_MAX_ATTEMPTS, 10),
    signUpWindowSeconds: int(env.SIGN_UP_WINDOW_SECONDS, 3600),
    trpcMaxBodyBytes: int(env.TRPC_MAX_BODY_BYTES, 1024 * 1024),
    metricsPort: int(env.METRICS_PORT, 9464),
    metricsHost: env.METRICS_HOST || "127.0.0.1",
    metricsToken: env.METRICS_TOKEN || undefined,
    trustProxyHops: int(env.TRUST_PROXY_HOPS, 0),
    secureCookies: env.SECURE_COOKIES === "true",
    environmentKeyCacheSeconds: int(env.ENVIRONMENT_KEY_CACHE_SECONDS, 10),
    identityCacheEntries: int(env.IDENTITY_CACHE_ENTRIES, 5000),
    documentRevisionCheckMs: int(env.DOCUMENT_REVISION_CHECK_MS, 1000),
    documentGuardMaxAttempts: int(env.DOCUMENT_GUARD_MAX_ATTEMPTS, 8),
    documentGuardBaseDelayMs: int(env.DOCUMENT_GUARD_BASE_DELAY_MS, 1000),
    seedBatchSize: int(env.SEED_BATCH_SIZE, 100),
    workerMetricsPort: int(env.WORKER_METRICS_PORT, 9465),
    workerMetricsPortExplicit: (env.WORKER_METRICS_PORT ?? "").trim() !== "",
    metricsPortExplicit: (env.METRICS_PORT ?? "").trim() !== "",
    workerMetricsHost: env.WORKER_METRICS_HOST || "127.0.0.1",
    workerRecoverySweepMs: int(env.WORKER_RECOVERY_SWEEP_MS, 30_000),
    flagdIdentityOverrideLimit: int(env.FLAGD_IDENTITY_OVERRIDE_LIMIT, 100),
    flagdSyncPort: int(env.FLAGD_SYNC_PORT, 8015),
    flagdSyncHost: env.FLAGD_SYNC_HOST || "127.0.0.1",
    flagdSyncPortExplicit: (env.FLAGD_SYNC_PORT ?? "").trim() !== "",
    flagdSyncTlsCertFile: env.FLAGD_SYNC_TLS_CERT_FILE || undefined,
    flagdSyncTlsKeyFile: env.FLAGD_SYNC_TLS_KEY_FILE || undefined,
    flagdSyncMaxStreams: int(env.FLAGD_SYNC_MAX_STREAMS, 5000),
    flagdSyncKeepaliveMs: int(env.FLAGD_SYNC_KEEPALIVE_MS, 30_000),
    sdkMaxBodyBytes: int(env.SDK_MAX_BODY_BYTES, 256 * 1024),
    ofrepRateLimitPerSecond: int(env.OFREP_RATE_LIMIT_PER_SECOND, 0),
    streamMaxConnections: int(env.STREAM_MAX_CONNECTIONS, 10_000),
    streamHeartbeatSeconds: int(env.STREAM_HEARTBEAT_SECONDS, 15),
    faultDocumentWriteDelayMs: int(env.FAULT_DOCUMENT_WRITE_DELAY_MS, 0),
  };
}

let cached: Settings | undefined;

/** The settings of this process (read lazily so tests can set the environment first). */
export function settings(): Settings {
  cached ??= read();
  return cached;
}

/** Tests only: re-read the environment. */
export function resetSettingsForTests(): void {
  cached = undefined;
}
