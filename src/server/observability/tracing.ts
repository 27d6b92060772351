/**
 * OpenTelemetry tracing. A tracer provider is always installed (spans get real ids, `trace_id` /
 * `span_id` appear on log lines, `traceparent` propagates into jobs); spans are recorded and
 * exported only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (or a test adds a processor).
 */
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { settings } from "../config";
import { installContextManager } from "./async-context";

const STATE_KEY = Symbol.for("flagpost.tracing");
type TracingState = { provider: BasicTracerProvider };
const globalState = globalThis as unknown as Record<symbol, TracingState | undefined>;

/** Installs the tracer provider once per process; `extraProcessors` is for tests. */
export function initTracing(extraProcessors: SpanProcessor[] = []): void {
  if (globalState[STATE_KEY]) return;
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
  globalState[STATE_KEY] = { provider };
}

export async function shutdownTracing(): Promise<void> {
  const state = globalState[STATE_KEY];
  if (state) await state.provider.shutdown();
}

let cachedTracer: Tracer | undefined;

function tracer(): Tracer {
  if (!cachedTracer) {
    initTracing();
    cachedTracer = trace.getTracer("flagpost");
  }
  return cachedTracer;
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
  return tracer().startActiveSpan(
    name,
    { attributes: options.attributes, kind: options.kind ?? SpanKind.INTERNAL },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        recordSpanError(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
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
  const span = tracer().startSpan(name, { attributes: options.attributes, kind: options.kind ?? SpanKind.INTERNAL }, options.parent);
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
