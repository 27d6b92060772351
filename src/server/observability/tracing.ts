/**
 * OpenTelemetry tracing. A tracer provider is always installed (spans get real ids, `trace_id` /
 * `span_id` appear on log lines, `traceparent` propagates into jobs); spans are recorded and
 * exported only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (or a test adds a processor).
 */
import { randomFillSync } from "node:crypto";
import {
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Exception,
  type Link,
  type Span,
  type SpanContext,
  type SpanStatus,
  type TextMapGetter,
  type TimeInput,
  type Tracer,
} from "@opentelemetry/api";
import { isTracingSuppressed, W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { settings } from "@/server/config";
import { processSlot } from "@/server/singleton";
import { installContextManager } from "./async-context";

type TracingState = { provider: BasicTracerProvider; recording: boolean };
const slot = processSlot<TracingState>("tracing");

/** Installs the tracer provider once per process; `extraProcessors` is for tests. */
export function initTracing(extraProcessors: SpanProcessor[] = []): void {
  if (slot.get()) return;
  const spanProcessors: SpanProcessor[] = [...extraProcessors];
  if (settings().otlpEndpoint) spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": settings().serviceName }),
    spanProcessors,
    // Nothing would receive recorded spans: record none. Spans still get real ids (log lines carry
    // trace_id/span_id and `traceparent` still reaches jobs), at a fraction of the cost per request.
    sampler: spanProcessors.length > 0 ? new ParentBasedSampler({ root: new AlwaysOnSampler() }) : new AlwaysOffSampler(),
  });
  installContextManager();
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  slot.set({ provider, recording: spanProcessors.length > 0 });
}

export async function shutdownTracing(): Promise<void> {
  const state = slot.get();
  if (state) await state.provider.shutdown();
}

let cachedTracer: Tracer | undefined;

/**
 * Our provider's tracer, taken from the provider itself: the global provider's `getTracer` is
 * patched by Next.js (its tracers leave Next's work-unit AsyncLocalStorage around every
 * `startSpan`, for Cache Components prerendering, which Flagpost does not use). That detour cost
 * ~2 µs per request on the public API's hot path (docs/performance.md).
 */
function tracer(): Tracer {
  if (!cachedTracer) {
    initTracing();
    cachedTracer = slot.get()!.provider.getTracer("flagpost");
  }
  return cachedTracer;
}

// Span and trace ids from a pool of random bytes, refilled 4 KiB at a time (one syscall per ~170
// spans instead of a Math.random() per 4 bytes).
const ID_POOL = Buffer.allocUnsafe(4096);
let idOffset = ID_POOL.length;

function randomId(bytes: 8 | 16): string {
  for (;;) {
    if (idOffset + bytes > ID_POOL.length) {
      randomFillSync(ID_POOL);
      idOffset = 0;
    }
    const start = idOffset;
    idOffset += bytes;
    for (let i = start; i < start + bytes; i++) if (ID_POOL[i] !== 0) return ID_POOL.toString("hex", start, start + bytes);
    // All zero is an invalid id: draw again.
  }
}

/**
 * The span started when nothing records spans: what the SDK's tracer returns under its
 * AlwaysOffSampler (a non-recording span, sampled flag off, the parent's trace id and trace state),
 * except that its ids are drawn when first asked for — by a log line, a child span or a
 * `traceparent` for a job — so a request that asks for none (a cached 304) draws none.
 */
class UnrecordedSpan implements Span {
  private context: SpanContext | undefined;
  constructor(private readonly parent: SpanContext | undefined) {}
  spanContext(): SpanContext {
    if (!this.context) {
      const parent = this.parent;
      this.context = parent
        ? { traceId: parent.traceId, spanId: randomId(8), traceFlags: TraceFlags.NONE, traceState: parent.traceState }
        : { traceId: randomId(16), spanId: randomId(8), traceFlags: TraceFlags.NONE };
    }
    return this.context;
  }
  setAttribute(_key: string, _value: unknown): this {
    return this;
  }
  setAttributes(_attributes: Attributes): this {
    return this;
  }
  addEvent(_name: string, _attributesOrStartTime?: Attributes | TimeInput, _startTime?: TimeInput): this {
    return this;
  }
  addLink(_link: Link): this {
    return this;
  }
  addLinks(_links: Link[]): this {
    return this;
  }
  setStatus(_status: SpanStatus): this {
    return this;
  }
  updateName(_name: string): this {
    return this;
  }
  end(_endTime?: TimeInput): void {}
  isRecording(): boolean {
    return false;
  }
  recordException(_exception: Exception, _time?: TimeInput): void {}
}

/** A span, child of the span in `parent` (if any); not yet active. */
function startSpan(name: string, options: { attributes?: Attributes; kind?: SpanKind }, parent: Context): Span {
  initTracing();
  if (slot.get()!.recording) return tracer().startSpan(name, { attributes: options.attributes, kind: options.kind ?? SpanKind.INTERNAL }, parent);
  if (isTracingSuppressed(parent)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  const parentContext = trace.getSpan(parent)?.spanContext();
  return new UnrecordedSpan(parentContext && trace.isSpanContextValid(parentContext) ? parentContext : undefined);
}

/** Request (or job) headers, read by lower-case name: `Headers`, `ApiRequest.headers`, or a wrapped record. */
export interface HeaderSource {
  get(name: string): string | null | undefined;
}

const headerGetter: TextMapGetter<HeaderSource> = {
  keys: () => ["traceparent", "tracestate"],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/**
 * The parent for a server span: the active context when it already belongs to the incoming trace
 * (Next.js may have opened a span for the request), else the active context with the remote span
 * carried by `traceparent` (so the request context, a value of the active context, stays).
 */
export function incomingContext(headers: HeaderSource): Context {
  initTracing();
  const active = context.active();
  if (!headers.get("traceparent")) return active;
  const extracted = propagation.extract(active, headers, headerGetter);
  const incomingTraceId = trace.getSpanContext(extracted)?.traceId;
  if (!incomingTraceId) return active;
  return trace.getSpanContext(active)?.traceId === incomingTraceId ? active : extracted;
}

/** Runs `fn` in a new span (child of the active span, or of `parent`), recording errors. */
export async function withSpan<T>(
  name: string,
  fn: (span: Span) => Promise<T> | T,
  options: { attributes?: Attributes; parent?: Context; kind?: SpanKind } = {},
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = startSpan(name, options, parent);
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await fn(span);
    } catch (error) {
      recordSpanError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Starts a span (child of `parent`) and calls `fn(span, ...args)` with it active, without creating a
 * promise or a closure: for hot paths whose handlers may answer synchronously. `fn` must end the
 * span (also on error).
 */
export function inSpan<A extends unknown[], T>(
  name: string,
  options: { attributes?: Attributes; parent: Context; kind?: SpanKind },
  fn: (span: Span, ...args: A) => T,
  ...args: A
): T {
  const span = startSpan(name, options, options.parent);
  return context.with(trace.setSpan(options.parent, span), fn, undefined, span, ...args);
}

/** Records a failure on a span (does not end it). */
export function recordSpanError(span: Span, error: unknown): void {
  span.recordException(error as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
}

/** The W3C `traceparent` of the active span, for carrying into jobs. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

export { SpanKind };
