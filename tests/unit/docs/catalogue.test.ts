import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { registry } from "@/server/observability/metrics";
import { definedMetrics, documentedNames, emittedEvents, ROOT } from "./catalogue";

describe("docs/events.md", () => {
  it("eventsCatalogue__everyEmittedEvent__isDocumented", () => {
    // Given every event the code emits
    const emitted = emittedEvents();
    expect(emitted.size).toBeGreaterThan(10);

    // When compared with the catalogue's headings
    const documented = documentedNames("events.md");
    const missing = [...emitted.keys()].filter((name) => !documented.has(name));

    // Then none is missing
    expect(missing, `add these to docs/events.md: ${missing.map((m) => `${m} (${emitted.get(m)})`).join(", ")}`).toEqual([]);
  });

  it("eventsCatalogue__documentedEvents__allStillEmitted", () => {
    // Given the catalogue
    const documented = documentedNames("events.md");

    // When compared with the code
    const emitted = emittedEvents();
    const stale = [...documented].filter((name) => !emitted.has(name));

    // Then it lists nothing the code no longer emits
    expect(stale).toEqual([]);
  });

  it("eventsCatalogue__opening__describesCommonAttributes", () => {
    // Given the catalogue text
    const text = fs.readFileSync(path.join(ROOT, "docs", "events.md"), "utf8");

    // Then it opens with the common attributes bound from request context
    const common = text.slice(0, text.indexOf("\n## ", text.indexOf("## Common attributes") + 5));
    expect(text.indexOf("## Common attributes")).toBeLessThan(text.indexOf("\n## ", 0) + 2);
    for (const attribute of ["user.id", "organisation.id", "project.id", "environment.id", "trace_id", "span_id"]) {
      expect(common).toContain(`\`${attribute}\``);
    }
  });
});

describe("docs/metrics.md", () => {
  it("metricsCatalogue__everyDefinedMetric__isDocumented", () => {
    // Given every metric defined in src/
    const defined = definedMetrics();
    expect(defined.size).toBeGreaterThan(2);

    // When compared with the catalogue
    const documented = documentedNames("metrics.md");
    const missing = [...defined].filter((name) => !documented.has(name));

    // Then none is missing, and the catalogue lists nothing undefined
    expect(missing).toEqual([]);
    expect([...documented].filter((name) => !defined.has(name))).toEqual([]);
  });

  it("metricsCatalogue__registeredAtRunTime__documentedOrDefaultProcessMetrics", async () => {
    // Given the web process's metrics modules loaded into the one registry
    await import("@/server/api/metrics");
    const documented = documentedNames("metrics.md");

    // When listing what the registry holds
    const registered = (await registry().getMetricsAsJSON()).map((m) => m.name);

    // Then every Flagpost metric is documented (default process_/nodejs_ metrics are covered as a group)
    const undocumented = registered.filter((name) => !/^(process|nodejs)_/.test(name) && !documented.has(name));
    expect(registered).toContain("flagsmith_http_request_duration_seconds");
    expect(undocumented).toEqual([]);
  });
});
