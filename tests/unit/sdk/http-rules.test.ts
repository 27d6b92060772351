import { describe, expect, it } from "vitest";
import { parseDocumentNotification } from "@/server/serving/document-cache";
import { MAX_ANALYTICS_FEATURES, validateAnalyticsBody } from "@/server/sdk/analytics";
import { etagMatches, isNotModified, notModifiedSince } from "@/server/http/conditional";

describe("conditional requests", () => {
  const etag = '"abc"';

  it.each([
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", "abc"', true],
    ["*", true],
    ['"abd"', false],
    ["", false],
  ])("etagMatches__ifNoneMatch %s__%s", (header, expected) => {
    // Given an If-None-Match header
    // When compared with the document's ETag
    // Then it matches per RFC 9110 weak comparison
    expect(etagMatches(header, etag)).toBe(expected);
  });

  it("notModifiedSince__dates__comparedAtSecondPrecision", () => {
    // Given a document last modified at a whole second
    const lastModified = Date.parse("2026-01-01T00:00:05Z");

    // When compared with If-Modified-Since values
    // Then equal or later dates mean unmodified; garbage never does
    expect(notModifiedSince("Thu, 01 Jan 2026 00:00:05 GMT", lastModified)).toBe(true);
    expect(notModifiedSince("Thu, 01 Jan 2026 00:00:06 GMT", lastModified)).toBe(true);
    expect(notModifiedSince("Thu, 01 Jan 2026 00:00:04 GMT", lastModified)).toBe(false);
    expect(notModifiedSince("yesterday", lastModified)).toBe(false);
  });
});

describe("conditional GET", () => {
  const lastModified = Date.parse("2026-01-01T00:00:05Z");
  const request = (headers: Record<string, string>) => ({
    method: "GET",
    url: "http://localhost/api/v1/flagd/flags.json",
    headers: { get: (name: string) => headers[name.toLowerCase()] ?? null },
    body: null,
  });

  it.each([
    ["no conditional header", {}, false],
    ["a matching If-None-Match", { "if-none-match": '"abc"' }, true],
    ["a stale If-None-Match, even with a current If-Modified-Since", { "if-none-match": '"old"', "if-modified-since": "Thu, 01 Jan 2026 00:00:05 GMT" }, false],
    ["only a current If-Modified-Since", { "if-modified-since": "Thu, 01 Jan 2026 00:00:05 GMT" }, true],
    ["only an older If-Modified-Since", { "if-modified-since": "Thu, 01 Jan 2026 00:00:04 GMT" }, false],
  ])("isNotModified__%s__%s", (_name, headers, expected) => {
    // Given a request with (or without) validators
    // When checked against the current ETag and Last-Modified
    // Then 304 is chosen only for a request that asked for it and whose validator still holds
    expect(isNotModified(request(headers), '"abc"', lastModified)).toBe(expected);
  });
});

describe("analytics body", () => {
  it("validateAnalyticsBody__counts__zeroCountsSkipped", () => {
    // Given a report with a zero count
    // When validated
    const parsed = validateAnalyticsBody({ a: 3, b: 0, c: 10 });

    // Then positive counts are kept
    expect(parsed.ok && [...parsed.value]).toEqual([
      ["a", 3],
      ["c", 10],
    ]);
  });

  it.each([
    ["a list", [1]],
    ["a negative count", { a: -1 }],
    ["a fractional count", { a: 1.5 }],
    ["a string count", { a: "3" }],
    ["a huge count", { a: 2e9 }],
    ["an empty name", { "": 1 }],
    ["too many features", Object.fromEntries(Array.from({ length: MAX_ANALYTICS_FEATURES + 1 }, (_, i) => [`f${i}`, 1]))],
  ])("validateAnalyticsBody__%s__refused", (_name, body) => {
    // Given an invalid report
    // When validated
    // Then it is refused with a detail
    const parsed = validateAnalyticsBody(body);
    expect(parsed.ok).toBe(false);
  });
});

describe("document notifications", () => {
  it("parseDocumentNotification__payloads__parsedOrNull", () => {
    // Given store.ts payloads and garbage
    // When parsed
    // Then only `<environment id>:<revision>` is accepted
    expect(parseDocumentNotification("12:345")).toEqual({ environmentId: 12, revision: 345 });
    expect(parseDocumentNotification("12")).toBeNull();
    expect(parseDocumentNotification("a:1")).toBeNull();
    expect(parseDocumentNotification(undefined)).toBeNull();
  });
});

