import { describe, expect, it } from "vitest";
import { isLoopbackHost } from "@/server/api/flagd-sync-server";

describe("isLoopbackHost", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.0.0.2", true],
    ["localhost", true],
    ["::1", true],
    ["[::1]", true],
    ["0:0:0:0:0:0:0:1", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.5", false],
    ["192.168.1.20", false],
    ["flagpost.internal", false],
  ])("isLoopbackHost__%s__%s", (host, expected) => {
    // Given an address gRPC sync may be bound to (FLAGD_SYNC_HOST)
    // When it is classified
    // Then only loopback addresses count as unreachable from other machines
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
