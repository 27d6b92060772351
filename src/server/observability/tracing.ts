/**
 * OpenTelemetry tracing. A tracer provider is always installed (spans get real ids, `trace_id` /
 * `span_id` appear on log lines, `traceparent` propagates into jobs); spans are exported only when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { settings } from "../config";

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
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  globalState[STATE_KEY] = { provider };
}

export async function shutdownTracing(): Promise<void> {
  const state = globalState[STATE_KEY];
  if (state) await state.provider.shutdown();
}

function tracer() {
  initTracing();
  return trace.getTracer("flagpost");
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
 * (Next.js may have opened a span for the request), else the context carried by `traceparent`.
 */
export function incomingContext(headers: HeaderSource): Context {
  initTracing();
  const active = context.active();
  if (!headers.get("traceparent")) return active;
  const extracted = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
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
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** The W3C `traceparent` of the active span, for carrying into jobs. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

export { SpanKind };
