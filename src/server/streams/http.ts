/**
 * The event-stream endpoints (server-sent events), one per wire (events.ts):
 *
 *   GET /sse/environments/{key}/stream   Flagsmith's real-time wire (the `flagsmith` JS client with
 *                                        `realtime: true` and `eventSourceUrl` = this instance)
 *   GET /sse/environments/{key}/ofrep    OFREP's, announced in `eventStreams` of bulk evaluations
 *
 * `{key}` is the environment's client key (EventSource cannot send headers, so the key is in the URL,
 * as in Flagsmith; OFREP's `eventStreams` always names the client key). A server key is refused with
 * 401 and a message saying why: a URL ends up in access logs and proxies, a secret must not (the
 * request has leaked it already; refusing it makes the mistake visible at once instead of working).
 * It goes through the environment-key gate like every data-plane request: 401 missing/unknown key,
 * 403 (OFREP) / 401 (Flagsmith) when the organisation stopped serving flags, 503 + Retry-After
 * while there is no document, the database is unreachable for a key never seen, this process is
 * stopping, or it already holds STREAM_MAX_CONNECTIONS streams. Then 200 `text/event-stream`
 * (CORS open, as the SDK API), and the hub writes to it (hub.ts).
 */
import { apiJson, apiStream, NOT_A_ROUTE, type ApiRequest, type ApiResponse } from "@/server/http/api";
import { getLogger } from "@/server/observability/logger";
import { isGateOpen } from "@/server/rollouts/gates";
import { currentDocument } from "@/server/serving/document-cache";
import { DATABASE_UNAVAILABLE, DOCUMENT_NOT_AVAILABLE, INVALID_KEY, openEnvironment, RETRY_AFTER_SECONDS, STOP_SERVING, type GateRefusal, type GateResult } from "@/server/serving/gate";
import type { StreamProtocol } from "./events";
import { streamHub } from "./hub";
import { streamsOpened } from "./metrics";

const log = getLogger("streams");

/** The path of an environment's stream of `protocol` (keys are URL-safe; encoded all the same). */
export function streamPath(protocol: StreamProtocol, environmentKey: string): string {
  return `/sse/environments/${encodeURIComponent(environmentKey)}/${protocol === "flagsmith" ? "stream" : "ofrep"}`;
}

const STREAM_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/event-stream; charset=utf-8",
  // Never cached, compressed or buffered on the way (proxies: X-Accel-Buffering).
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
  "access-control-allow-origin": "*",
});

const CORS = { "access-control-allow-origin": "*" };
const RETRY = { ...CORS, "retry-after": RETRY_AFTER_SECONDS, "cache-control": "no-store" };

/** The refusal of `reason` in the wire's error shape (Flagsmith's `{detail}`, OFREP's `{errorDetails}`). */
function refusal(protocol: StreamProtocol, status: number, message: string, headers: Record<string, string>): ApiResponse {
  return apiJson(status, protocol === "flagsmith" ? { detail: message } : { errorDetails: message }, headers);
}

const GATE_REFUSALS: Readonly<Record<GateRefusal, { status: number; message: string; result: string }>> = {
  missing_key: { status: 401, message: INVALID_KEY, result: "unauthorised" },
  unknown_key: { status: 401, message: INVALID_KEY, result: "unauthorised" },
  server_key_required: { status: 401, message: INVALID_KEY, result: "unauthorised" },
  stop_serving_flags: { status: 403, message: STOP_SERVING, result: "unauthorised" },
  document_unavailable: { status: 503, message: DOCUMENT_NOT_AVAILABLE, result: "unavailable" },
  database_unavailable: { status: 503, message: DATABASE_UNAVAILABLE, result: "unavailable" },
};

function refuseGate(protocol: StreamProtocol, reason: GateRefusal): ApiResponse {
  const answer = GATE_REFUSALS[reason];
  streamsOpened.inc({ protocol, result: answer.result });
  // Flagsmith's wire answers the organisation's stop like its SDK API: 401.
  const status = protocol === "flagsmith" && answer.status === 403 ? 401 : answer.status;
  return refusal(protocol, status, answer.message, status === 503 ? RETRY : CORS);
}

export const SERVER_KEY_IN_URL = "Event streams take the environment's client key: a server key must not be put in a URL";

function open(protocol: StreamProtocol, request: ApiRequest, key: string, result: GateResult): ApiResponse {
  if (!result.ok) return refuseGate(protocol, result.reason);
  if (result.key.kind !== "client") {
    streamsOpened.inc({ protocol, result: "unauthorised" });
    log.warn("stream.refused", { environment__id: result.key.environmentId, stream__protocol: protocol, reason: "server_key_in_url" });
    return refusal(protocol, 401, SERVER_KEY_IN_URL, CORS);
  }
  const hub = streamHub();
  const admission = hub.admit();
  if (admission !== "open") {
    streamsOpened.inc({ protocol, result: admission });
    log.info("stream.refused", { environment__id: result.key.environmentId, stream__protocol: protocol, reason: admission, streams__count: hub.size });
    return refusal(protocol, 503, admission === "stopping" ? "Server stopping: reconnect" : "Too many open streams on this server: retry shortly", RETRY);
  }
  streamsOpened.inc({ protocol, result: "opened" });
  const { served } = result;
  const lastEventId = request.headers.get("last-event-id");
  let detach: (() => void) | null = null;
  return apiStream(200, { ...STREAM_HEADERS }, {
    start(sink) {
      // The newest revision this process serves now: one that arrived while the gate was answering (when the
      // hub had no stream of this environment to tell) is the stream's starting point, not the older one.
      const now = currentDocument(served.environmentId);
      const latest = now !== null && !(now instanceof Promise) && now.revision > served.revision ? now : served;
      detach = hub.attach(
        protocol,
        latest.environmentId,
        { revision: latest.revision, updatedAtEpoch: latest.updatedAtEpoch },
        sink,
        lastEventId !== null && lastEventId.length <= 64 ? lastEventId : null,
        result.key.organisationId,
        key,
      );
    },
    closed() {
      if (detach) detach();
      // Over before it started (the client went away first): its place is given back.
      else hub.release();
    },
  });
}

/** The `realtime_streams` gate is closed for the environment's organisation: answered as a path that does not exist. */
function switchedOff(protocol: StreamProtocol): ApiResponse {
  streamsOpened.inc({ protocol, result: "gate_closed" });
  log.debug("stream.refused", { stream__protocol: protocol, reason: "gate_closed" });
  return NOT_A_ROUTE;
}

/** Opens the stream once the environment is known: the `realtime_streams` gate of its organisation first. */
function gated(protocol: StreamProtocol, request: ApiRequest, key: string, result: GateResult): ApiResponse | Promise<ApiResponse> {
  if (!result.ok) return open(protocol, request, key, result);
  const gateOpen = isGateOpen("realtime_streams", result.key.organisationId);
  if (gateOpen instanceof Promise) return gateOpen.then((isOpen) => (isOpen ? open(protocol, request, key, result) : switchedOff(protocol)));
  return gateOpen ? open(protocol, request, key, result) : switchedOff(protocol);
}

/** A stream of `protocol` for the environment of `key` (the path's key). Synchronous when the key, document and gate are cached. */
export function handleStream(protocol: StreamProtocol, request: ApiRequest, key: string): ApiResponse | Promise<ApiResponse> {
  const result = openEnvironment(key);
  return result instanceof Promise ? result.then((r) => gated(protocol, request, key, r)) : gated(protocol, request, key, result);
}
