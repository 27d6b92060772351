import { describe, expect, it } from "vitest";
import { apiRoutes, matchApiRoute } from "@/server/api/routes";

describe("matchApiRoute", () => {
  it("matchApiRoute__sdkPathsWithOrWithoutTrailingSlashAndQuery__sameRoute", () => {
    // Given the SDK paths as SDKs call them
    // When matched with and without the trailing slash, with a query
    const withSlash = matchApiRoute("GET", "/api/v1/flags/?feature=x");
    const without = matchApiRoute("GET", "/api/v1/flags");

    // Then both reach the flags route
    expect(withSlash?.route).toBe(apiRoutes.flags.GET);
    expect(without?.route).toBe(apiRoutes.flags.GET);
    expect(matchApiRoute("POST", "/api/v1/identities/")?.route).toBe(apiRoutes.identities.POST);
    expect(matchApiRoute("GET", "/api/v1/flagd/flags.json")?.route).toBe(apiRoutes.flagdFlags.GET);
    expect(matchApiRoute("OPTIONS", "/api/v1/environment-document/")?.route).toBe(apiRoutes.environmentDocument.OPTIONS);
  });

  it("matchApiRoute__deprecatedIdentityPath__decodedIdentifierParam", () => {
    // Given the deprecated identity flags path with an encoded identifier
    // When matched
    const match = matchApiRoute("GET", "/api/v1/flags/user%40example.com/");

    // Then the identifier is decoded, and a malformed encoding is not matched (the web server answers it 400 first)
    expect(match?.params).toEqual({ identifier: "user@example.com" });
    expect(matchApiRoute("GET", "/api/v1/flags/%E0%A4%A/")).toBeNull();
  });

  it("matchApiRoute__otherPathsOrMethods__nullSoNextHandlesThem", () => {
    // Given paths and methods the public API does not serve
    // Then they are left to Next (pages, tRPC, /metrics, 405s)
    expect(matchApiRoute("GET", "/")).toBeNull();
    expect(matchApiRoute("POST", "/api/trpc/features.list")).toBeNull();
    expect(matchApiRoute("GET", "/metrics")).toBeNull();
    expect(matchApiRoute("DELETE", "/api/v1/flags/")).toBeNull();
    expect(matchApiRoute("GET", "/api/v1/identities/extra/segments")).toBeNull();
  });

  it("matchApiRoute__ofrepPaths__evaluationRoutesWithDecodedFlagKey", () => {
    // Given OFREP's evaluation paths as the providers call them (flag keys URL-encoded)
    // When matched
    const bulk = matchApiRoute("POST", "/ofrep/v1/evaluate/flags?flagConfigEtag=%227%22");
    const single = matchApiRoute("POST", "/ofrep/v1/evaluate/flags/new%20checkout");

    // Then bulk and single evaluation are reached, the key decoded; preflights too; GET is left to Next
    expect(bulk?.route).toBe(apiRoutes.ofrepFlags.POST);
    expect(single?.route).toBe(apiRoutes.ofrepFlag.POST);
    expect(single?.params).toEqual({ key: "new checkout" });
    expect(matchApiRoute("OPTIONS", "/ofrep/v1/evaluate/flags/x")?.route).toBe(apiRoutes.ofrepFlag.OPTIONS);
    expect(matchApiRoute("OPTIONS", "/ofrep/v1/evaluate/flags")?.route).toBe(apiRoutes.ofrepFlags.OPTIONS);
    expect(matchApiRoute("GET", "/ofrep/v1/evaluate/flags")).toBeNull();
    expect(matchApiRoute("POST", "/ofrep/v1/evaluate/flags/a/b")).toBeNull();
  });

  it("matchApiRoute__streamPaths__flagsmithAndOfrepStreamsWithTheKey", () => {
    // Given the event-stream paths (the key in the path, as EventSource cannot send headers)
    // When matched
    const flagsmith = matchApiRoute("GET", "/sse/environments/abc123/stream");
    const ofrep = matchApiRoute("GET", "/sse/environments/abc123/ofrep/");

    // Then each wire has its route, with the key; other methods and shapes are not matched
    expect(flagsmith?.route).toBe(apiRoutes.flagsmithStream.GET);
    expect(flagsmith?.params).toEqual({ key: "abc123" });
    expect(ofrep?.route).toBe(apiRoutes.ofrepStream.GET);
    expect(matchApiRoute("POST", "/sse/environments/abc123/stream")).toBeNull();
    expect(matchApiRoute("GET", "/sse/environments/abc123/other")).toBeNull();
    expect(matchApiRoute("GET", "/sse/environments/%E0%A4%A/stream")).toBeNull();
  });
});
