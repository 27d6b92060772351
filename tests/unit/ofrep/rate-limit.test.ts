import { describe, expect, it } from "vitest";
import { RateLimiter } from "@/server/ofrep/rate-limit";

describe("RateLimiter", () => {
  it("take__beyondOneSecondOfRequests__waitUntilATokenIsBack", () => {
    // Given 2 requests per second, at a fixed time
    const clock = { now: 1_000_000 };
    const limiter = new RateLimiter(2, 100, () => clock.now);

    // When one client asks three times at once, then half a second later
    const burst = [limiter.take("a"), limiter.take("a"), limiter.take("a")];
    clock.now += 500;
    const later = limiter.take("a");

    // Then the third waits (1 s), and a token is back after half a second; other clients are not affected
    expect(burst).toEqual([0, 0, 1]);
    expect(later).toBe(0);
    expect(limiter.take("b")).toBe(0);
  });

  it("take__limitOff__alwaysAllowed", () => {
    // Given no limit
    const limiter = new RateLimiter(0);

    // Then nothing is refused
    expect(limiter.enabled).toBe(false);
    expect(Array.from({ length: 1000 }, () => limiter.take("a")).every((wait) => wait === 0)).toBe(true);
  });

  it("take__moreClientsThanTracked__oldestForgotten", () => {
    // Given a limiter tracking 2 clients, 1 request per second
    const limiter = new RateLimiter(1, 2, () => 0);
    limiter.take("a");
    limiter.take("b");

    // When a third client comes, then the first again
    limiter.take("c");

    // Then the first was forgotten (a full bucket again), the most recent ones are still limited
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("c")).toBe(1);
  });
});
