import { describe, expect, it } from "vitest";
import { addressSubject, CLIENT_ADDRESS_HEADER, clientAddressHeader, clientAddressOf, trustedClientAddress } from "@/server/http/client-address";

const request = (remoteAddress: string | undefined, forwardedFor?: string | string[]) => ({
  socket: { remoteAddress } as never,
  headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor },
});

describe("client address", () => {
  it("clientAddressOf__noTrustedProxy__socketPeerEvenWithForwardedFor", () => {
    // Given requests straight from clients, one claiming another address
    // When read with no trusted proxy
    // Then the socket's peer counts (IPv4-mapped IPv6 as IPv4), never the claim
    expect(clientAddressOf(request("::ffff:198.51.100.7", "203.0.113.1"), 0)).toBe("198.51.100.7");
    expect(clientAddressOf(request("2001:db8::1"), 0)).toBe("2001:db8::1");
  });

  it("clientAddressOf__trustedProxyHops__entryTheOutermostProxySaw", () => {
    // Given a chain client → proxy A → proxy B → Flagpost, where the client forged a first entry
    const chain = request("10.0.0.2", ["198.51.100.99, 203.0.113.5", "10.0.0.1"]);

    // When one or two proxies are trusted
    // Then the address is read that many entries from the right (the forged one is never reached)
    expect(clientAddressOf(chain, 1)).toBe("10.0.0.1");
    expect(clientAddressOf(chain, 2)).toBe("203.0.113.5");
    // …and a missing or malformed entry falls back to the socket's peer
    expect(clientAddressOf(chain, 4)).toBe("10.0.0.2");
    expect(clientAddressOf(request("10.0.0.2", "not-an-ip"), 1)).toBe("10.0.0.2");
  });

  it("trustedClientAddress__onlyThisProcessesStamp__forgedOrMalformedIgnored", () => {
    // Given the stamp this process makes, and what a client could send
    const headers = (value: string) => new Headers({ [CLIENT_ADDRESS_HEADER]: value });

    // When read back
    // Then only the stamped address is trusted
    expect(trustedClientAddress(headers(clientAddressHeader("198.51.100.7")))).toBe("198.51.100.7");
    expect(trustedClientAddress(headers("198.51.100.7"))).toBeUndefined();
    expect(trustedClientAddress(headers(`${"0".repeat(32)} 198.51.100.7`))).toBeUndefined();
    expect(trustedClientAddress(headers(clientAddressHeader("not-an-address")))).toBeUndefined();
    expect(trustedClientAddress(new Headers())).toBeUndefined();
  });

  it("addressSubject__ipv6__countedPerSlash64IPv4AsIs", () => {
    // Given addresses of one IPv6 host (which may use any address in its /64) and of IPv4 hosts
    // When reduced to what is counted
    // Then IPv6 addresses in one /64 are one subject, written out however they were abbreviated
    expect(addressSubject("2001:db8:0:1::1")).toBe("2001:db8:0:1::/64");
    expect(addressSubject("2001:0db8:0000:0001:ffff:0:0:9")).toBe("2001:db8:0:1::/64");
    expect(addressSubject("2001:db8::5")).toBe("2001:db8:0:0::/64");
    expect(addressSubject("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressSubject("::1")).toBe("0:0:0:0::/64");
    expect(addressSubject("198.51.100.7")).toBe("198.51.100.7");
  });
});
