/**
 * The web process's second listener: flagd gRPC sync (`flagd.sync.v1.FlagSyncService`,
 * flagd/grpc-sync.ts) over HTTP/2 on its own port, FLAGD_SYNC_PORT (default 8015, flagd's own sync
 * port; 0 turns it off), bound to FLAGD_SYNC_HOST: loopback unless set, whatever HOST the web server
 * listens on (behind a load balancer HOST is public, and plaintext sync carries a server key).
 *
 * - Port: when the default port is taken (a second Flagpost on the machine) a free port is used and
 *   logged (`flagd.grpc_sync.port_taken`; the admin UI shows the port in use); when a port set with
 *   FLAGD_SYNC_PORT is taken, start-up fails saying which port and variable.
 * - TLS: FLAGD_SYNC_TLS_CERT_FILE + FLAGD_SYNC_TLS_KEY_FILE (PEM) serve it over TLS (`grpcs://`,
 *   providers' `tls: true`); without them it is plaintext — keep it on loopback or a private
 *   network, since the selector carries a server key. Plaintext on any address but loopback is
 *   logged as a warning at start (`flagd.grpc_sync.plaintext_exposed`).
 * - Keepalive: HTTP/2 pings every FLAGD_SYNC_KEEPALIVE_MS (30 s) on each connection; an unanswered
 *   ping (10 s) drops it, so streams of vanished clients (no FIN: a killed VM, a dropped NAT
 *   mapping) are released. Client pings are allowed (providers' `keepAliveTime`). Connections
 *   without calls for 5 minutes are closed. Requests are small: at most 64 KiB.
 * - Limit: FLAGD_SYNC_MAX_STREAMS open SyncFlags streams per process (RESOURCE_EXHAUSTED beyond).
 * - `close(timeoutMs)`: ends every stream with UNAVAILABLE (clients reconnect elsewhere or to the
 *   restarted process), lets calls in flight finish, and is done within `timeoutMs`.
 */
import fs from "node:fs";
import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { createFlagSyncService } from "@/server/flagd/grpc-sync";
import { setGrpcSyncStatus } from "@/server/flagd/grpc-status";
import { getLogger } from "@/server/observability/logger";

const log = getLogger("flagd");

/** How long an unanswered keepalive ping is waited for before the connection is dropped. */
export const KEEPALIVE_TIMEOUT_MS = 10_000;
/** Connections without any call for this long are closed. */
export const MAX_CONNECTION_IDLE_MS = 5 * 60_000;
/** Largest request message accepted (selectors and provider ids are short). */
export const MAX_REQUEST_BYTES = 64 * 1024;

export interface FlagdSyncServerOptions {
  host: string;
  /** 0: no server (null is returned). */
  port: number;
  /** The port was set explicitly (FLAGD_SYNC_PORT): a taken port is an error, not replaced. */
  portExplicit: boolean;
  tls?: { certFile?: string; keyFile?: string };
  maxStreams: number;
  keepaliveMs: number;
  /** How often open streams are re-authorised without a document change (tests shorten it; default 60 s). */
  reauthoriseMs?: number;
}

export interface FlagdSyncServer {
  host: string;
  port: number;
  tls: boolean;
  openStreams(): number;
  /** Ends the streams (UNAVAILABLE), stops accepting, waits for calls in flight at most `timeoutMs`; true when everything finished in time. */
  close(timeoutMs?: number): Promise<boolean>;
}

/** The flagd sync port is taken and was set explicitly. */
export class FlagdSyncPortTakenError extends Error {
  constructor(port: number, host: string) {
    super(`The flagd gRPC sync port ${host}:${port} is taken (set by FLAGD_SYNC_PORT): choose another port, or 0 to turn gRPC sync off`);
    this.name = "FlagdSyncPortTakenError";
  }
}

function credentialsOf(tls: FlagdSyncServerOptions["tls"]): { credentials: grpc.ServerCredentials; tls: boolean } {
  const certFile = tls?.certFile;
  const keyFile = tls?.keyFile;
  if (!certFile && !keyFile) return { credentials: grpc.ServerCredentials.createInsecure(), tls: false };
  if (!certFile || !keyFile) throw new Error("FLAGD_SYNC_TLS_CERT_FILE and FLAGD_SYNC_TLS_KEY_FILE go together: set both (PEM files) or neither");
  // No client certificates are asked for: the providers cannot send one.
  return { credentials: grpc.ServerCredentials.createSsl(null, [{ cert_chain: fs.readFileSync(certFile), private_key: fs.readFileSync(keyFile) }], false), tls: true };
}

function address(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost): reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost") return true;
  const mapped = bare.startsWith("::ffff:") ? bare.slice("::ffff:".length) : bare;
  if (net.isIPv4(mapped)) return mapped.startsWith("127.");
  return net.isIPv6(bare) && new net.SocketAddress({ address: bare, family: "ipv6" }).address === "::1";
}

function isAddressInUse(error: Error): boolean {
  // grpc-js reports a failed listen in the message ("… [listen EADDRINUSE: address already in use …]").
  return /EADDRINUSE/.test(error.message);
}

/** Starts the gRPC sync server (null when `port` is 0). */
export async function startFlagdSyncServer(options: FlagdSyncServerOptions): Promise<FlagdSyncServer | null> {
  if (options.port === 0) return null;
  const { credentials, tls } = credentialsOf(options.tls);
  const service = createFlagSyncService({ maxStreams: options.maxStreams, reauthoriseMs: options.reauthoriseMs });
  const server = new grpc.Server({
    ...(options.keepaliveMs > 0 ? { "grpc.keepalive_time_ms": options.keepaliveMs, "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS } : {}),
    "grpc.max_connection_idle_ms": MAX_CONNECTION_IDLE_MS,
    "grpc.max_receive_message_length": MAX_REQUEST_BYTES,
  });
  server.addService(service.definition, service.implementation);
  const bind = (port: number) =>
    new Promise<number>((resolve, reject) => server.bindAsync(address(options.host, port), credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
  let port: number;
  let defaultPortTaken = false;
  try {
    port = await bind(options.port);
  } catch (error) {
    if (!isAddressInUse(error as Error)) {
      service.closeAll();
      server.forceShutdown();
      throw error;
    }
    if (options.portExplicit) {
      service.closeAll();
      server.forceShutdown();
      throw new FlagdSyncPortTakenError(options.port, options.host);
    }
    // The default port is taken (another Flagpost on this machine): any free one will do.
    port = await bind(0);
    defaultPortTaken = true;
    log.warn("grpc_sync.port_taken", { port: options.port, grpc__port: port });
  }
  // A server key in clear on a reachable address: say so once, loudly (docs/flagd.md).
  if (!tls && !isLoopbackHost(options.host)) log.warn("grpc_sync.plaintext_exposed", { host: options.host, grpc__port: port });
  setGrpcSyncStatus({ host: options.host, port, tls, defaultPortTaken });
  log.info("grpc_sync.started", { url: `${tls ? "grpcs" : "grpc"}://${address(options.host, port)}`, streams__max: options.maxStreams });
  let closing: Promise<boolean> | undefined;
  return {
    host: options.host,
    port,
    tls,
    openStreams: () => service.openStreams(),
    close(timeoutMs = 10_000) {
      closing ??= (async () => {
        setGrpcSyncStatus(null);
        const ended = service.closeAll();
        const drained = await Promise.race([
          new Promise<boolean>((resolve) => server.tryShutdown(() => resolve(true))),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
        ]);
        if (!drained) server.forceShutdown();
        log.info("grpc_sync.stopped", { streams__closed: ended, drained });
        return drained;
      })();
      return closing;
    },
  };
}
