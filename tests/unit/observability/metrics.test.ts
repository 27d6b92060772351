import client from "prom-client";
import { describe, expect, it, vi } from "vitest";
import { boundCounter, boundHistogram } from "@/server/observability/metrics";

const BUCKETS = [0.001, 0.01, 0.1, 1];

/** Two metrics of the same kind on their own registries: one fed through bound children, one through the public API. */
function pair<T>(make: (registry: client.Registry, name: string) => T): { bound: T; plain: T; text(): Promise<[string, string]> } {
  const a = new client.Registry();
  const b = new client.Registry();
  const bound = make(a, "m");
  const plain = make(b, "m");
  return { bound, plain, text: async () => [await a.metrics(), await b.metrics()] };
}

describe("bound metric children", () => {
  it("boundHistogram__observations__sameExpositionAsThePublicApi", async () => {
    // Given a histogram fed through bound children and one fed through observe()
    const { bound, plain, text } = pair((registry, name) => new client.Histogram({ name, help: "h", labelNames: ["route", "status"], buckets: BUCKETS, registers: [registry] }));
    const ok = boundHistogram(bound, { route: "/a", status: "200" });
    const missing = boundHistogram(bound, { route: "/a", status: "404" });

    // When both see the same observations, including exact bucket bounds and values past the last bucket
    const values = [0.0005, 0.001, 0.004, 0.01, 0.05, 0.5, 1, 3, 0];
    for (const value of values) {
      ok.observe(value);
      plain.observe({ route: "/a", status: "200" }, value);
    }
    missing.observe(0.02);
    plain.observe({ route: "/a", status: "404" }, 0.02);

    // Then the exposition is the same
    const [boundText, plainText] = await text();
    expect(boundText).toBe(plainText);
    expect(boundText).toContain('m_bucket{le="0.01",route="/a",status="200"} 5');
    expect(boundText).toContain('m_count{route="/a",status="200"} 9');
  });

  it("boundHistogram__afterReset__countsAgainFromZero", async () => {
    // Given a bound histogram child that has observed
    const { bound, plain, text } = pair((registry, name) => new client.Histogram({ name, help: "h", labelNames: ["route"], buckets: BUCKETS, registers: [registry] }));
    const child = boundHistogram(bound, { route: "/a" });
    child.observe(0.5);
    child.observe(0.5);

    // When the metric is reset and observes again
    bound.reset();
    child.observe(0.05);
    plain.observe({ route: "/a" }, 0.05);

    // Then only the new observation counts
    const [boundText, plainText] = await text();
    expect(boundText).toBe(plainText);
    expect(boundText).toContain('m_count{route="/a"} 1');
  });

  it("boundCounter__sharedSeries__addsToWhatThePublicApiCounted", async () => {
    // Given a counter series already counted through inc()
    const { bound, plain, text } = pair((registry, name) => new client.Counter({ name, help: "c", labelNames: ["result"], registers: [registry] }));
    bound.inc({ result: "hit" }, 2);
    plain.inc({ result: "hit" }, 2);
    const hits = boundCounter(bound, { result: "hit" });

    // When a bound child counts on the same series, and inc() counts again, also after a reset
    for (let i = 0; i < 5; i++) hits.inc();
    bound.inc({ result: "hit" });
    for (let i = 0; i < 6; i++) plain.inc({ result: "hit" });
    const [before] = await text();
    bound.reset();
    hits.inc();

    // Then every increment is counted once, on one series
    expect(before).toBe((await text())[1]);
    expect(before).toContain('m{result="hit"} 8');
    expect((await text())[0]).toContain('m{result="hit"} 1');
  });

  it("boundChildren__afterFirstUse__skipThePublicApi", () => {
    // Given bound children of a counter and a histogram, used once
    const registry = new client.Registry();
    const counter = new client.Counter({ name: "c", help: "c", labelNames: ["result"], registers: [registry] });
    const histogram = new client.Histogram({ name: "h", help: "h", labelNames: ["route"], buckets: BUCKETS, registers: [registry] });
    const hits = boundCounter(counter, { result: "hit" });
    const durations = boundHistogram(histogram, { route: "/a" });
    hits.inc();
    durations.observe(0.1);

    // When they are used again
    const inc = vi.spyOn(counter, "inc");
    const observe = vi.spyOn(histogram, "observe");
    hits.inc();
    durations.observe(0.2);

    // Then they update their series directly, without hashing labels through inc/observe
    expect(inc).not.toHaveBeenCalled();
    expect(observe).not.toHaveBeenCalled();
  });
});
