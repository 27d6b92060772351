import { describe, expect, it } from "vitest";
import { identityNotification, notificationFrame, openingFrame, revisionNotification, revisionOfId } from "@/server/streams/events";

/** The fields of one SSE frame, as a client's parser reads them. */
function parseFrame(frame: string): Record<string, string> {
  expect(frame.endsWith("\n\n")).toBe(true);
  const fields: Record<string, string> = {};
  for (const line of frame.trimEnd().split("\n")) {
    const colon = line.indexOf(":");
    fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, "");
  }
  return fields;
}

describe("stream notifications", () => {
  it("notificationFrame__documentRevisionOnFlagsmithWire__environmentUpdatedWithDocumentUpdatedAt", () => {
    // Given revision 12 of a document updated at 1700000000.123456
    const notification = revisionNotification(12, 1700000000.123456, 0);

    // When framed for Flagsmith's wire
    const fields = parseFrame(notificationFrame("flagsmith", notification));

    // Then it is the event the flagsmith JS client listens to, with the document's updated_at
    expect(fields).toEqual({ id: "12", event: "environment_updated", data: '{"updated_at":1700000000.123456}' });
  });

  it("notificationFrame__documentRevisionOnOfrepWire__refetchEvaluationMessageWithEtagAndLastModified", () => {
    // Given the same revision
    const notification = revisionNotification(12, 1700000000.9, 0);

    // When framed for OFREP
    const fields = parseFrame(notificationFrame("ofrep", notification));

    // Then it is ADR-0008's message: type refetchEvaluation, the quoted id as etag, epoch seconds
    expect(fields.id).toBe("12");
    expect(fields.event).toBe("message");
    expect(JSON.parse(fields.data)).toEqual({ type: "refetchEvaluation", etag: '"12"', lastModified: 1700000000 });
  });

  it("identityNotification__sameMillisecondTwice__distinctIdsLaterThanTheDocument", () => {
    // Given revision 7 updated at t=1000 s, and two identity changes announced in the same millisecond (clock behind)
    const first = identityNotification(7, 1000, 500_000);
    const second = identityNotification(7, 1000, 500_000, first);

    // When their ids and updated_at are compared
    // Then the ids differ, name revision 7, and updated_at is later than the document's (so the Flagsmith client fetches)
    expect(first.id).toBe("7.500000");
    expect(second.id).toBe("7.500001");
    expect(first.updatedAt).toBeGreaterThan(1000);
    expect(revisionOfId(second.id)).toBe(7);
  });

  it("revisionOfId__idsAndQuotedEtags__revisionOrNull", () => {
    // Given ids as clients send them back (Last-Event-ID, flagConfigEtag)
    // Then the revision is read from plain and quoted ids, and nothing from anything else
    expect(revisionOfId("12")).toBe(12);
    expect(revisionOfId('"12.1700000000000"')).toBe(12);
    expect(revisionOfId("W/12")).toBeNull();
    expect(revisionOfId("")).toBeNull();
    expect(revisionOfId(null)).toBeNull();
    expect(revisionOfId("9".repeat(40))).toBeNull();
  });

  it("openingFrame__latestId__retryAndIdWithoutData", () => {
    // Given the latest id of an environment
    // When a stream opens
    const fields = parseFrame(openingFrame("12.5"));

    // Then the client learns the reconnection delay and the id, and no event is dispatched (no data)
    expect(fields).toEqual({ retry: "2000", id: "12.5" });
  });
});
