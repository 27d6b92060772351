/**
 * What a stream says, and how (pure: no I/O). Two wires carry the same notifications:
 *
 * - `flagsmith` — Flagsmith's real-time wire, what the official `flagsmith` JS client (`realtime:
 *   true`) reads: `event: environment_updated` with `{"updated_at": <epoch seconds>}`. The client
 *   fetches its flags again when `updated_at` is later than the `X-Flagsmith-Document-Updated-At`
 *   of its last answer.
 * - `ofrep` — OFREP's (ADR-0008): `event: message` with
 *   `{"type": "refetchEvaluation", "etag": …, "lastModified": <epoch seconds>}`; the provider
 *   re-fetches its bulk evaluation (with `flagConfigEtag` / `flagConfigLastModified`).
 *
 * Every notification has an SSE `id` (`Last-Event-ID` on reconnect):
 *   `<revision>`        a new document revision;
 *   `<revision>.<ms>`   an identity change made in the admin UI after that revision (traits, an
 *                       identity created or deleted), which the document does not carry.
 * Ids compare by equality only: a resuming client whose last id is not this process's latest for
 * its environment has missed something, and is sent the latest notification at once (notifications
 * carry no data to replay: one is as good as all of them).
 */

export type StreamProtocol = "flagsmith" | "ofrep";
export const STREAM_PROTOCOLS: readonly StreamProtocol[] = ["flagsmith", "ofrep"];

/** The latest notification of an environment. */
export interface StreamNotification {
  id: string;
  /** The document revision it follows. */
  revision: number;
  /**
   * Flagsmith's `updated_at` (epoch seconds): the document's `updated_at` for a revision; for an
   * identity change, when it was announced, and always later than the document's, so that the
   * Flagsmith client (which compares it with its last answer's document timestamp) fetches again.
   */
  updatedAt: number;
  /** When this process learnt of it (epoch ms). */
  at: number;
}

/** Suggested reconnection delay (the SSE `retry` field), ms: after a restart, clients come back within it. */
export const RECONNECT_MS = 2_000;

/** The notification of a document revision (`updatedAtEpoch`: the document's `updated_at`, epoch seconds). */
export function revisionNotification(revision: number, updatedAtEpoch: number, at: number): StreamNotification {
  return { id: String(revision), revision, updatedAt: updatedAtEpoch, at };
}

/**
 * The notification of an identity change announced at `at` (epoch ms) while `revision` is served;
 * `previous` (the environment's latest notification) keeps ids distinct within one millisecond.
 */
export function identityNotification(revision: number, updatedAtEpoch: number, at: number, previous?: StreamNotification): StreamNotification {
  let stamp = at;
  if (previous && previous.revision === revision) {
    const dot = previous.id.indexOf(".");
    if (dot > 0) stamp = Math.max(stamp, Number(previous.id.slice(dot + 1)) + 1);
  }
  // Later than the document's timestamp whatever the clocks say (the Flagsmith client compares them).
  return { id: `${revision}.${stamp}`, revision, updatedAt: Math.max(stamp / 1000, updatedAtEpoch + 0.001), at };
}

/** The revision an id (or an OFREP `flagConfigEtag`, which quotes it) names, or null. */
export function revisionOfId(id: string | null | undefined): number | null {
  if (!id) return null;
  const match = /^"?(\d{1,15})(?:\.\d{1,15})?"?$/.exec(id.trim());
  return match ? Number(match[1]) : null;
}

/** OFREP's `etag` of a notification (quoted, as HTTP entity tags are). */
export function notificationEtag(notification: StreamNotification): string {
  return `"${notification.id}"`;
}

/** One notification as an SSE frame of `protocol`. */
export function notificationFrame(protocol: StreamProtocol, notification: StreamNotification): string {
  if (protocol === "flagsmith") {
    return `id: ${notification.id}\nevent: environment_updated\ndata: {"updated_at":${notification.updatedAt}}\n\n`;
  }
  const data = JSON.stringify({ type: "refetchEvaluation", etag: notificationEtag(notification), lastModified: Math.floor(notification.updatedAt) });
  return `id: ${notification.id}\nevent: message\ndata: ${data}\n\n`;
}

/**
 * The first bytes of every stream: the reconnection delay, and the id of the environment's latest
 * notification (an id-only message: it sets the client's last event id, so that a reconnect
 * carries it, without dispatching an event).
 */
export function openingFrame(latestId: string): string {
  return `retry: ${RECONNECT_MS}\nid: ${latestId}\n\n`;
}

/** A comment line: keeps idle connections (and the proxies on the way) open; clients ignore it. */
export const HEARTBEAT_FRAME = ": heartbeat\n\n";

/** Said before the server closes a stream as it stops (a comment: clients reconnect after `retry`). */
export const CLOSING_FRAME = ": server stopping, reconnect\n\n";
