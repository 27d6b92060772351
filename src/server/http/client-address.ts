/**
 * The network address a request came from, for per-address sign-in throttling.
 *
 * The web server (web-server.ts) works it out from the socket, or from `X-Forwarded-For` when
 * `TRUST_PROXY_HOPS` says how many proxies of ours stand in front, and hands it to Next.js handlers
 * in a header stamped with a secret of this process. A client can send that header too, but
 * without the secret it is ignored, so the address cannot be forged from outside.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { settings } from "@/server/config";
import { processSlot } from "@/server/singleton";

export const CLIENT_ADDRESS_HEADER = "x-flagpost-client-address";

// One secret per process, also when a bundler loads this module twice (Next.js and the web server).
const tokenSlot = processSlot<string>("clientAddressToken");
const token = (): string => tokenSlot.getOrCreate(() => randomBytes(16).toString("hex"));

/**
 * The client's address: the socket's peer, or with `hops` > 0 the address the outermost of our
 * proxies saw (the `hops`-th `X-Forwarded-For` entry from the right). IPv4-mapped IPv6 addresses
 * are given as IPv4.
 */
export function clientAddressOf(request: Pick<IncomingMessage, "headers" | "socket">, hops = settings().trustProxyHops): string | undefined {
  let address = request.socket.remoteAddress;
  if (hops > 0) {
    const header = request.headers["x-forwarded-for"];
    const entries = (Array.isArray(header) ? header.join(",") : (header ?? ""))
      .split(",")
      .map((entry) => entry.trim())
      .filter((entry) => entry.length > 0);
    const forwarded = entries[entries.length - hops];
    if (forwarded && isIP(forwarded)) address = forwarded;
  }
  return address?.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** The header value that carries `address` into this process's Next.js handlers. */
export function clientAddressHeader(address: string): string {
  return `${token()} ${address}`;
}

/** Replaces any client-sent address header of `request` with the address this process saw. */
export function stampClientAddress(request: IncomingMessage): void {
  const address = clientAddressOf(request);
  if (address) request.headers[CLIENT_ADDRESS_HEADER] = clientAddressHeader(address);
  else delete request.headers[CLIENT_ADDRESS_HEADER];
}

/** The address stamped by this process, or undefined (no stamp, or one this process did not make). */
export function trustedClientAddress(headers: { get(name: string): string | null }): string | undefined {
  const value = headers.get(CLIENT_ADDRESS_HEADER);
  if (!value) return undefined;
  const space = value.indexOf(" ");
  if (space <= 0) return undefined;
  const given = Buffer.from(value.slice(0, space));
  const expected = Buffer.from(token());
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const address = value.slice(space + 1).trim();
  return isIP(address) ? address : undefined;
}

/**
 * What one client is, for counting: an IPv4 address, or an IPv6 /64 (one host usually holds a
 * whole /64 and can change addresses within it at will).
 */
export function addressSubject(address: string): string {
  if (isIP(address) !== 6) return address;
  const plain = address.split("%")[0].toLowerCase();
  const [head, tail] = plain.split("::");
  const headGroups = head ? head.split(":") : [];
  const groups =
    tail === undefined ? headGroups : [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - (tail ? tail.split(":").length : 0))).fill("0"), ...(tail ? tail.split(":") : [])];
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(":")}::/64`;
}
