/**
 * Response headers every browser-facing answer carries (admin UI pages, tRPC, `/metrics`), the
 * Content-Security-Policy of pages (a fresh nonce per page: Next.js puts it on its own scripts, the
 * root layout on the theme script), and the answer to a URL whose path is not valid percent-encoded
 * UTF-8. The SDK and flagd endpoints keep their own headers (CORS for browser SDKs). docs/security.md.
 *
 * Pure (no Node APIs): the Next.js proxy (src/proxy.ts) and the web server both use it.
 */

/** Headers of every UI page, tRPC answer and `/metrics`. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
  // frame-ancestors 'none' for browsers that predate it.
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
});

/** CSP of answers that are not pages (tRPC JSON, metrics text): nothing may load or frame them. */
export const NON_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * CSP of an admin UI page. Scripts: this page's nonce (Next.js's scripts and the theme script carry
 * it; 'strict-dynamic' lets them load the app's chunks). Styles: the app's stylesheets and nonce'd
 * style elements; `style` attributes (React's `style={…}`, rendered into the HTML) stay allowed.
 * `dev`: React's development build needs eval (never in production).
 */
export function pageCsp(nonce: string, options: { dev?: boolean } = {}): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${options.dev ? " 'unsafe-eval'" : ""}`,
    `style-src 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${options.dev ? " ws: wss:" : ""}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** The request header that carries a page's nonce from the proxy to the root layout. */
export const NONCE_HEADER = "x-nonce";

/** A fresh nonce: 16 random bytes, base64. */
export function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Whether the path of a request target (`/p/%C0%80?x=1`: the query is not looked at) is valid
 * percent-encoded UTF-8. Next.js answers a path it cannot decode with a plain-text 500, so such
 * paths are answered before it: `badPathResponse`.
 */
export function isDecodablePath(target: string): boolean {
  // The SDK's hot path: no allocation unless the path holds a `%`.
  const percent = target.indexOf("%");
  if (percent < 0) return true;
  const query = target.indexOf("?");
  if (query >= 0 && percent > query) return true;
  const path = query >= 0 ? target.slice(0, query) : target;
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

const BAD_PATH_MESSAGE = "The address is not valid: its path has a malformed percent-encoding.";

const BAD_PATH_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Bad request · Flagpost</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f7f9;color:#1b1f24}main{max-width:28rem;padding:2rem;background:#fff;border:1px solid #d8dde3;border-radius:8px}h1{font-size:1.25rem;margin:0 0 .5rem}a{color:#3451b2}</style>
</head><body><main><h1>Bad request</h1><p>${BAD_PATH_MESSAGE}</p><p><a href="/">Back to Flagpost</a></p></main></body></html>
`;

/**
 * The 400 for a path that is not valid percent-encoded UTF-8, in the error shape of the API it is
 * under: `/api/` the SDK API's (`{"detail": …}`), `/ofrep/` OFREP's (`PARSE_ERROR`) and `/sse/` the
 * streams' (both with CORS open, so that a browser provider can read it), else a small HTML page.
 * No script can run in it.
 */
export function badPathResponse(target: string): { status: 400; headers: Record<string, string>; body: string } {
  const json = { ...SECURITY_HEADERS, "content-type": "application/json", "content-security-policy": NON_PAGE_CSP, "cache-control": "no-store" };
  if (target.startsWith("/api/")) return { status: 400, headers: json, body: JSON.stringify({ detail: BAD_PATH_MESSAGE }) };
  if (target.startsWith("/ofrep/")) {
    return { status: 400, headers: { ...json, "access-control-allow-origin": "*" }, body: JSON.stringify({ errorCode: "PARSE_ERROR", errorDetails: BAD_PATH_MESSAGE }) };
  }
  if (target.startsWith("/sse/")) return { status: 400, headers: { ...json, "access-control-allow-origin": "*" }, body: JSON.stringify({ detail: BAD_PATH_MESSAGE }) };
  return {
    status: 400,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      "cache-control": "no-store",
    },
    body: BAD_PATH_PAGE,
  };
}
