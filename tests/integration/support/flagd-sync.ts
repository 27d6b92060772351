/**
 * Clients of Flagpost's flagd gRPC sync for tests: a raw `flagd.sync.v1.FlagSyncService` client (from
 * the vendored proto) that records what a SyncFlags stream receives and how it ends, and the
 * official in-process flagd provider wired to a port and selector.
 */
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { FlagdProvider } from "@openfeature/flagd-provider";
import { OpenFeature, type ProviderEvents } from "@openfeature/server-sdk";

const PROTO_ROOT = path.resolve(__dirname, "../../../src/server/flagd/proto");

type Callback<T> = (error: grpc.ServiceError | null, response?: T) => void;

export interface FlagSyncClient extends grpc.Client {
  SyncFlags(request: { providerId?: string; selector?: string }, metadata?: grpc.Metadata): grpc.ClientReadableStream<{ flagConfiguration: string; syncContext?: unknown }>;
  FetchAllFlags(request: { providerId?: string; selector?: string }, metadata: grpc.Metadata, callback: Callback<{ flagConfiguration: string }>): grpc.ClientUnaryCall;
  GetMetadata(request: object, metadata: grpc.Metadata, callback: Callback<{ metadata: { fields: Record<string, unknown> } | null }>): grpc.ClientUnaryCall;
}

type ClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => FlagSyncClient;

let constructor: ClientConstructor | undefined;

/** A raw client of the sync service at 127.0.0.1:`port` (plaintext unless `credentials`). */
export function syncClient(port: number, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), options: grpc.ClientOptions = {}): FlagSyncClient {
  if (!constructor) {
    const definition = protoLoader.loadSync("flagd/sync/v1/sync.proto", { includeDirs: [PROTO_ROOT], keepCase: false, defaults: true });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as { flagd: { sync: { v1: { FlagSyncService: ClientConstructor } } } };
    constructor = loaded.flagd.sync.v1.FlagSyncService;
  }
  // Each client its own connection (grpc-js would share one between clients of the same target).
  return new constructor(`127.0.0.1:${port}`, credentials, { "grpc.use_local_subchannel_pool": 1, ...options });
}

export function metadata(entries: Record<string, string> = {}): grpc.Metadata {
  const out = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) out.set(key, value);
  return out;
}

export interface RecordedStream {
  /** Every flag_configuration received, in order. */
  messages: string[];
  /** Resolves with the status the stream ended with. */
  ended: Promise<{ code: grpc.status; details: string }>;
  /** Whether it ended (and how). */
  status: { code: grpc.status; details: string } | null;
  /** Resolves with the `n`-th message (0-based) once it has arrived. */
  message(n: number, timeoutMs?: number): Promise<string>;
  cancel(): void;
}

/** Opens SyncFlags and records it. */
export function openSync(client: FlagSyncClient, request: { providerId?: string; selector?: string }, meta: grpc.Metadata = new grpc.Metadata()): RecordedStream {
  const call = client.SyncFlags(request, meta);
  const messages: string[] = [];
  const waiters: Array<() => void> = [];
  const recorded: RecordedStream = {
    messages,
    status: null,
    ended: new Promise((resolve) => {
      call.on("error", (error: grpc.ServiceError) => {
        recorded.status = { code: error.code, details: error.details };
        resolve(recorded.status);
        for (const wake of waiters.splice(0)) wake();
      });
      call.on("status", (status: grpc.StatusObject) => {
        if (status.code !== grpc.status.OK) return;
        recorded.status = { code: status.code, details: status.details };
        resolve(recorded.status);
        for (const wake of waiters.splice(0)) wake();
      });
    }),
    message(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message #${n} within ${timeoutMs} ms (got ${messages.length}; status ${JSON.stringify(recorded.status)})`)), timeoutMs);
        const check = () => {
          if (messages.length > n) {
            clearTimeout(timer);
            resolve(messages[n]);
          } else if (recorded.status) {
            clearTimeout(timer);
            reject(new Error(`stream ended (${JSON.stringify(recorded.status)}) after ${messages.length} message(s)`));
          } else waiters.push(check);
        };
        check();
      });
    },
    cancel: () => call.cancel(),
  };
  call.on("data", (data: { flagConfiguration: string }) => {
    messages.push(data.flagConfiguration);
    for (const wake of waiters.splice(0)) wake();
  });
  return recorded;
}

export function fetchAll(client: FlagSyncClient, request: { providerId?: string; selector?: string }, meta: grpc.Metadata = new grpc.Metadata()): Promise<string> {
  return new Promise((resolve, reject) => client.FetchAllFlags(request, meta, (error, response) => (error ? reject(error) : resolve(response!.flagConfiguration))));
}

export function getMetadata(client: FlagSyncClient, meta: grpc.Metadata = new grpc.Metadata()): Promise<{ metadata: { fields: Record<string, unknown> } | null }> {
  return new Promise((resolve, reject) => client.GetMetadata({}, meta, (error, response) => (error ? reject(error) : resolve(response!))));
}

/** The gRPC status code of a rejected call. */
export async function codeOf(promise: Promise<unknown>): Promise<grpc.status | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return (error as grpc.ServiceError).code;
  }
}

/** The official in-process flagd provider, syncing from Flagpost at 127.0.0.1:`port` with `selector`. */
export function inProcessProvider(port: number, selector: string, options: Partial<ConstructorParameters<typeof FlagdProvider>[0]> = {}): FlagdProvider {
  return new FlagdProvider({ resolverType: "in-process", host: "127.0.0.1", port, selector, retryBackoffMaxMs: 1000, deadlineMs: 2000, ...options });
}

export { grpc };

/** Resolves when the OpenFeature client of `domain` emits `event` (or rejects after `timeoutMs`). */
export function nextEvent(domain: string, event: ProviderEvents, timeoutMs = 15_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const client = OpenFeature.getClient(domain);
    const timer = setTimeout(() => {
      client.removeHandler(event, handler);
      reject(new Error(`${event} not emitted within ${timeoutMs} ms on ${domain}`));
    }, timeoutMs);
    const handler = (payload: unknown) => {
      clearTimeout(timer);
      client.removeHandler(event, handler);
      resolve(payload);
    };
    client.addHandler(event, handler);
  });
}
