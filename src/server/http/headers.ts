import { settings } from "@/server/config";

/** The configured PROPAGATED_HEADERS present on a request (lower-case names). */
export function capturePropagatedHeaders(headers: { get(name: string): string | null }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of settings().propagatedHeaders) {
    const value = headers.get(name);
    if (value !== null && value.length <= 1024) out[name] = value;
  }
  return out;
}

/**
 * Cross-site request check for cookie-authenticated browser requests: a browser sends
 * `Sec-Fetch-Site` and/or `Origin` on every POST; both must say same origin. Requests without
 * either (scripts, curl) carry no ambient browser credentials worth forging.
 */
export function isCrossSite(headers: Headers): boolean {
  const fetchSite = headers.get("sec-fetch-site");
  if (fetchSite && fetchSite !== "same-origin" && fetchSite !== "none") return true;
  const origin = headers.get("origin");
  if (origin) {
    const host = headers.get("x-forwarded-host") ?? headers.get("host");
    try {
      return new URL(origin).host !== host;
    } catch {
      return true;
    }
  }
  return false;
}
