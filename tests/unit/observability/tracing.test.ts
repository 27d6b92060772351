import { context, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";
import { describe, expect, it } from "vitest";
import { currentTraceparent, incomingContext, inSpan, withSpan } from "@/server/observability/tracing";

// These tests run with no span processor and no OTLP endpoint: spans are not recorded, but they get
// real ids, continue an incoming trace and propagate `traceparent` (unsampled) into jobs.
const headersOf = (values: Record<string, string>) => ({ get: (name: string) => values[name] ?? null });
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/;

describe("tracing without a span processor", () => {
  it("inSpan__noIncomingTrace__rootSpanWithFreshNonZeroIdsPropagatedUnsampled", () => {
    // Given a request without traceparent
    const parent = incomingContext(headersOf({}));

    // When a server span runs
    const seen = inSpan("GET /x", { parent }, (span) => ({ span, traceparent: currentTraceparent() }));

    // Then it is not recorded, its ids are stable, valid and not zero, and jobs get them unsampled
    expect(seen.span.isRecording()).toBe(false);
    const ids = seen.span.spanContext();
    expect(seen.span.spanContext()).toBe(ids);
    expect(trace.isSpanContextValid(ids)).toBe(true);
    expect(seen.traceparent).toBe(`00-${ids.traceId}-${ids.spanId}-00`);
  });

  it("inSpan__incomingTraceparent__continuesTheTraceWithANewSpanId", () => {
    // Given a request carrying a sampled traceparent and a trace state
    const incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const parent = incomingContext(headersOf({ traceparent: incoming, tracestate: "vendor=1" }));

    // When a server span runs
    const traceparent = inSpan("GET /x", { parent }, () => currentTraceparent());

    // Then the trace continues with a new span id, unsampled as nothing records it
    const [, traceId, spanId] = TRACEPARENT.exec(traceparent ?? "") ?? [];
    expect(traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spanId).not.toBe("b7ad6b7169203331");
    const state = inSpan("GET /x", { parent }, (span) => span.spanContext().traceState?.serialize());
    expect(state).toBe("vendor=1");
  });

  it("withSpan__nestedSpans__childSharesTraceIdAndLogsSeeTheInnermostSpan", async () => {
    // Given an outer span
    const ids = await withSpan("outer", async (outer) => {
      // When a child span starts inside it
      const inner = await withSpan("inner", async (span) => ({ span: span.spanContext(), active: trace.getSpan(context.active())?.spanContext() }));
      return { outer: outer.spanContext(), inner };
    });

    // Then the child continues the outer trace with its own span id, and is the active span inside
    expect(ids.inner.span.traceId).toBe(ids.outer.traceId);
    expect(ids.inner.span.spanId).not.toBe(ids.outer.spanId);
    expect(ids.inner.active).toEqual(ids.inner.span);
  });

  it("spans__manyRoots__distinctIds", () => {
    // Given many root spans (ids come from a pool of random bytes refilled as it runs out)
    const traceIds = new Set<string>();
    const spanIds = new Set<string>();

    // When each draws its ids
    for (let i = 0; i < 1000; i++) {
      const { traceId, spanId } = inSpan("root", { parent: ROOT_CONTEXT }, (span) => span.spanContext());
      traceIds.add(traceId);
      spanIds.add(spanId);
    }

    // Then no two are alike
    expect(traceIds.size).toBe(1000);
    expect(spanIds.size).toBe(1000);
  });

  it("inSpan__tracingSuppressed__invalidSpanContextAndNoTraceparent", () => {
    // Given a context where tracing is suppressed
    const parent = suppressTracing(ROOT_CONTEXT);

    // When a span starts
    const seen = inSpan("x", { parent }, (span) => ({ valid: trace.isSpanContextValid(span.spanContext()), traceparent: currentTraceparent() }));

    // Then it has no valid ids and nothing propagates
    expect(seen).toEqual({ valid: false, traceparent: undefined });
  });
});
