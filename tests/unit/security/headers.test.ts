/** Security headers, page CSP, malformed paths and the metrics token (http/security.ts, observability/metrics-server.ts). */
import { describe, expect, it } from "vitest";
import { badPathResponse, isDecodablePath, newNonce, pageCsp, SECURITY_HEADERS } from "@/server/http/security";
import { metricsAuthorized } from "@/server/observability/metrics-server";

describe("page CSP", () => {
  it("pageCsp__nonce__scriptsOnlyByNonceFramingRefused", () => {
    // Given a fresh nonce
    const nonce = newNonce();

    // When the production and development policies are built
    const production = pageCsp(nonce);
    const development = pageCsp(nonce, { dev: true });

    // Then scripts need the nonce, nothing may frame the page, and eval is allowed only in development
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(production).toContain(`script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`);
    expect(production).toContain("frame-ancestors 'none'");
    expect(production).toContain("object-src 'none'");
    expect(production).not.toContain("unsafe-eval");
    expect(production).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(development).toContain("'unsafe-eval'");
    expect(newNonce()).not.toBe(nonce);
    expect(SECURITY_HEADERS).toMatchObject({ "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" });
  });
});

describe("malformed paths", () => {
  it("isDecodablePath__invalidPercentEncodedUtf8__refusedQueryIgnored", () => {
    // Given paths with overlong, truncated and lone-surrogate encodings, and valid ones
    // When checked
    // Then only valid UTF-8 percent-encoding passes (the query string is not looked at)
    for (const bad of ["/p/%C0%80", "/api/v1/flags/%C0%80/", "/api/trpc/%C0%80", "/p/%E0%A4%A", "/x/%ED%A0%80", "/%", "/%zz"]) expect(isDecodablePath(bad), bad).toBe(false);
    for (const good of ["/", "/p/1", "/p/%E4%B8%AD", "/api/v1/flags/a%20b/", "/login?next=%C0%80"]) expect(isDecodablePath(good), good).toBe(true);
  });

  it("badPathResponse__apiOrPage__jsonDetailOrHtmlPageWithHeaders", () => {
    // Given a malformed API path and a malformed page path
    // When answered
    const api = badPathResponse("/api/v1/flags/%C0%80/");
    const page = badPathResponse("/p/%C0%80");

    // Then both are 400s with the security headers: JSON for the API, a script-free HTML page otherwise
    expect(api.status).toBe(400);
    expect(JSON.parse(api.body)).toEqual({ detail: expect.stringContaining("not valid") });
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.body).toContain("<h1>Bad request</h1>");
    expect(page.body).not.toContain("<script");
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("badPathResponse__ofrepOrStreamPath__theirErrorShapeWithCorsOpen", () => {
    // Given malformed OFREP and event-stream paths (read by browser providers)
    const ofrep = badPathResponse("/ofrep/v1/evaluate/flags/%C0%80");
    const stream = badPathResponse("/sse/environments/%C0%80/stream");

    // Then JSON a browser can read: OFREP's PARSE_ERROR, and the streams' {detail}
    expect([ofrep.status, stream.status]).toEqual([400, 400]);
    expect(JSON.parse(ofrep.body)).toEqual({ errorCode: "PARSE_ERROR", errorDetails: expect.stringContaining("not valid") });
    expect(JSON.parse(stream.body)).toEqual({ detail: expect.stringContaining("not valid") });
    for (const answer of [ofrep, stream]) {
      expect(answer.headers["content-type"]).toBe("application/json");
      expect(answer.headers["access-control-allow-origin"]).toBe("*");
    }
  });
});

describe("metrics token", () => {
  it("metricsAuthorized__bearerToken__onlyTheConfiguredOne", () => {
    // Given a configured token, and none
    // When requests carry various Authorization headers
    // Then only the exact bearer token passes; without a configured token everything does
    expect(metricsAuthorized("Bearer s3cret-token", "s3cret-token")).toBe(true);
    expect(metricsAuthorized("bearer s3cret-token", "s3cret-token")).toBe(true);
    expect(metricsAuthorized("Bearer s3cret-tokenX", "s3cret-token")).toBe(false);
    expect(metricsAuthorized("s3cret-token", "s3cret-token")).toBe(false);
    expect(metricsAuthorized(null, "s3cret-token")).toBe(false);
    expect(metricsAuthorized(null, undefined)).toBe(true);
  });
});
