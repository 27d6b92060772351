/**
 * Metrics of the event streams (server-sent events: Flagsmith's real-time wire and OFREP's). Listed in
 * docs/metrics.md.
 */
import { counter, gauge, histogram } from "@/server/observability/metrics";
import { processSlot } from "@/server/singleton";

// The hub (hub.ts) is read at scrape time: 0 before any stream opened.
const hub = processSlot<{ readonly open: Readonly<Record<string, number>> }>("streamHub");

export const openStreams = gauge(
  "flagsmith_streams_open_connections",
  "Event streams (server-sent events) open in this web process, by protocol: flagsmith (GET /sse/environments/<key>/stream) or ofrep (GET /sse/environments/<key>/ofrep).",
  ["protocol"],
  (metric) => {
    const open = hub.get()?.open;
    for (const protocol of ["flagsmith", "ofrep"]) metric.set({ protocol }, open?.[protocol] ?? 0);
  },
);

export const streamsOpened = counter(
  "flagsmith_streams_connections_total",
  "Event streams opened in this web process, by protocol and by result: opened, or refused (connection_limit: STREAM_MAX_CONNECTIONS reached; stopping: the process is shutting down; unauthorised: a missing or unknown key, or the organisation stopped serving flags; gate_closed: the realtime_streams gate is off for the organisation; unavailable: no document to serve yet, or the database unreachable for a key never seen).",
  ["protocol", "result"],
);

export const streamEventsSent = counter(
  "flagsmith_streams_events_sent_total",
  "Notifications written to event streams, by protocol and kind: document (a new document revision), identity (an identity or its traits changed in the admin UI), catch_up (sent when a stream opens or resumes after missing notifications).",
  ["protocol", "kind"],
);

export const streamsDropped = counter(
  "flagsmith_streams_dropped_total",
  "Event streams closed by the server because the client did not read what was written (its buffer full): the client reconnects and resumes with Last-Event-ID.",
);

export const streamFanoutSeconds = histogram(
  "flagsmith_streams_fanout_seconds",
  "Time to write one change to every open stream of its environment in this web process (from the change reaching the stream hub to the last write), by kind: document or identity.",
  ["kind"],
  [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
);
