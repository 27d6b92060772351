import { trace } from "@opentelemetry/api";
import { afterEach, describe, expect, it } from "vitest";
import { apiJson, NOT_A_ROUTE, type ApiResponse } from "@/server/http/api";
import { route } from "@/server/http/route";
import { bindContext, contextBindings } from "@/server/observability/context";
import { httpRequestDuration } from "@/server/observability/http-metrics";
import { setLogDestination } from "@/server/observability/logger";

function collect(): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  setLogDestination({ write: (line: string) => lines.push(JSON.parse(line)) });
  return lines;
}

afterEach(() => setLogDestination({ write: () => undefined }));

const request = (path: string, headers: Record<string, string> = {}) => new Request(`http://x${path}`, { headers });

async function observations(template: string, status: string): Promise<number> {
  const metric = await httpRequestDuration.get();
  return metric.values.find((v) => v.metricName?.endsWith("_count") && v.labels.route === template && v.labels.status === status)?.value ?? 0;
}

describe("route (direct path)", () => {
  it("serve__synchronousHandler__answersWithoutPromiseInsideContextAndSpan", async () => {
    // Given a handler that answers synchronously and reports what it sees
    let seen: { bindings: unknown; traceId?: string } | undefined;
    const sync = route("/unit/sync", (): ApiResponse => {
      bindContext({ "environment.id": 5 });
      seen = { bindings: { ...contextBindings() }, traceId: trace.getActiveSpan()?.spanContext().traceId };
      return apiJson(200, { ok: true });
    });
    const before = await observations("/unit/sync", "200");

    // When it is served with an incoming traceparent
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const response = sync.serve(request("/unit/sync", { traceparent: `00-${traceId}-00f067aa0ba902b7-01` }), {});

    // Then the answer is not a promise, the handler ran in a fresh request context inside a span of
    // the incoming trace, the bindings ended with it, and the duration was observed
    expect(response).not.toBeInstanceOf(Promise);
    expect((response as ApiResponse).status).toBe(200);
    expect(seen).toEqual({ bindings: { "environment.id": 5 }, traceId });
    expect(contextBindings()).toEqual({});
    expect(await observations("/unit/sync", "200")).toBe(before + 1);
  });

  it("serve__synchronousHandlerThrows__json500LoggedWithBindings", async () => {
    // Given a synchronous handler that throws after binding
    const lines = collect();
    const failing = route("/unit/throws", (): ApiResponse => {
      bindContext({ "project.id": 3 });
      throw new Error("boom");
    });

    // When it is served
    const response = failing.serve(request("/unit/throws"), {}) as ApiResponse;

    // Then the client gets a JSON 500, the failure is logged with the bound id, nothing stays bound
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body as string)).toEqual({ detail: "Internal server error" });
    const failure = lines.find((l) => l.event === "request.failed");
    expect(failure).toMatchObject({ "project.id": 3, "http.route": "/unit/throws" });
    expect(contextBindings()).toEqual({});
    expect(await observations("/unit/throws", "500")).toBe(1);
  });

  it("serve__asynchronousHandler__contextSurvivesAwaitAndSpanIsNotRecordedWithoutExporter", async () => {
    // Given an async handler that binds, awaits, then reads its context and span
    const asyncRoute = route("/unit/async", async () => {
      bindContext({ "organisation.id": 8 });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const span = trace.getActiveSpan();
      return apiJson(200, { bindings: contextBindings(), recording: span?.isRecording(), spanId: span?.spanContext().spanId });
    });

    // When it is served (no OTLP endpoint configured in unit tests)
    const response = asyncRoute.serve(request("/unit/async"), {});

    // Then it answers later with its own bindings, and a span with real ids that records nothing
    expect(response).toBeInstanceOf(Promise);
    const body = JSON.parse((await response).body as string);
    expect(body.bindings).toEqual({ "organisation.id": 8 });
    expect(body.recording).toBe(false);
    expect(body.spanId).toMatch(/^(?!0{16})[0-9a-f]{16}$/);
  });
});

describe("route (switched-off endpoint)", () => {
  it("notARoute__servedDirectlyOrThroughNext__markedForTheWebServerAndABare404InsideNext", async () => {
    // Given a handler whose capability is switched off (a closed gate)
    const off = route("/unit/off", () => NOT_A_ROUTE);

    // When it is served on the direct path and as a Next route handler
    const direct = off.serve(request("/unit/off"), {});
    const throughNext = await off(request("/unit/off"), { params: Promise.resolve({}) });

    // Then the direct path gets the marker (the web server hands the request to Next as an unknown path),
    // and Next's own routing a 404 without a body
    expect(direct).toMatchObject({ status: 404, unrouted: true, body: null });
    expect(throughNext.status).toBe(404);
    expect(await throughNext.text()).toBe("");
  });
});
