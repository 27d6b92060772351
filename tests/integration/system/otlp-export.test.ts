import http from "node:http";
import { describe, expect, it } from "vitest";
import { startWorkerProcess, stopProcess } from "../../support/system";

describe("trace export", () => {
  it("worker__otlpEndpointSet__exportsJobSpansOverOtlpHttp", { timeout: 60_000 }, async () => {
    // Given a local OTLP/HTTP collector recording what it receives
    const received: { path: string; body: string }[] = [];
    const collector = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ path: req.url ?? "", body: Buffer.concat(chunks).toString("utf8") });
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{}");
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", () => resolve()));
    const port = (collector.address() as { port: number }).port;

    try {
      // When a worker configured with OTEL_EXPORTER_OTLP_ENDPOINT runs its start-up job and shuts down
      const worker = await startWorkerProcess(process.env.DATABASE_URL!, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: "flagpost-test" });
      const deadline = Date.now() + 15_000;
      while (!worker.logs.some((l) => l.includes('"event":"job.completed"')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await stopProcess(worker.child);

      // Then the collector received the job's span on /v1/traces, with the service name
      const traces = received.filter((r) => r.path === "/v1/traces");
      expect(traces.length).toBeGreaterThan(0);
      const body = traces.map((t) => t.body).join("\n");
      expect(body).toContain("job sessions_cleanup");
      expect(body).toContain("flagpost-test");
    } finally {
      collector.close();
    }
  });

  it("worker__noOtlpEndpoint__runsJobsWithoutExporting", { timeout: 60_000 }, async () => {
    // Given no collector configured
    const worker = await startWorkerProcess(process.env.DATABASE_URL!, { OTEL_EXPORTER_OTLP_ENDPOINT: "" });
    try {
      // When it runs its start-up job
      const deadline = Date.now() + 15_000;
      while (!worker.logs.some((l) => l.includes('"event":"job.completed"')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

      // Then the job completed with trace ids on its log line and no export error
      const line = worker.logs.find((l) => l.includes('"event":"job.completed"'));
      expect(line).toMatch(/"trace_id":"[0-9a-f]{32}"/);
      expect(worker.logs.some((l) => /otlp|export/i.test(l) && /error/i.test(l))).toBe(false);
    } finally {
      await stopProcess(worker.child);
    }
  });
});
