import { describe, expect, it } from "vitest";
import type { StreamSink } from "@/server/http/api";
import { CATCH_UP_WINDOW_MS, parseEnvironmentIds, StreamHub } from "@/server/streams/hub";

/** A sink that records what it was sent; `full` makes writes report a full buffer. */
function sink(options: { full?: boolean } = {}): StreamSink & { chunks: string[]; ended: boolean } {
  const recorded = {
    chunks: [] as string[],
    ended: false,
    write(chunk: string) {
      recorded.chunks.push(chunk);
      return !options.full;
    },
    end() {
      recorded.ended = true;
    },
  };
  return recorded;
}

const LONG_AGO = { revision: 5, updatedAtEpoch: 1_000 };

/** A hub at a fixed time (ms), long after LONG_AGO's document. */
function hubAt(now = 10_000_000, maxConnections = 100) {
  const clock = { now };
  const hub = new StreamHub({ maxConnections, heartbeatMs: 0, now: () => clock.now });
  return { hub, clock };
}

const events = (chunks: string[]) => chunks.filter((chunk) => chunk.includes("data:"));

describe("StreamHub", () => {
  it("recheckOrganisations__gateClosedForOneOrganisation__onlyItsStreamsEndAndTheOthersStillGetChanges", async () => {
    // Given streams of organisation 7 (environments 1 and 2) and of organisation 8 (environment 3)
    const { hub } = hubAt();
    const [a, b, c] = [sink(), sink(), sink()];
    hub.attach("flagsmith", 1, LONG_AGO, a, null, 7);
    hub.attach("ofrep", 2, LONG_AGO, b, null, 7);
    hub.attach("ofrep", 3, LONG_AGO, c, null, 8);

    // When the gate is asked again and says no for organisation 7 only (one answer late, as a cold evaluation is)
    const asked: number[] = [];
    const ended = await hub.recheckOrganisations((organisationId) => {
      asked.push(organisationId);
      return organisationId === 7 ? Promise.resolve(false) : true;
    });

    // Then each organisation was asked once, organisation 7's streams ended and left the hub, organisation 8's did not
    expect(asked.sort()).toEqual([7, 8]);
    expect(ended).toBe(2);
    expect([a.ended, b.ended, c.ended]).toEqual([true, true, false]);
    expect(hub.size).toBe(1);
    hub.documentChanged(3, { revision: 6, updatedAtEpoch: 2_000 });
    hub.documentChanged(1, { revision: 6, updatedAtEpoch: 2_000 });
    expect(events(c.chunks)).toHaveLength(1);
    expect(events(a.chunks)).toEqual([]);
  });

  it("documentChanged__streamsOfBothProtocols__oneNotificationEachInItsWire", () => {
    // Given a Flagsmith stream and an OFREP stream of environment 1, and a stream of environment 2
    const { hub } = hubAt();
    const flagsmith = sink();
    const ofrep = sink();
    const other = sink();
    hub.attach("flagsmith", 1, LONG_AGO, flagsmith, null);
    hub.attach("ofrep", 1, LONG_AGO, ofrep, null);
    hub.attach("ofrep", 2, LONG_AGO, other, null);

    // When environment 1 serves revision 6
    hub.documentChanged(1, { revision: 6, updatedAtEpoch: 2_000.5 });

    // Then each stream of environment 1 got revision 6 in its wire, after its opening; environment 2 got nothing
    expect(flagsmith.chunks).toEqual(["retry: 2000\nid: 5\n\n", 'id: 6\nevent: environment_updated\ndata: {"updated_at":2000.5}\n\n']);
    expect(events(ofrep.chunks)).toEqual(['id: 6\nevent: message\ndata: {"type":"refetchEvaluation","etag":"\\"6\\"","lastModified":2000}\n\n']);
    expect(events(other.chunks)).toEqual([]);
  });

  it("documentChanged__olderOrSameRevision__nothingSent", () => {
    // Given a stream of an environment serving revision 5
    const { hub } = hubAt();
    const stream = sink();
    hub.attach("ofrep", 1, LONG_AGO, stream, null);

    // When revision 5 (or 4) is announced again
    hub.documentChanged(1, { revision: 5, updatedAtEpoch: 1_000 });
    hub.documentChanged(1, { revision: 4, updatedAtEpoch: 900 });

    // Then nothing is sent
    expect(events(stream.chunks)).toEqual([]);
  });

  it("identitiesChanged__environmentWithStreams__notificationWithDistinctIdOfTheSameRevision", () => {
    // Given a Flagsmith stream of environment 1 (revision 5)
    const { hub } = hubAt(2_000_000);
    const stream = sink();
    hub.attach("flagsmith", 1, LONG_AGO, stream, null);

    // When a trait of one of its identities changes in the admin UI
    hub.identitiesChanged(1);
    hub.identitiesChanged(99);

    // Then it is told, with an id after revision 5 and an updated_at later than the document's
    expect(events(stream.chunks)).toEqual(['id: 5.2000000\nevent: environment_updated\ndata: {"updated_at":2000}\n\n']);
  });

  it("attach__lastEventIdOfAMissedChange__caughtUpAtOnce", () => {
    // Given an environment that moved to revision 6 while a client was away (its last id: 5)
    const { hub } = hubAt();
    hub.attach("ofrep", 1, LONG_AGO, sink(), null);
    hub.documentChanged(1, { revision: 6, updatedAtEpoch: 2_000 });

    // When the client reconnects with Last-Event-ID 5, and another with the current id 6
    const resumed = sink();
    const current = sink();
    hub.attach("ofrep", 1, { revision: 6, updatedAtEpoch: 2_000 }, resumed, "5");
    hub.attach("ofrep", 1, { revision: 6, updatedAtEpoch: 2_000 }, current, "6");

    // Then the first is sent revision 6 at once; the second only its opening
    expect(events(resumed.chunks)).toHaveLength(1);
    expect(resumed.chunks[1]).toContain("id: 6\n");
    expect(current.chunks).toEqual(["retry: 2000\nid: 6\n\n"]);
  });

  it("attach__firstConnectionRightAfterAChange__caughtUpOnlyWithinTheWindow", () => {
    // Given a document updated 1 s ago, and one updated long ago
    const now = 50_000_000;
    const { hub } = hubAt(now);
    const recent = sink();
    const old = sink();

    // When clients connect without Last-Event-ID
    hub.attach("flagsmith", 1, { revision: 3, updatedAtEpoch: (now - 1_000) / 1000 }, recent, null);
    hub.attach("flagsmith", 2, { revision: 3, updatedAtEpoch: (now - CATCH_UP_WINDOW_MS - 1) / 1000 }, old, null);

    // Then only the recent change is sent (it may have happened after the client's fetch)
    expect(events(recent.chunks)).toHaveLength(1);
    expect(events(old.chunks)).toHaveLength(0);
  });

  it("admit__atTheLimitOrStopping__refusedWithTheReason", () => {
    // Given a hub allowing 2 streams, holding 2
    const { hub } = hubAt(10_000_000, 2);
    const close = hub.attach("ofrep", 1, LONG_AGO, sink(), null);
    hub.attach("flagsmith", 1, LONG_AGO, sink(), null);

    // When a third asks, then one closes, then the hub stops
    const full = hub.admit();
    close();
    close();
    const afterClose = hub.admit();
    const closed = hub.closeAll();

    // Then the third is refused for the limit, a freed place is given, and a stopping hub refuses everyone
    expect(full).toBe("connection_limit");
    expect(afterClose).toBe("open");
    expect(closed).toBe(1);
    expect(hub.admit()).toBe("stopping");
    expect(hub.size).toBe(0);
  });

  it("admit__manyAdmittedBeforeAnyAttaches__theLimitHoldsAndUnstartedStreamsGiveTheirPlaceBack", () => {
    // Given a hub allowing 2 streams, and three requests admitted in the same turn (a reconnect storm: their key
    // lookups settle together, before any stream is attached)
    const { hub } = hubAt(10_000_000, 2);
    const answers = [hub.admit(), hub.admit(), hub.admit()];

    // When the first two attach, and then one of them closes
    expect(answers).toEqual(["open", "open", "connection_limit"]);
    const close = hub.attach("ofrep", 1, LONG_AGO, sink(), null);
    hub.attach("ofrep", 1, LONG_AGO, sink(), null);
    const whileFull = hub.admit();
    close();

    // Then the limit held all along; a reservation given back (a stream that never started) frees its place too
    expect(whileFull).toBe("connection_limit");
    expect(hub.size).toBe(1);
    expect(hub.admit()).toBe("open");
    expect(hub.admit()).toBe("connection_limit");
    hub.release();
    expect(hub.admit()).toBe("open");
  });

  it("documentChanged__clientNotReading__droppedAndOthersStillServed", () => {
    // Given a stream whose buffer is full and a healthy one
    const { hub } = hubAt();
    const stuck = sink({ full: true });
    const healthy = sink();
    hub.attach("ofrep", 1, LONG_AGO, stuck, null);
    hub.attach("ofrep", 1, LONG_AGO, healthy, null);

    // When a change is fanned out
    hub.documentChanged(1, { revision: 6, updatedAtEpoch: 2_000 });

    // Then the stuck client is ended (it will resume), the healthy one is served, and only it remains
    expect(stuck.ended).toBe(true);
    expect(events(healthy.chunks)).toHaveLength(1);
    expect(hub.open.ofrep).toBe(1);
  });

  it("heartbeat__openStreams__commentToEach", () => {
    // Given two streams
    const { hub } = hubAt();
    const a = sink();
    const b = sink();
    hub.attach("flagsmith", 1, LONG_AGO, a, null);
    hub.attach("ofrep", 2, LONG_AGO, b, null);

    // When the heartbeat runs
    hub.heartbeat();

    // Then both got a comment line (no event)
    expect(a.chunks.at(-1)).toBe(": heartbeat\n\n");
    expect(b.chunks.at(-1)).toBe(": heartbeat\n\n");
  });

  it("documentChanged__organisationStoppedServing__streamsEnded", () => {
    // Given a stream of environment 1
    const { hub } = hubAt();
    const stream = sink();
    hub.attach("ofrep", 1, LONG_AGO, stream, null);

    // When its next document says the organisation stopped serving flags
    hub.documentChanged(1, { revision: 6, updatedAtEpoch: 2_000, stopServing: true });

    // Then the stream is ended without a notification
    expect(stream.ended).toBe(true);
    expect(events(stream.chunks)).toEqual([]);
    expect(hub.size).toBe(0);
  });

  it("recheckKeys__environmentDeletedForOneKey__onlyItsStreamsEndEachKeyAskedOnce", async () => {
    // Given two streams opened with key "gone" (environment 1), one with key "kept" (environment 2), one of environment 1 with "kept-1"
    const { hub } = hubAt();
    const [a, b, c, d] = [sink(), sink(), sink(), sink()];
    hub.attach("flagsmith", 1, LONG_AGO, a, null, 7, "gone");
    hub.attach("ofrep", 1, LONG_AGO, b, null, 7, "gone");
    hub.attach("ofrep", 2, LONG_AGO, c, null, 7, "kept");
    hub.attach("flagsmith", 1, LONG_AGO, d, null, 7, "kept-1");

    // When a key change of environment 1 is re-checked, and the gate refuses "gone" (one answer late, as a cold key is)
    const asked: string[] = [];
    const ended = await hub.recheckKeys(new Set([1]), (key) => {
      asked.push(key);
      return key === "gone" ? Promise.resolve("refused" as const) : "open";
    });

    // Then only environment 1's keys were asked, once each; the streams of "gone" ended, the others stay and get changes
    expect(asked.sort()).toEqual(["gone", "kept-1"]);
    expect(ended).toBe(2);
    expect([a.ended, b.ended, c.ended, d.ended]).toEqual([true, true, false, false]);
    hub.documentChanged(1, { revision: 6, updatedAtEpoch: 2_000 });
    expect(events(d.chunks)).toHaveLength(1);
    expect(events(a.chunks)).toEqual([]);
  });

  it("recheckKeys__gateCannotTellOrEveryEnvironment__streamsStayOrAllAreAsked", async () => {
    // Given streams of environments 1 and 2
    const { hub } = hubAt();
    const [a, b] = [sink(), sink()];
    hub.attach("flagsmith", 1, LONG_AGO, a, null, 7, "one");
    hub.attach("flagsmith", 2, LONG_AGO, b, null, 7, "two");

    // When every environment is re-checked (the listener reconnected) while the database is away
    const asked: string[] = [];
    const ended = await hub.recheckKeys(null, (key) => {
      asked.push(key);
      return "unknown";
    });

    // Then every key was asked and no stream ended
    expect(asked.sort()).toEqual(["one", "two"]);
    expect(ended).toBe(0);
    expect([a.ended, b.ended]).toEqual([false, false]);
  });

  it("attach__streamsOfAnEnvironment__itsDocumentPinnedUntilTheLastCloses", () => {
    // Given a hub pinning documents through a recording pin
    const pins = new Map<number, number>();
    const hub = new StreamHub({
      maxConnections: 10,
      heartbeatMs: 0,
      pin: (environmentId) => {
        pins.set(environmentId, (pins.get(environmentId) ?? 0) + 1);
        return () => pins.set(environmentId, pins.get(environmentId)! - 1);
      },
    });

    // When two streams of environment 1 open, one closes twice, and the other is dropped for not reading
    const first = hub.attach("flagsmith", 1, LONG_AGO, sink(), null);
    hub.attach("ofrep", 1, LONG_AGO, sink({ full: true }), null);
    const pinnedWithTwo = pins.get(1);
    first();
    first();
    const pinnedWithOne = pins.get(1);
    hub.documentChanged(1, { revision: 6, updatedAtEpoch: 2_000 });

    // Then it was pinned once per stream and released once per stream
    expect([pinnedWithTwo, pinnedWithOne, pins.get(1)]).toEqual([2, 1, 0]);
  });

  it("parseEnvironmentIds__payloads__validIdsOnly", () => {
    // Given notification payloads, well-formed or not
    // Then only positive integer ids are read
    expect(parseEnvironmentIds("3")).toEqual([3]);
    expect(parseEnvironmentIds("3,4,x,-1,0")).toEqual([3, 4]);
    expect(parseEnvironmentIds(undefined)).toEqual([]);
  });
});
