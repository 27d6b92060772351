/**
 * The stream hub: every event stream open in this web process, by environment, and the one
 * fan-out that writes each change to them. Nothing here polls or queries per stream: changes come
 * from two in-process sources, both fed by the change listener's one PostgreSQL connection —
 *
 *   - `onDocumentChange` (serving/changes.ts): this process starts serving a newer document
 *     revision (after parsing it, so a client re-fetching on the notification gets the new answer
 *     from this process);
 *   - `identity_admin_changes` notifications (identities/service.ts): an identity or its traits
 *     changed in the admin UI (not in the document, but in what `/identities/` and OFREP answer).
 *
 * Each stream's key (held in memory, never logged) is re-checked through the environment-key gate
 * when a key change of its environment is notified (`environment_keys`: the environment deleted,
 * its organisation's keys changed) and after the change listener reconnects (a notification may
 * have been missed): a key that no longer opens its environment ends its streams (the client
 * reconnects into a 401, where EventSource stops). While the database cannot answer, streams stay.
 * Every environment with open streams is pinned in the document cache (never evicted), so its
 * notifications keep reaching them.
 *
 * A change is formatted once per protocol and written to every stream of its environment on the
 * notification's turn (writes only queue bytes on sockets). A client that does not read (its
 * socket buffer full) is disconnected rather than buffered for: it reconnects with
 * `Last-Event-ID` and is caught up (events.ts). One heartbeat timer per process keeps idle
 * connections open. At most `STREAM_MAX_CONNECTIONS` streams per process (503 past it); on
 * shutdown every stream is ended first (scripts/web.ts), so the server drains at once.
 *
 * One hub per process (a process slot).
 */
import { settings } from "@/server/config";
import type { StreamSink } from "@/server/http/api";
import { IDENTITY_ADMIN_CHANNEL } from "@/server/identities/service";
import { getLogger } from "@/server/observability/logger";
import { isGateOpen, onGatesChanged } from "@/server/rollouts/gates";
import { runWithContext } from "@/server/observability/context";
import { onDocumentChange } from "@/server/serving/changes";
import { pinDocument } from "@/server/serving/document-cache";
import { openEnvironment, type GateResult } from "@/server/serving/gate";
import { KEY_CHANNEL, parseIds } from "@/server/serving/key-cache";
import { subscribe } from "@/server/serving/listener";
import { processSlot } from "@/server/singleton";
import {
  CLOSING_FRAME,
  HEARTBEAT_FRAME,
  identityNotification,
  notificationFrame,
  openingFrame,
  revisionNotification,
  STREAM_PROTOCOLS,
  type StreamNotification,
  type StreamProtocol,
} from "./events";
import { streamEventsSent, streamFanoutSeconds, streamsDropped } from "./metrics";

const log = getLogger("streams");

/** A stream opened (without Last-Event-ID) this soon after its environment's latest change is sent it at once. */
export const CATCH_UP_WINDOW_MS = 5_000;

/** What a stream needs to know of the document its environment serves. */
export interface ServedRevision {
  revision: number;
  /** The document's `updated_at`, epoch seconds. */
  updatedAtEpoch: number;
  /** The organisation stopped serving flags: streams of the environment end. */
  stopServing?: boolean;
}

interface Stream {
  protocol: StreamProtocol;
  environmentId: number;
  /** The environment's organisation (whose `realtime_streams` gate admitted the stream), when known. */
  organisationId: number | undefined;
  sink: StreamSink;
  openedAt: number;
  /** The key it was opened with (memory only: re-checked on key changes), when known. */
  key: string | undefined;
  /** Releases its environment's pin in the document cache. */
  unpin: (() => void) | undefined;
}

interface EnvironmentStreams {
  streams: Set<Stream>;
  served: ServedRevision;
  latest: StreamNotification;
}

export type Admission = "open" | "connection_limit" | "stopping";

/** What the gate says of a stream's key now: it still opens the stream's environment, no longer does, or cannot tell (the database is away). */
export type KeyVerdict = "open" | "refused" | "unknown";

export interface HubOptions {
  maxConnections: number;
  heartbeatMs: number;
  now?: () => number;
  /** Keeps an environment's document cached while it has streams (document-cache.ts pinDocument); returns the release. */
  pin?: (environmentId: number) => () => void;
}

export class StreamHub {
  private readonly environments = new Map<number, EnvironmentStreams>();
  private readonly counts: Record<StreamProtocol, number> = { flagsmith: 0, ofrep: 0 };
  private stopping = false;
  /** Streams admitted but not attached yet (their response is on its way): counted against the limit. */
  private reserved = 0;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly options: HubOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Streams open, per protocol. */
  get open(): Readonly<Record<StreamProtocol, number>> {
    return this.counts;
  }

  get size(): number {
    return this.counts.flagsmith + this.counts.ofrep;
  }

  /**
   * Whether one more stream may open; "open" reserves its place (so that streams admitted together —
   * a reconnect storm, whose key lookups settle in one turn — cannot pass the limit before any is
   * attached): `attach` takes the reservation, `release` gives it back for a stream that never starts.
   */
  admit(): Admission {
    if (this.stopping) return "stopping";
    if (this.size + this.reserved >= this.options.maxConnections) return "connection_limit";
    this.reserved++;
    return "open";
  }

  /** Gives back the reservation of an admitted stream that will not be attached. */
  release(): void {
    if (this.reserved > 0) this.reserved--;
  }

  /** The latest notification of an environment serving `served` (what a stream opening now is told). */
  latestFor(environmentId: number, served: ServedRevision): StreamNotification {
    const state = this.environments.get(environmentId);
    if (state && state.latest.revision === served.revision) return state.latest;
    return revisionNotification(served.revision, served.updatedAtEpoch, served.updatedAtEpoch * 1000);
  }

  /**
   * Adds a stream of `environmentId` (which serves `served`) and writes its opening: the latest
   * notification's id, and that notification too when the client missed it (a `lastEventId` other
   * than the latest), or, on a first connection, when it is recent (CATCH_UP_WINDOW_MS: it may have
   * happened between the client's last fetch and this connection). Returns the function that
   * removes the stream (call it when the stream is closed). `organisationId` is what
   * `recheckOrganisations` asks about when Flagpost's own gates change, `key` what `recheckKeys`
   * checks when keys change.
   */
  attach(protocol: StreamProtocol, environmentId: number, served: ServedRevision, sink: StreamSink, lastEventId: string | null, organisationId?: number, key?: string): () => void {
    this.release();
    const latest = this.latestFor(environmentId, served);
    let state = this.environments.get(environmentId);
    if (!state) this.environments.set(environmentId, (state = { streams: new Set(), served, latest }));
    else if (served.revision >= state.served.revision) {
      state.served = served;
      state.latest = latest;
    }
    const stream: Stream = { protocol, environmentId, organisationId, sink, openedAt: this.now(), key, unpin: this.options.pin?.(environmentId) };
    state.streams.add(stream);
    this.counts[protocol] += 1;
    this.startHeartbeat();
    const missed = lastEventId !== null ? lastEventId !== latest.id : this.now() - latest.at < CATCH_UP_WINDOW_MS;
    sink.write(openingFrame(latest.id));
    if (missed) {
      sink.write(notificationFrame(protocol, latest));
      streamEventsSent.inc({ protocol, kind: "catch_up" });
    }
    log.debug("stream.opened", { environment__id: environmentId, stream__protocol: protocol, stream__resumed: lastEventId !== null, stream__caught_up: missed });
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.detach(stream);
    };
  }

  private detach(stream: Stream): void {
    const state = this.environments.get(stream.environmentId);
    if (!state?.streams.delete(stream)) return;
    stream.unpin?.();
    this.counts[stream.protocol] -= 1;
    if (this.size === 0) this.stopHeartbeat();
    log.debug("stream.closed", { environment__id: stream.environmentId, stream__protocol: stream.protocol, duration__seconds: Math.round((this.now() - stream.openedAt) / 100) / 10 });
  }

  /** This process serves a newer document revision of the environment. */
  documentChanged(environmentId: number, served: ServedRevision): void {
    const state = this.environments.get(environmentId);
    if (!state || served.revision <= state.served.revision) return;
    state.served = served;
    state.latest = revisionNotification(served.revision, served.updatedAtEpoch, this.now());
    if (served.stopServing) {
      this.endAll(state, "");
      return;
    }
    this.fanOut(environmentId, state, "document");
  }

  /** An identity (or its traits) of the environment changed in the admin UI. */
  identitiesChanged(environmentId: number): void {
    const state = this.environments.get(environmentId);
    if (!state) return;
    state.latest = identityNotification(state.served.revision, state.served.updatedAtEpoch, this.now(), state.latest);
    this.fanOut(environmentId, state, "identity");
  }

  private fanOut(environmentId: number, state: EnvironmentStreams, kind: "document" | "identity"): void {
    if (state.streams.size === 0) return;
    const started = process.hrtime.bigint();
    const frames: Partial<Record<StreamProtocol, string>> = {};
    const sent: Record<StreamProtocol, number> = { flagsmith: 0, ofrep: 0 };
    const slow: Stream[] = [];
    for (const stream of state.streams) {
      const frame = (frames[stream.protocol] ??= notificationFrame(stream.protocol, state.latest));
      if (!stream.sink.write(frame)) slow.push(stream);
      sent[stream.protocol] += 1;
    }
    for (const stream of slow) this.drop(stream);
    for (const protocol of STREAM_PROTOCOLS) if (sent[protocol] > 0) streamEventsSent.inc({ protocol, kind }, sent[protocol]);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    streamFanoutSeconds.observe({ kind }, seconds);
    log.debug("change.fanned_out", { environment__id: environmentId, change__kind: kind, streams__count: sent.flagsmith + sent.ofrep, fanout__seconds: seconds });
  }

  /** A client that stopped reading: ended (it reconnects and catches up with Last-Event-ID). */
  private drop(stream: Stream): void {
    streamsDropped.inc();
    log.info("stream.dropped", { environment__id: stream.environmentId, stream__protocol: stream.protocol });
    stream.sink.end();
    this.detach(stream);
  }

  private endAll(state: EnvironmentStreams, frame: string): number {
    const streams = [...state.streams];
    for (const stream of streams) {
      if (frame) stream.sink.write(frame);
      stream.sink.end();
      this.detach(stream);
    }
    return streams.length;
  }

  /**
   * Asks `allowed` about every organisation with open streams and ends the streams of those it
   * refuses (Flagpost's own `realtime_streams` gate closed for them: clients reconnect into the 404
   * a closed gate answers, and EventSource stops there). Returns how many streams ended.
   */
  async recheckOrganisations(allowed: (organisationId: number) => boolean | Promise<boolean>): Promise<number> {
    const organisations = new Set<number>();
    for (const state of this.environments.values()) for (const stream of state.streams) if (stream.organisationId !== undefined) organisations.add(stream.organisationId);
    const refused = new Set<number>();
    for (const organisationId of organisations) if (!(await allowed(organisationId))) refused.add(organisationId);
    if (refused.size === 0) return 0;
    const ended = this.endWhere((stream) => stream.organisationId !== undefined && refused.has(stream.organisationId));
    log.info("streams.gate_closed", { streams__count: ended.length, organisations__count: refused.size });
    return ended.length;
  }

  /**
   * Asks `check` about the key of every stream of these environments (null: every environment), once
   * per key, and ends the streams whose key no longer opens their environment (deleted, or its
   * organisation stopped serving flags): clients reconnect into the 401. Streams whose key `check`
   * cannot judge now (the database away) stay. Returns how many streams ended.
   */
  async recheckKeys(environmentIds: ReadonlySet<number> | null, check: (key: string, environmentId: number) => KeyVerdict | Promise<KeyVerdict>): Promise<number> {
    const verdicts = new Map<string, KeyVerdict | Promise<KeyVerdict>>();
    for (const [environmentId, state] of this.environments) {
      if (environmentIds !== null && !environmentIds.has(environmentId)) continue;
      for (const stream of state.streams) if (stream.key !== undefined && !verdicts.has(stream.key)) verdicts.set(stream.key, check(stream.key, environmentId));
    }
    const refused = new Set<string>();
    for (const [key, verdict] of verdicts) if ((await verdict) === "refused") refused.add(key);
    if (refused.size === 0) return 0;
    const ended = this.endWhere((stream) => stream.key !== undefined && refused.has(stream.key));
    log.info("streams.key_refused", { streams__count: ended.length, environments__count: new Set(ended.map((stream) => stream.environmentId)).size });
    return ended.length;
  }

  /** Ends and removes every stream `matches` accepts; returns them. */
  private endWhere(matches: (stream: Stream) => boolean): Stream[] {
    const ended: Stream[] = [];
    for (const state of this.environments.values()) {
      for (const stream of [...state.streams]) {
        if (!matches(stream)) continue;
        stream.sink.end();
        this.detach(stream);
        ended.push(stream);
      }
    }
    return ended;
  }

  /** Writes a heartbeat comment to every stream (the timer calls it; tests may too). */
  heartbeat(): void {
    const slow: Stream[] = [];
    for (const state of this.environments.values()) for (const stream of state.streams) if (!stream.sink.write(HEARTBEAT_FRAME)) slow.push(stream);
    for (const stream of slow) this.drop(stream);
  }

  /** Shutdown: refuses new streams from now on and ends every open one (clients reconnect elsewhere). */
  closeAll(): number {
    this.stopping = true;
    let closed = 0;
    for (const state of this.environments.values()) closed += this.endAll(state, CLOSING_FRAME);
    this.stopHeartbeat();
    return closed;
  }

  private startHeartbeat(): void {
    if (this.heartbeatTimer || this.options.heartbeatMs <= 0) return;
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.options.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }
}

/** Environment ids of an `identity_admin_changes` payload (comma-separated). */
export function parseEnvironmentIds(payload: string | undefined): number[] {
  if (!payload) return [];
  const ids: number[] = [];
  for (const part of payload.split(",")) {
    const id = Number(part);
    if (Number.isSafeInteger(id) && id > 0) ids.push(id);
  }
  return ids;
}

const slot = processSlot<StreamHub>("streamHub");

/** The gate's answer for a stream's key (the stream's environment, as a stream opens: no server key). */
function verdictOf(result: GateResult, environmentId: number): KeyVerdict {
  if (result.ok) return result.key.environmentId === environmentId && result.key.kind === "client" ? "open" : "refused";
  return result.reason === "database_unavailable" || result.reason === "document_unavailable" ? "unknown" : "refused";
}

function checkKey(key: string, environmentId: number): KeyVerdict | Promise<KeyVerdict> {
  const result = openEnvironment(key);
  return result instanceof Promise ? result.then((answer) => verdictOf(answer, environmentId), () => "unknown" as const) : verdictOf(result, environmentId);
}

/** Re-checks the keys of the streams of these environments (null: all), after every other subscriber of the notification ran (the key cache forgets first). */
function recheckKeysSoon(hub: StreamHub, environmentIds: ReadonlySet<number> | null): void {
  setImmediate(() =>
    // A fresh request context: the gate binds the environment's ids into it.
    runWithContext(() => {
      hub.recheckKeys(environmentIds, checkKey).catch((error: unknown) => log.error("streams.key_recheck_failed", { error }));
    }),
  );
}

/**
 * The process's hub, created on first use and registered once: on document changes, on the
 * change listener's identity-admin channel, and as the source of the open-streams gauge.
 */
export function streamHub(): StreamHub {
  return slot.getOrCreate(() => {
    const hub = new StreamHub({ maxConnections: settings().streamMaxConnections, heartbeatMs: settings().streamHeartbeatSeconds * 1000, pin: pinDocument });
    onDocumentChange("streams", ({ environmentId, served }) =>
      hub.documentChanged(environmentId, {
        revision: served.revision,
        updatedAtEpoch: served.updatedAtEpoch,
        stopServing: served.document.project?.organisation?.stop_serving_flags === true,
      }),
    );
    // Flagpost's own flags changed: streams of organisations whose `realtime_streams` gate closed end now.
    onGatesChanged("streams", () => {
      hub.recheckOrganisations((organisationId) => isGateOpen("realtime_streams", organisationId)).catch((error: unknown) => log.error("streams.gate_recheck_failed", { error }));
    });
    // A key change (an environment deleted, …), or notifications missed while the listener reconnected: keys re-checked.
    subscribe(KEY_CHANNEL, "streams", {
      notify: (payload) => recheckKeysSoon(hub, parseIds(payload)),
      connected: () => recheckKeysSoon(hub, null),
    });
    subscribe(IDENTITY_ADMIN_CHANNEL, "streams", {
      notify(payload) {
        for (const environmentId of parseEnvironmentIds(payload)) hub.identitiesChanged(environmentId);
      },
    });
    return hub;
  });
}

/** Shutdown (scripts/web.ts): ends every stream of this process and refuses new ones. */
export function closeStreams(): number {
  const hub = slot.get();
  if (!hub) return 0;
  const closed = hub.closeAll();
  log.info("streams.closed", { streams__count: closed });
  return closed;
}
