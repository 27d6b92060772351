/**
 * The event streams over HTTP against the running system (docs/ofrep.md#streams): both wires notified of a new
 * document revision with what their clients compare (Flagsmith's `updated_at` = the SDK API's
 * X-Flagsmith-Document-Updated-At; OFREP's etag = the bulk answer's version), identity and trait changes made in the
 * admin UI notified too, Last-Event-ID catch-up; and on a web process of its own: the connection limit (503 +
 * Retry-After), heartbeats, the open-streams metric, and streams ended at once on SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { startWebProcess, stopProcess } from "../../support/system";
import { projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { waitForDocuments } from "../sdk/support";

process.env.DATABASE_URL = inject("systemDatabaseUrl");
resetSettingsForTests();

const base = inject("systemUrl");

interface Frame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
  retry?: string;
}

interface Sse {
  status: number;
  headers: Headers;
  frames: Frame[];
  /** The first frame (from `from` on) matching `predicate`, waiting at most `timeoutMs`. */
  next(predicate: (frame: Frame) => boolean, timeoutMs?: number, from?: number): Promise<Frame>;
  /** Resolves when the server ended the body. */
  ended: Promise<void>;
  close(): void;
}

function parseFrame(block: string): Frame {
  const frame: Frame = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) frame.comment = line.slice(1).trim();
    else {
      const colon = line.indexOf(":");
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, "");
      if (field === "id" || field === "event" || field === "data" || field === "retry") frame[field] = value;
    }
  }
  return frame;
}

async function openSse(url: string, headers: Record<string, string> = {}): Promise<Sse> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  let ended: Promise<void> = Promise.resolve();
  if (response.status === 200 && response.body) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    ended = (async () => {
      let buffer = "";
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            frames.push(parseFrame(buffer.slice(0, end)));
            buffer = buffer.slice(end + 2);
            for (const wake of waiters) wake();
          }
        }
      } catch {
        // aborted by close()
      }
    })();
  } else await response.body?.cancel();
  const next = (predicate: (frame: Frame) => boolean, timeoutMs = 15_000, from = 0) =>
    new Promise<Frame>((resolve, reject) => {
      const check = () => {
        const found = frames.slice(from).find(predicate);
        if (!found) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { status: response.status, headers: response.headers, frames, next, ended, close: () => controller.abort() };
}

let user: TestUser;
let environmentId: number;
let clientKey: string;
let featureId: number;

beforeAll(async () => {
  user = await signUpUser();
  const { project, environments } = await projectWithEnvironments(user, ["Production"]);
  environmentId = environments[0].id;
  clientKey = environments[0].apiKey;
  featureId = (await user.caller.features.create({ projectId: project.id, name: "banner", initialValue: "one", defaultEnabled: true })).id;
  await waitForDocuments([environmentId]);
});

const streamUrl = (wire: "stream" | "ofrep", url = base) => `${url}/sse/environments/${clientKey}/${wire}`;

/** The served revision and Flagsmith timestamp, as the SDK API and OFREP answer them. */
async function served(): Promise<{ version: string; updatedAt: number }> {
  const flags = await fetch(`${base}/api/v1/flags/`, { headers: { "x-environment-key": clientKey } });
  const bulk = await fetch(`${base}/ofrep/v1/evaluate/flags`, { method: "POST", headers: { authorization: `Bearer ${clientKey}`, "content-type": "application/json" }, body: "{}" });
  return { updatedAt: Number(flags.headers.get("x-flagsmith-document-updated-at")), version: ((await bulk.json()) as { metadata: { version: string } }).metadata.version };
}

describe("event streams on the system's web process", () => {
  it("streams__newDocumentRevision__bothWiresNotifiedWithWhatTheirClientsCompare", async () => {
    // Given both streams of the environment open
    const before = await served();
    const flagsmith = await openSse(streamUrl("stream"));
    const ofrep = await openSse(streamUrl("ofrep"));
    expect(flagsmith.status).toBe(200);
    expect(flagsmith.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(flagsmith.headers.get("cache-control")).toBe("no-cache, no-transform");
    const opening = await flagsmith.next((frame) => frame.retry !== undefined);
    expect(opening).toEqual({ retry: "2000", id: before.version });

    // When a feature's value changes in the admin API and the new document is served
    await user.caller.features.updateState({ featureId, environmentId, value: "two" });
    const newer = (frame: Frame) => frame.id !== undefined && frame.data !== undefined && Number(frame.id) > Number(before.version);
    const [toFlagsmith, toOfrep] = await Promise.all([flagsmith.next(newer), ofrep.next(newer)]);
    const after = await served();
    flagsmith.close();
    ofrep.close();

    // Then Flagsmith's wire says environment_updated with the document's updated_at (what the flagsmith client compares
    // with X-Flagsmith-Document-Updated-At), OFREP's says refetchEvaluation with the revision as etag; ids are the revision
    expect(toFlagsmith.event).toBe("environment_updated");
    expect(JSON.parse(toFlagsmith.data!)).toEqual({ updated_at: after.updatedAt });
    expect(toFlagsmith.id).toBe(after.version);
    expect(toOfrep.event).toBe("message");
    expect(JSON.parse(toOfrep.data!)).toEqual({ type: "refetchEvaluation", etag: `"${after.version}"`, lastModified: Math.floor(after.updatedAt) });
    expect(after.updatedAt).toBeGreaterThanOrEqual(before.updatedAt);
  });

  it("streams__traitSetOnAnIdentityInTheAdminUi__notifiedWithALaterUpdatedAt", async () => {
    // Given a stored identity and an open Flagsmith stream, once its opening (and any catch-up) has arrived
    const identity = await user.caller.identities.create({ environmentId, identifier: "stream-user" });
    const flagsmith = await openSse(streamUrl("stream"));
    await flagsmith.next((frame) => frame.retry !== undefined);
    const now = await served();
    const seen = flagsmith.frames.length;

    // When one of its traits is set in the admin UI (the document does not change)
    await user.caller.identities.setTrait({ identityId: identity.id, key: "plan", value: "pro" });
    const notified = await flagsmith.next((frame) => frame.event === "environment_updated" && (frame.id ?? "").includes("."), 15_000, seen);
    flagsmith.close();

    // Then the stream is told, with an id of this revision and an updated_at later than the document's (so the client re-fetches)
    expect(notified.id).toMatch(new RegExp(`^${now.version}\\.\\d+$`));
    expect((JSON.parse(notified.data!) as { updated_at: number }).updated_at).toBeGreaterThan(now.updatedAt);
  });

  it("streams__identityOverrideCreatedInTheAdminUi__newRevisionNotified", async () => {
    // Given a stored identity and an open OFREP stream
    const identity = await user.caller.identities.create({ environmentId, identifier: "override-user" });
    const ofrep = await openSse(streamUrl("ofrep"));
    await ofrep.next((frame) => frame.retry !== undefined);
    const before = await served();
    const seen = ofrep.frames.length;

    // When an identity override is created for it in the admin UI
    await user.caller.identities.createOverride({ identityId: identity.id, featureId, enabled: true, value: "just for you" });
    const notified = await ofrep.next((frame) => frame.data !== undefined && /^\d+$/.test(frame.id ?? "") && Number(frame.id) > Number(before.version), 15_000, seen);
    ofrep.close();

    // Then the stream is told of the new revision, whose OFREP answer for that identity has the override
    const evaluation = await fetch(`${base}/ofrep/v1/evaluate/flags/banner`, {
      method: "POST",
      headers: { authorization: `Bearer ${clientKey}`, "content-type": "application/json" },
      body: JSON.stringify({ context: { targetingKey: "override-user" } }),
    });
    expect(JSON.parse(notified.data!)).toEqual({ type: "refetchEvaluation", etag: `"${notified.id}"`, lastModified: expect.any(Number) });
    expect(((await evaluation.json()) as { value: string }).value).toBe("just for you");
  });

  it("streams__reconnectWithAnOlderLastEventId__caughtUpAtOnceButNotWithTheLatest", async () => {
    // Given the environment's latest notification id
    const probe = await openSse(streamUrl("ofrep"));
    const latest = (await probe.next((frame) => frame.retry !== undefined)).id!;
    probe.close();

    // When a client reconnects with an older id, and another with the latest
    const behind = await openSse(streamUrl("ofrep"), { "last-event-id": "1" });
    const current = await openSse(streamUrl("ofrep"), { "last-event-id": latest });
    const caughtUp = await behind.next((frame) => frame.data !== undefined, 2_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    behind.close();
    current.close();

    // Then the one behind is sent the latest notification at once; the current one only its opening (a
    // heartbeat of the process-wide timer may fall in the wait: it is a comment, not an event)
    expect(caughtUp.id).toBe(latest);
    expect(JSON.parse(caughtUp.data!)).toMatchObject({ type: "refetchEvaluation", etag: `"${latest}"` });
    expect(current.frames.filter((frame) => frame.comment !== "heartbeat")).toEqual([{ retry: "2000", id: latest }]);
  });

  it("streams__unknownOrMissingKey__401", async () => {
    // Given a key that names no environment
    // When its streams are opened
    const flagsmith = await openSse(`${base}/sse/environments/not-a-key/stream`);
    const ofrep = await openSse(`${base}/sse/environments/not-a-key/ofrep`);
    // (and keys no key can be: PostgreSQL refuses NUL and lone surrogates in a query, so they are not asked for)
    const hostile = await Promise.all(["%00", "a%00b", "%ED%A0%80"].map((key) => fetch(`${base}/sse/environments/${key}/stream`)));

    // Then all are refused, none with a server error
    expect([flagsmith.status, ofrep.status]).toEqual([401, 401]);
    expect(hostile.map((response) => response.status)).toEqual([401, 401, 400]);
  });

  it("streams__environmentDeleted__itsStreamsEndAtOnceAndReconnectingIsRefused", async () => {
    // Given streams of both wires open on an environment of its own, and a stream of another environment
    const { environments: [doomed] } = await projectWithEnvironments(user, ["Doomed"]);
    await waitForDocuments([doomed.id]);
    const url = (wire: "stream" | "ofrep") => `${base}/sse/environments/${doomed.apiKey}/${wire}`;
    const flagsmith = await openSse(url("stream"));
    const ofrep = await openSse(url("ofrep"));
    const other = await openSse(streamUrl("stream"));
    expect([flagsmith.status, ofrep.status, other.status]).toEqual([200, 200, 200]);
    await Promise.all([flagsmith.next((frame) => frame.id !== undefined), ofrep.next((frame) => frame.id !== undefined)]);

    // When the environment is deleted
    await user.caller.environments.delete({ environmentId: doomed.id });

    // Then its streams end (its key no longer opens anything: re-checked on the key notification), a
    // reconnection is refused with 401, and the other environment's stream stays open
    const ended = (stream: Sse) => Promise.race([stream.ended.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000))]);
    expect(await Promise.all([ended(flagsmith), ended(ofrep)])).toEqual([true, true]);
    expect((await fetch(url("stream"))).status).toBe(401);
    expect(await Promise.race([other.ended.then(() => "ended"), new Promise((resolve) => setTimeout(() => resolve("open"), 200))])).toBe("open");
    other.close();
  });

  it("streams__serverKeyInTheUrl__401SayingToUseTheClientKey", async () => {
    // Given a valid server key of the environment (a secret: it must not travel in a URL)
    const { key } = await user.caller.environments.createServerKey({ environmentId, name: "not for urls" });
    const bulk = await fetch(`${base}/ofrep/v1/evaluate/flags`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: "{}" });
    expect(bulk.status).toBe(200);

    // When its streams are opened with it in the path
    const flagsmith = await fetch(`${base}/sse/environments/${key}/stream`);
    const ofrep = await fetch(`${base}/sse/environments/${key}/ofrep`);

    // Then both are refused, saying which key a stream takes, in each wire's error shape
    expect([flagsmith.status, ofrep.status]).toEqual([401, 401]);
    expect(((await flagsmith.json()) as { detail: string }).detail).toMatch(/client key/);
    expect(((await ofrep.json()) as { errorDetails: string }).errorDetails).toMatch(/client key/);
    // And the client key still opens them
    const open = await openSse(streamUrl("stream"));
    expect(open.status).toBe(200);
    open.close();
  });
});

describe("event streams on a web process of their own", () => {
  let web: Awaited<ReturnType<typeof startWebProcess>> | undefined;

  afterAll(async () => {
    if (web) await stopProcess(web.child);
  });

  it("streams__limitHeartbeatsAndShutdown__503PastTheLimitHeartbeatsAndEndedAtOnceOnSigterm", { timeout: 120_000 }, async () => {
    // Given a web process allowing 2 streams, with a heartbeat every second and a long shutdown timeout
    web = await startWebProcess({ databaseUrl: inject("systemDatabaseUrl"), env: { STREAM_MAX_CONNECTIONS: "2", STREAM_HEARTBEAT_SECONDS: "1", SHUTDOWN_TIMEOUT_MS: "30000", LOG_LEVEL: "warn" } });
    const first = await openSse(streamUrl("stream", web.url));
    const second = await openSse(streamUrl("ofrep", web.url));

    // When a third stream is opened, the open ones idle for a while, and the process is told to stop
    const third = await openSse(streamUrl("stream", web.url));
    const heartbeat = await first.next((frame) => frame.comment === "heartbeat", 3_000);
    const metrics = await (await fetch(web.metricsUrl)).text();
    const stopping = Date.now();
    const exited = stopProcess(web.child, "SIGTERM", 25_000);
    await Promise.all([first.ended, second.ended]);
    const endedAfter = Date.now() - stopping;
    await exited;
    const exitedAfter = Date.now() - stopping;

    // Then the third is refused with 503 and Retry-After, the open ones get heartbeats and are counted, and on SIGTERM
    // they are told and ended at once, so the process exits without waiting for its shutdown timeout (30 s here;
    // the bounds leave room for a loaded machine)
    expect(third.status).toBe(503);
    expect(third.headers.get("retry-after")).toBe("1");
    expect(heartbeat).toEqual({ comment: "heartbeat" });
    expect(metrics).toContain('flagsmith_streams_open_connections{protocol="flagsmith"} 1');
    expect(metrics).toContain('flagsmith_streams_open_connections{protocol="ofrep"} 1');
    expect(metrics).toMatch(/flagsmith_streams_connections_total\{protocol="flagsmith",result="connection_limit"\} 1/);
    expect(first.frames.at(-1)).toEqual({ comment: "server stopping, reconnect" });
    expect(endedAfter).toBeLessThan(10_000);
    expect(exitedAfter).toBeLessThan(20_000);
    expect(web.child.exitCode).toBe(0);
  });
});
