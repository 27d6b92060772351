/**
 * Next.js proxy (formerly middleware): security headers on every page Next.js answers (and on
 * `/metrics` when it is served on the public port), with a fresh Content-Security-Policy nonce per
 * page. Next.js reads the nonce from the request's `content-security-policy` header and puts it on
 * its own scripts; the root layout reads `x-nonce` for the theme script.
 *
 * `/api/*` is not matched: the SDK and flagd API keep the headers SDKs need (CORS), and tRPC sets its
 * own (api/trpc-handler.ts) — a matched request's body would be buffered by Next.js for the proxy
 * before tRPC's own size limit could refuse it.
 *
 * A path that is not valid percent-encoded UTF-8 gets a 400 here too (under `next dev`; the
 * production web server refuses it on every path before Next.js).
 */
import { NextResponse, type NextRequest } from "next/server";
import { badPathResponse, isDecodablePath, newNonce, NON_PAGE_CSP, NONCE_HEADER, pageCsp, SECURITY_HEADERS } from "@/server/http/security";

function isPage(pathname: string): boolean {
  return pathname !== "/metrics";
}

export function proxy(request: NextRequest): NextResponse {
  const url = new URL(request.url);
  if (!isDecodablePath(url.pathname)) {
    const answer = badPathResponse(url.pathname);
    return new NextResponse(answer.body, { status: answer.status, headers: answer.headers });
  }
  if (!isPage(url.pathname)) {
    const response = NextResponse.next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
    response.headers.set("content-security-policy", NON_PAGE_CSP);
    return response;
  }
  const nonce = newNonce();
  const csp = pageCsp(nonce, { dev: process.env.NODE_ENV === "development" });
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set(NONCE_HEADER, nonce);
  requestHeaders.set("content-security-policy", csp);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
  response.headers.set("content-security-policy", csp);
  return response;
}

export const config = {
  // Everything Next.js answers except build assets (immutable files, no HTML) and `/api/*`.
  matcher: ["/((?!_next/static/|_next/image|api/).*)"],
};
