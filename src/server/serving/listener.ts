/**
 * The change listener: one dedicated PostgreSQL connection per web process that LISTENs on the
 * channels its subscribers registered (`environment_documents` for the document cache,
 * `identity_changes` for the SDK identity cache, and any later stream) and hands every notification
 * to them. Nothing here knows what a channel means.
 *
 * - `subscribe(channel, name, subscriber)`: registers (or replaces, by name) a subscriber. A channel
 *   added while connected is LISTENed at once, and counts as a new generation for everyone.
 * - Generations: every (re)connect bumps the generation and calls `connected(generation)` on every
 *   subscriber. Notifications sent while the connection was down are lost, so a subscriber may trust
 *   what it learnt only under the generation that is live (`listeningGeneration()`, -1 while down).
 * - The connection reconnects with capped exponential backoff.
 *
 * One connection per process (its state is a process slot: singleton.ts).
 */
import pg from "pg";
import { context, ROOT_CONTEXT } from "@opentelemetry/api";
import { settings } from "@/server/config";
import { markUp, reportDatabaseError } from "@/server/db/availability";
import { configuredDatabaseUrl } from "@/server/db/client";
import { runWithContext } from "@/server/observability/context";
import { getLogger } from "@/server/observability/logger";
import { processSlot } from "@/server/singleton";
import { documentListenerConnected } from "./metrics";

const log = getLogger("serving");

export interface ChangeSubscriber {
  /** One notification on the subscribed channel (payload as sent). */
  notify(payload: string | undefined): void;
  /** The connection (re)connected: notifications may have been missed before `generation`. */
  connected?(generation: number): void;
  /** The listener was stopped (tests, shutdown): forget everything learnt from it. */
  stopped?(): void;
}

const RECONNECT_MIN_MS = 250;
/** Reconnect backoff cap: a returning database is noticed within this long. */
export const RECONNECT_MAX_MS = 5_000;
/** A connected listener proves its connection alive this often (a frozen server answers nothing)… */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** …within this long, or the connection is dropped and reconnected. */
export const HEARTBEAT_TIMEOUT_MS = 2_000;

interface ListenerState {
  client: pg.Client | null;
  connected: boolean;
  /** Bumped at every (re)connect or new LISTEN; what was learnt under an older one is revalidated. */
  generation: number;
  started: boolean;
  stopped: boolean;
  reconnectDelayMs: number;
  reconnectTimer: NodeJS.Timeout | null;
  heartbeatTimer: NodeJS.Timeout | null;
  /** channel → subscriber name → subscriber. */
  subscribers: Map<string, Map<string, ChangeSubscriber>>;
  /** Channels LISTENed on the live connection. */
  listening: Set<string>;
}

const slot = processSlot<ListenerState>("changeListener");

const createState = (): ListenerState => ({
  client: null,
  connected: false,
  generation: 0,
  started: false,
  stopped: false,
  reconnectDelayMs: RECONNECT_MIN_MS,
  reconnectTimer: null,
  heartbeatTimer: null,
  subscribers: new Map(),
  listening: new Set(),
});

// Called on every request (listeningGeneration): no closure is allocated per call.
function state(): ListenerState {
  return slot.getOrCreate(createState);
}

const CHANNEL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function each(listener: ListenerState, visit: (subscriber: ChangeSubscriber) => void): void {
  for (const byName of listener.subscribers.values()) for (const subscriber of byName.values()) visit(subscriber);
}

function announceGeneration(listener: ListenerState): void {
  listener.generation += 1;
  const generation = listener.generation;
  each(listener, (subscriber) => subscriber.connected?.(generation));
}

/**
 * Registers `subscriber` for `channel` under `name` (a later registration with the same name
 * replaces it: every bundle of the process may register the same subscriber).
 */
export function subscribe(channel: string, name: string, subscriber: ChangeSubscriber): void {
  if (!CHANNEL_NAME.test(channel)) throw new Error(`invalid channel name ${JSON.stringify(channel)}`);
  const listener = state();
  let byName = listener.subscribers.get(channel);
  if (!byName) listener.subscribers.set(channel, (byName = new Map()));
  byName.set(name, subscriber);
  const client = listener.client;
  if (listener.connected && client && !listener.listening.has(channel)) {
    listener.listening.add(channel);
    client.query(`LISTEN ${channel}`).then(
      () => {
        if (listener.client === client) announceGeneration(listener);
      },
      (error: unknown) => markDisconnected(listener, client, error),
    );
  }
}

function dispatch(channel: string, payload: string | undefined): void {
  const byName = state().subscribers.get(channel);
  if (!byName) return;
  for (const subscriber of byName.values()) {
    try {
      subscriber.notify(payload);
    } catch (error) {
      log.error("change_listener.subscriber_failed", { channel, error });
    }
  }
}

function scheduleReconnect(listener: ListenerState): void {
  if (listener.stopped || listener.reconnectTimer) return;
  const delay = listener.reconnectDelayMs;
  listener.reconnectDelayMs = Math.min(RECONNECT_MAX_MS, listener.reconnectDelayMs * 2);
  listener.reconnectTimer = setTimeout(() => {
    listener.reconnectTimer = null;
    void connectListener(listener);
  }, delay);
  listener.reconnectTimer.unref();
}

function markDisconnected(listener: ListenerState, client: pg.Client, error: unknown): void {
  if (listener.client !== client) return;
  listener.client = null;
  stopHeartbeat(listener);
  reportDatabaseError(error);
  listener.listening.clear();
  const wasConnected = listener.connected;
  listener.connected = false;
  documentListenerConnected.set(0);
  client.removeAllListeners("notification");
  client.end().catch(() => undefined);
  if (!listener.stopped) {
    log.warn("document_listener.failed", { error, was__connected: wasConnected, retry__ms: listener.reconnectDelayMs });
    scheduleReconnect(listener);
  }
}

async function connectListener(listener: ListenerState): Promise<void> {
  if (listener.stopped || listener.client) return;
  const url = configuredDatabaseUrl();
  if (!url) return;
  const client = new pg.Client({
    connectionString: url,
    keepAlive: true,
    application_name: `${settings().processName}-document-listener`,
    connectionTimeoutMillis: settings().databaseConnectTimeoutMs || undefined,
    query_timeout: HEARTBEAT_TIMEOUT_MS,
  });
  listener.client = client;
  client.on("error", (error) => markDisconnected(listener, client, error));
  client.on("end", () => markDisconnected(listener, client, new Error("connection ended")));
  client.on("notification", (message) => dispatch(message.channel, message.payload));
  try {
    await client.connect();
    const channels = [...listener.subscribers.keys()];
    if (channels.length > 0) await client.query(channels.map((channel) => `LISTEN ${channel}`).join("; "));
    if (listener.client !== client || listener.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    for (const channel of channels) listener.listening.add(channel);
    listener.connected = true;
    // Notifications sent before LISTEN took effect are lost: subscribers revalidate what they hold.
    announceGeneration(listener);
    listener.reconnectDelayMs = RECONNECT_MIN_MS;
    documentListenerConnected.set(1);
    markUp();
    startHeartbeat(listener, client);
    log.info("document_listener.connected", { listener__generation: listener.generation });
  } catch (error) {
    markDisconnected(listener, client, error);
  }
}

function startHeartbeat(listener: ListenerState, client: pg.Client): void {
  stopHeartbeat(listener);
  listener.heartbeatTimer = setInterval(() => {
    if (listener.client !== client) return stopHeartbeat(listener);
    client.query("select 1").catch((error: unknown) => markDisconnected(listener, client, error));
  }, HEARTBEAT_INTERVAL_MS);
  listener.heartbeatTimer.unref();
}

function stopHeartbeat(listener: ListenerState): void {
  if (listener.heartbeatTimer) clearInterval(listener.heartbeatTimer);
  listener.heartbeatTimer = null;
}

/** Starts the LISTEN connection once per process (no-op afterwards). */
export function ensureListener(): void {
  const listener = state();
  if (listener.started) return;
  listener.started = true;
  listener.stopped = false;
  // Outside the current request's context (bindings, span): the connection, its callbacks and the
  // reloads they start belong to the process, not to the request that happened to come first.
  runWithContext(() => context.with(ROOT_CONTEXT, () => void connectListener(listener)));
}

/** The generation of the live LISTEN connection, or -1 while not listening (nothing may be trusted). */
export function listeningGeneration(): number {
  const listener = state();
  return listener.connected ? listener.generation : -1;
}

/** Whether this process currently LISTENs for change notifications. */
export function isListening(): boolean {
  return state().connected;
}

/** Tests and shutdown: closes the connection and tells every subscriber to forget what it holds. */
export async function stopListener(): Promise<void> {
  const listener = state();
  listener.stopped = true;
  listener.started = false;
  if (listener.reconnectTimer) clearTimeout(listener.reconnectTimer);
  listener.reconnectTimer = null;
  stopHeartbeat(listener);
  const client = listener.client;
  listener.client = null;
  listener.connected = false;
  listener.listening.clear();
  documentListenerConnected.set(0);
  if (client) {
    client.removeAllListeners();
    client.on("error", () => undefined);
    await client.end().catch(() => undefined);
  }
  each(listener, (subscriber) => subscriber.stopped?.());
}
