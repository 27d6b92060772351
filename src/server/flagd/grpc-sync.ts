/**
 * flagd's gRPC sync source: `flagd.sync.v1.FlagSyncService` (proto/flagd/sync/v1/sync.proto, vendored
 * from open-feature/flagd-schemas), what the flagd daemon's `grpc` source and the in-process flagd
 * providers (`@openfeature/flagd-provider` with `resolverType: "in-process"`, Java, Go, …) read.
 * The transport (port, TLS, keepalive, shutdown) is api/flagd-sync-server.ts; this is the protocol.
 *
 * - Which environment, and may the caller read it: the providers send no credentials, only a
 *   `selector` (the deprecated request field and, from providers of 2025 on, the `flagd-selector`
 *   header). The selector is the environment's **server-side key** (`ser.…`); a client that can
 *   set call metadata may send `authorization: Bearer <key>` instead (it wins over the selector).
 *   It goes through the one environment-key gate (serving/gate.ts) exactly like
 *   `GET /api/v1/flagd/flags.json`: missing/unknown/revoked key or the organisation stopped
 *   serving flags → UNAUTHENTICATED (HTTP 401), a client-side key → PERMISSION_DENIED (403), the
 *   project's flagd integration off → NOT_FOUND (404, after the key check), no document yet or
 *   the database needed and away → UNAVAILABLE (503: providers retry). Between the key check and
 *   the integration's: Flagpost's own rollout gate `flagd_grpc_sync` for the key's organisation
 *   (docs/rollouts.md); closed → UNIMPLEMENTED, what a server without this service answers.
 * - `SyncFlags`: the environment's current flagd document at once, then each newer one. Driven by
 *   serving/changes.ts (`onDocumentChange`): when this process starts serving a new revision, every
 *   stream of that environment is re-authorised through the gate (synchronous when cached) and sent
 *   the document if its bytes changed. A stream whose key no longer opens the environment (revoked
 *   — key notifications re-check the streams of those environments at once, and every stream is
 *   re-checked when the change listener reconnects (notifications sent meanwhile are lost) —, the rollout gate
 *   closed — a change of Flagpost's own flags re-checks every stream at once —, expired — every
 *   stream is re-checked each minute as well —, organisation stopped serving,
 *   integration off) is ended
 *   with the refusal's status. While the database is
 *   away, streams stay open with the document they have (no new revision can appear meanwhile).
 *   One document in flight per stream: a slow reader gets the latest document once it has read
 *   the previous one, never a backlog. An open stream pins its environment in the document cache
 *   (never evicted, so its notifications keep coming).
 * - `FetchAllFlags`: the current document (flagd's ReSync).
 * - `GetMetadata` (deprecated): flagd answers it with its static evaluation context, which
 *   providers merge into every evaluation context (as they do `sync_context`); Flagpost has none,
 *   so it answers an empty struct — the flag set metadata (flagSetId, version, environment id) is
 *   in the document's `metadata`, where providers expose it as flag metadata. Putting it into the
 *   context would override application attributes of the same names (a `version` trait).
 *   Its request has no selector: a call with a key in its metadata is checked like the others, one
 *   without is answered the empty struct (it tells nothing about any environment).
 *   `sync_context` is left out of SyncFlags responses for the same reason.
 *
 * Served bytes: the flagd document of the revision (`flagdOf`), the very bytes the HTTP endpoint
 * serves, protobuf-encoded once per revision and written as is to every stream (pass-through
 * serialisers below). The key is held in memory per stream, never logged: log lines carry ids.
 */
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { runWithContext } from "@/server/observability/context";
import { getLogger } from "@/server/observability/logger";
import { boundCounter } from "@/server/observability/metrics";
import { isGateOpen, onGatesChanged } from "@/server/rollouts/gates";
import { onDocumentChange, type DocumentChange } from "@/server/serving/changes";
import { pinDocument, type ServedDocument } from "@/server/serving/document-cache";
import { DATABASE_UNAVAILABLE, DOCUMENT_NOT_AVAILABLE, INVALID_KEY, openEnvironment, STOP_SERVING, type GateOptions, type GateRefusal, type GateResult } from "@/server/serving/gate";
import { KEY_CHANNEL, parseIds } from "@/server/serving/key-cache";
import { subscribe } from "@/server/serving/listener";
import { flagdGrpcSyncDocumentsPushed, flagdGrpcSyncRequests, flagdGrpcSyncStreams, flagdGrpcSyncStreamsClosed } from "./metrics";
import { flagdOf } from "./sync";

const log = getLogger("flagd");
const pushedInitial = boundCounter(flagdGrpcSyncDocumentsPushed, { kind: "initial" });
const pushedUpdate = boundCounter(flagdGrpcSyncDocumentsPushed, { kind: "update" });

/** The metadata header flagd providers send the selector in (the request field is deprecated). */
export const SELECTOR_HEADER = "flagd-selector";
/** Longest provider id kept for log lines (it is free text chosen by the client). */
const PROVIDER_ID_MAX = 64;
/**
 * Every open stream is re-authorised at least this often, without a document change: a key that
 * expires (no notification announces that) ends its streams within this long. Cheap: a cache hit
 * per stream, nothing sent when the document is the one it has.
 */
export const REAUTHORISE_INTERVAL_MS = 60_000;

export interface SyncFlagsRequest {
  providerId: string;
  selector: string;
}
type FetchAllFlagsRequest = SyncFlagsRequest;

const PROTO_ROOT = path.join(__dirname, "proto");
const PROTO_FILE = "flagd/sync/v1/sync.proto";
export const SERVICE_NAME = "flagd.sync.v1.FlagSyncService";

interface LoadedService {
  definition: grpc.ServiceDefinition;
  /** Encodes a SyncFlagsResponse / FetchAllFlagsResponse (same wire shape: field 1, the document). */
  encodeDocument(document: string): Buffer;
  /** The encoded GetMetadataResponse (an empty struct). */
  metadataResponse: Buffer;
}

let loaded: LoadedService | undefined;

/**
 * The service definition from the vendored proto, with pass-through response serialisers: the
 * handlers write bytes encoded once per revision, shared by every stream.
 */
export function flagSyncServiceDefinition(): LoadedService {
  if (loaded) return loaded;
  const packageDefinition = protoLoader.loadSync(PROTO_FILE, { includeDirs: [PROTO_ROOT], keepCase: false, defaults: true, longs: String, enums: String, oneofs: true });
  const service = packageDefinition[SERVICE_NAME] as unknown as grpc.ServiceDefinition;
  const passThrough = (value: Buffer) => value;
  const definition: grpc.ServiceDefinition = {
    SyncFlags: { ...service.SyncFlags, responseSerialize: passThrough },
    FetchAllFlags: { ...service.FetchAllFlags, responseSerialize: passThrough },
    GetMetadata: { ...service.GetMetadata, responseSerialize: passThrough },
  };
  loaded = {
    definition,
    encodeDocument: (document) => service.SyncFlags.responseSerialize({ flagConfiguration: document }),
    metadataResponse: service.GetMetadata.responseSerialize({ metadata: { fields: {} } }),
  };
  return loaded;
}

function firstText(values: grpc.MetadataValue[]): string | null {
  const value = values[0];
  return typeof value === "string" ? value : null;
}

/**
 * The environment key a call carries: `authorization: Bearer <key>` metadata if present (nothing
 * else is read then), else the `flagd-selector` header, else the request's `selector` field; null
 * when there is none (or the authorization is not a bearer token).
 */
export function credentialOf(metadata: grpc.Metadata, request: { selector?: string } | undefined): string | null {
  const authorization = firstText(metadata.get("authorization"));
  if (authorization !== null) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    return match ? match[1] : null;
  }
  const selector = (firstText(metadata.get(SELECTOR_HEADER)) ?? request?.selector ?? "").trim();
  return selector === "" ? null : selector;
}

export type SyncRefusal = GateRefusal | "integration_off" | "gate_closed";

export interface RefusalStatus {
  code: grpc.status;
  details: string;
}

/** What each refusal answers: the gRPC twin of the HTTP endpoint's 401/403/404/503. */
export const REFUSALS: Readonly<Record<SyncRefusal, RefusalStatus>> = Object.freeze({
  missing_key: { code: grpc.status.UNAUTHENTICATED, details: "flagd gRPC sync needs a server-side environment key (ser.…) as the selector" },
  unknown_key: { code: grpc.status.UNAUTHENTICATED, details: INVALID_KEY },
  stop_serving_flags: { code: grpc.status.UNAUTHENTICATED, details: STOP_SERVING },
  server_key_required: { code: grpc.status.PERMISSION_DENIED, details: "flagd sync needs a server-side environment key (ser.…)" },
  integration_off: { code: grpc.status.NOT_FOUND, details: "The flagd integration is not enabled for this project" },
  // As if the service did not exist: what grpc-js answers for a method it does not serve (see statusOf).
  gate_closed: { code: grpc.status.UNIMPLEMENTED, details: "The server does not implement the method" },
  document_unavailable: { code: grpc.status.UNAVAILABLE, details: DOCUMENT_NOT_AVAILABLE },
  database_unavailable: { code: grpc.status.UNAVAILABLE, details: DATABASE_UNAVAILABLE },
});

type Method = "SyncFlags" | "FetchAllFlags" | "GetMetadata";

/** The status a refusal answers on `method` (a closed gate names the method, exactly as grpc-js does for a service it lacks). */
export function statusOf(reason: SyncRefusal, method: Method): RefusalStatus {
  if (reason !== "gate_closed") return REFUSALS[reason];
  return { code: grpc.status.UNIMPLEMENTED, details: `The server does not implement the method /${SERVICE_NAME}/${method}` };
}

const STOPPING: RefusalStatus = { code: grpc.status.UNAVAILABLE, details: "Flagpost is stopping: reconnect" };
const STREAM_LIMIT: RefusalStatus = { code: grpc.status.RESOURCE_EXHAUSTED, details: "Too many flagd sync streams on this Flagpost process (FLAGD_SYNC_MAX_STREAMS)" };
const INTERNAL: RefusalStatus = { code: grpc.status.INTERNAL, details: "Internal server error" };

/** Refusals after which an open stream keeps what it has (last-good): nothing says the key is bad. */
const TRANSIENT: ReadonlySet<SyncRefusal> = new Set(["document_unavailable", "database_unavailable"]);

type Access = { ok: true; served: ServedDocument; environmentId: number } | { ok: false; reason: SyncRefusal };

const SERVER_KEY_ONLY: GateOptions = Object.freeze({ serverKeyOnly: true });

const GATE_CLOSED: Access = Object.freeze({ ok: false, reason: "gate_closed" });
const INTEGRATION_OFF: Access = Object.freeze({ ok: false, reason: "integration_off" });

function afterRollout(result: GateResult & { ok: true }, open: boolean): Access {
  if (!open) return GATE_CLOSED;
  // After the key check, so that "off" is not a probe for keys (as over HTTP).
  if (!result.served.sdkExtras.flagdEnabled) return INTEGRATION_OFF;
  return { ok: true, served: result.served, environmentId: result.key.environmentId };
}

function afterGate(result: GateResult): Access | Promise<Access> {
  if (!result.ok) return { ok: false, reason: result.reason };
  // Flagpost's own rollout gate (docs/rollouts.md), for the key's organisation: known only once the
  // key is, so a closed gate is no probe for keys either. Synchronous when memoised.
  const open = isGateOpen("flagd_grpc_sync", result.key.organisationId);
  return open instanceof Promise ? open.then((value) => afterRollout(result, value)) : afterRollout(result, open);
}

/**
 * The key gate with flagd's rules, then the `flagd_grpc_sync` rollout gate, then the project's
 * integration switch; synchronous when the key, the document and the gate's answer are cached.
 */
function access(key: string | null): Access | Promise<Access> {
  const result = openEnvironment(key, SERVER_KEY_ONLY);
  return result instanceof Promise ? result.then(afterGate) : afterGate(result);
}

interface Encoded {
  etag: string;
  /** The encoded response: the revision's flagd document (field 1). */
  bytes: Buffer;
}

/** The revision's flagd document, protobuf-encoded once per revision. */
function encodedOf(served: ServedDocument): Encoded {
  return served.derived("flagd:grpc", (entry) => {
    const flagd = flagdOf(entry);
    return { etag: flagd.etag, bytes: flagSyncServiceDefinition().encodeDocument(flagd.document) };
  });
}

function count(method: Method, code: grpc.status): void {
  flagdGrpcSyncRequests.inc({ method, code: grpc.status[code] });
}

type CloseReason = "client" | "refused" | "shutdown";

interface SyncStream {
  call: grpc.ServerWritableStream<SyncFlagsRequest, Buffer>;
  /** The credential it was opened with (memory only: re-checked before every push). */
  key: string;
  environmentId: number;
  providerId: string;
  openedAt: number;
  /** ETag of the last document written. */
  sentEtag: string | null;
  /** A write is in flight; `behind` is set when a newer document arrived meanwhile. */
  writing: boolean;
  behind: boolean;
  /** A gate check is pending (cold key); `recheck` when another was asked for meanwhile. */
  checking: boolean;
  recheck: boolean;
  closed: boolean;
  /** Releases the environment's pin in the document cache (kept while the stream is open: never evicted, its notifications followed). */
  unpin: () => void;
}

interface ServiceState {
  maxStreams: number;
  /** environment id → its open streams. */
  streams: Map<number, Set<SyncStream>>;
  open: number;
  /** SyncFlags calls between arrival and the gate's answer (counted against the limit). */
  opening: number;
  closing: boolean;
  /** The stream limit was hit and not yet logged as relieved (one warning per episode). */
  saturated: boolean;
  /** Re-authorises every open stream periodically (cleared by closeAll). */
  reauthorising: NodeJS.Timeout | undefined;
}

// Every live service of this process (one in production; tests start several) is driven by one
// document-change handler and one key-notification subscriber.
const services = new Set<ServiceState>();
let registered = false;

function registerOnce(): void {
  if (registered) return;
  registered = true;
  // A fresh request context: the notification may run in the async context of whatever request
  // started the document check, whose bindings the gate must not touch.
  onDocumentChange("flagd-grpc-sync", (change: DocumentChange) =>
    runWithContext(() => {
      const pass: AccessPass = new Map();
      for (const state of services) for (const stream of state.streams.get(change.environmentId) ?? []) refresh(state, stream, pass);
    }),
  );
  // Flagpost's own flags changed (a `flagd_grpc_sync` gate may have closed): every stream re-checked now.
  onGatesChanged("flagd-grpc-sync", () => runWithContext(() => {
    for (const state of services) reauthoriseAll(state);
  }));
  subscribe(KEY_CHANNEL, "flagd-grpc-sync", {
    // After every subscriber of this notification ran (the key cache forgets the keys first): the
    // streams of those environments are re-authorised, so a revoked key's stream ends at once.
    notify: (payload) => {
      const ids = parseIds(payload);
      setImmediate(() =>
        runWithContext(() => {
          const pass: AccessPass = new Map();
          for (const state of services) {
            for (const [environmentId, streams] of state.streams) if (ids === null || ids.has(environmentId)) for (const stream of streams) refresh(state, stream, pass);
          }
        }),
      );
    },
    // Key notifications sent while the listener was reconnecting are lost: every stream is
    // re-authorised once it is back (the key cache checks each key again before trusting it).
    connected: () => {
      setImmediate(() =>
        runWithContext(() => {
          for (const state of services) reauthoriseAll(state);
        }),
      );
    },
  });
}

/**
 * The answers of one pass over many streams (a document change, a key notification, the periodic
 * re-check), by key: streams sharing a key (replicas of one service) are checked once per pass.
 */
type AccessPass = Map<string, Access | Promise<Access>>;

/** Re-authorises a stream and sends the environment's current document if it is not the one it has. */
function refresh(state: ServiceState, stream: SyncStream, pass?: AccessPass): void {
  if (stream.closed) return;
  if (stream.checking) {
    stream.recheck = true;
    return;
  }
  let result: Access | Promise<Access> | undefined;
  try {
    result = pass?.get(stream.key);
    if (result === undefined) {
      result = access(stream.key);
      pass?.set(stream.key, result);
    }
  } catch (error) {
    log.error("grpc_sync.failed", { rpc__method: "SyncFlags", environment__id: stream.environmentId, error });
    return;
  }
  if (!(result instanceof Promise)) return apply(state, stream, result);
  stream.checking = true;
  result.then(
    (answer) => {
      stream.checking = false;
      apply(state, stream, answer);
      if (stream.recheck) {
        stream.recheck = false;
        refresh(state, stream);
      }
    },
    (error: unknown) => {
      stream.checking = false;
      log.error("grpc_sync.failed", { rpc__method: "SyncFlags", environment__id: stream.environmentId, error });
    },
  );
}

function apply(state: ServiceState, stream: SyncStream, result: Access): void {
  if (stream.closed) return;
  if (!result.ok) {
    if (TRANSIENT.has(result.reason)) return;
    log.info("sync_stream.refused", { environment__id: stream.environmentId, reason: result.reason });
    endStream(state, stream, "refused", statusOf(result.reason, "SyncFlags"));
    return;
  }
  // A key belongs to one environment for good; anything else is refused rather than followed.
  if (result.environmentId !== stream.environmentId) {
    endStream(state, stream, "refused", REFUSALS.unknown_key);
    return;
  }
  send(state, stream, result.served);
}

function send(state: ServiceState, stream: SyncStream, served: ServedDocument): void {
  const encoded = encodedOf(served);
  if (encoded.etag === stream.sentEtag) return;
  if (stream.writing) {
    stream.behind = true;
    return;
  }
  const kind = stream.sentEtag === null ? "initial" : "update";
  stream.writing = true;
  stream.sentEtag = encoded.etag;
  stream.call.write(encoded.bytes, () => {
    stream.writing = false;
    if (stream.behind) {
      stream.behind = false;
      refresh(state, stream);
    }
  });
  (kind === "initial" ? pushedInitial : pushedUpdate).inc();
}

function forget(state: ServiceState, stream: SyncStream, reason: CloseReason): boolean {
  if (stream.closed) return false;
  stream.closed = true;
  stream.unpin();
  const streams = state.streams.get(stream.environmentId);
  streams?.delete(stream);
  if (streams?.size === 0) state.streams.delete(stream.environmentId);
  state.open--;
  flagdGrpcSyncStreams.dec();
  flagdGrpcSyncStreamsClosed.inc({ reason });
  if (state.saturated && state.open < state.maxStreams) {
    state.saturated = false;
    log.info("sync_stream.limit_relieved", { streams__open: state.open, streams__max: state.maxStreams });
  }
  log.debug("sync_stream.closed", { environment__id: stream.environmentId, reason, duration__ms: Date.now() - stream.openedAt });
  return true;
}

/** Ends a stream with a status (its documents already written are delivered first). */
function endStream(state: ServiceState, stream: SyncStream, reason: CloseReason, status: RefusalStatus): void {
  if (forget(state, stream, reason)) stream.call.emit("error", { code: status.code, details: status.details });
}

function refuseCall(call: grpc.ServerWritableStream<SyncFlagsRequest, Buffer>, status: RefusalStatus): void {
  call.emit("error", { code: status.code, details: status.details });
}

function opened(state: ServiceState, call: grpc.ServerWritableStream<SyncFlagsRequest, Buffer>, key: string | null, result: Access): void {
  if (call.cancelled) return;
  if (state.closing) {
    count("SyncFlags", STOPPING.code);
    return refuseCall(call, STOPPING);
  }
  if (!result.ok) {
    const status = statusOf(result.reason, "SyncFlags");
    count("SyncFlags", status.code);
    log.debug("grpc_sync.refused", { rpc__method: "SyncFlags", reason: result.reason });
    return refuseCall(call, status);
  }
  count("SyncFlags", grpc.status.OK);
  const stream: SyncStream = {
    call,
    key: key!,
    environmentId: result.environmentId,
    providerId: (call.request?.providerId ?? "").slice(0, PROVIDER_ID_MAX),
    openedAt: Date.now(),
    sentEtag: null,
    writing: false,
    behind: false,
    checking: false,
    recheck: false,
    closed: false,
    unpin: pinDocument(result.environmentId),
  };
  let streams = state.streams.get(stream.environmentId);
  if (!streams) state.streams.set(stream.environmentId, (streams = new Set()));
  streams.add(stream);
  state.open++;
  flagdGrpcSyncStreams.inc();
  const gone = () => forget(state, stream, "client");
  call.on("cancelled", gone);
  call.on("close", gone);
  log.debug("sync_stream.opened", { environment__id: stream.environmentId, provider__id: stream.providerId || undefined, streams__open: state.open });
  // Through the same path as every push: the gate again (synchronous now) and the newest document,
  // so a revision that became current while the gate was answering is not missed.
  refresh(state, stream);
}

function failed(method: Method, error: unknown): RefusalStatus {
  log.error("grpc_sync.failed", { rpc__method: method, error });
  count(method, INTERNAL.code);
  return INTERNAL;
}

export interface FlagSyncService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
  /** SyncFlags streams open now. */
  openStreams(): number;
  /** Ends every open stream with UNAVAILABLE (clients reconnect, to another process or this one restarted) and refuses new ones. */
  closeAll(): number;
}

/** Re-authorises every open stream of a service (sending nothing when its document is the one it has). */
function reauthoriseAll(state: ServiceState): void {
  const pass: AccessPass = new Map();
  for (const streams of [...state.streams.values()]) for (const stream of [...streams]) refresh(state, stream, pass);
}

export interface FlagSyncServiceOptions {
  maxStreams: number;
  /** How often every open stream is re-authorised without a document change (default REAUTHORISE_INTERVAL_MS). */
  reauthoriseMs?: number;
}

/** The FlagSyncService of one gRPC server: at most `maxStreams` SyncFlags streams at a time. */
export function createFlagSyncService(options: FlagSyncServiceOptions): FlagSyncService {
  const { definition, metadataResponse } = flagSyncServiceDefinition();
  const state: ServiceState = { maxStreams: options.maxStreams, streams: new Map(), open: 0, opening: 0, closing: false, saturated: false, reauthorising: undefined };
  services.add(state);
  registerOnce();
  state.reauthorising = setInterval(() => runWithContext(() => reauthoriseAll(state)), options.reauthoriseMs ?? REAUTHORISE_INTERVAL_MS);
  state.reauthorising.unref();

  const syncFlags = (call: grpc.ServerWritableStream<SyncFlagsRequest, Buffer>) =>
    runWithContext(() => {
      if (state.closing) {
        count("SyncFlags", STOPPING.code);
        return refuseCall(call, STOPPING);
      }
      if (state.open + state.opening >= state.maxStreams) {
        count("SyncFlags", STREAM_LIMIT.code);
        if (!state.saturated) {
          state.saturated = true;
          log.warn("sync_stream.limit_reached", { streams__open: state.open, streams__max: state.maxStreams });
        }
        return refuseCall(call, STREAM_LIMIT);
      }
      const key = credentialOf(call.metadata, call.request);
      let result: Access | Promise<Access>;
      try {
        result = access(key);
      } catch (error) {
        return refuseCall(call, failed("SyncFlags", error));
      }
      if (!(result instanceof Promise)) return opened(state, call, key, result);
      state.opening++;
      result.then(
        (answer) => {
          state.opening--;
          opened(state, call, key, answer);
        },
        (error: unknown) => {
          state.opening--;
          refuseCall(call, failed("SyncFlags", error));
        },
      );
    });

  /** A unary call: the credential through `access`, then `answer` with the opened environment's document. */
  const unary = (method: Method, key: string | null, callback: grpc.sendUnaryData<Buffer>, answer: (served: ServedDocument) => Buffer) =>
    runWithContext(() => {
      const reply = (result: Access) => {
        if (!result.ok) {
          const status = statusOf(result.reason, method);
          count(method, status.code);
          log.debug("grpc_sync.refused", { rpc__method: method, reason: result.reason });
          return callback({ code: status.code, details: status.details });
        }
        count(method, grpc.status.OK);
        callback(null, answer(result.served));
      };
      try {
        const result = access(key);
        if (result instanceof Promise) result.then(reply, (error: unknown) => callback(failed(method, error)));
        else reply(result);
      } catch (error) {
        callback(failed(method, error));
      }
    });

  const fetchAllFlags = (call: grpc.ServerUnaryCall<FetchAllFlagsRequest, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
    unary("FetchAllFlags", credentialOf(call.metadata, call.request), callback, (served) => encodedOf(served).bytes);

  const getMetadata = (call: grpc.ServerUnaryCall<unknown, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
    // flagd's static evaluation context: Flagpost has none (see the module comment). The request has
    // no selector field: a call with a key in its metadata is checked like the others (a closed gate →
    // UNIMPLEMENTED); one without is answered the empty struct, which says nothing of any environment.
    const key = credentialOf(call.metadata, undefined);
    if (key === null && call.metadata.get("authorization").length === 0) {
      count("GetMetadata", grpc.status.OK);
      return callback(null, metadataResponse);
    }
    unary("GetMetadata", key, callback, () => metadataResponse);
  };

  return {
    definition,
    implementation: { SyncFlags: syncFlags, FetchAllFlags: fetchAllFlags, GetMetadata: getMetadata } as grpc.UntypedServiceImplementation,
    openStreams: () => state.open,
    closeAll() {
      state.closing = true;
      clearInterval(state.reauthorising);
      services.delete(state);
      let ended = 0;
      for (const streams of [...state.streams.values()]) {
        for (const stream of [...streams]) {
          endStream(state, stream, "shutdown", STOPPING);
          ended++;
        }
      }
      return ended;
    },
  };
}
