/**
 * The wrapper every public HTTP API handler goes through (SDK, flagd, health): a fresh request
 * context (propagated headers captured), ids bound from the URL/request before the handler runs, a
 * server span continuing `traceparent`, the request-duration histogram, and a JSON 500 (with a
 * `request.failed` event) for anything unexpected — the bindings end with the request, also when it
 * throws. `route()` returns a Next route handler that also exposes `serve` for the web server's
 * direct path (api.ts).
 *
 * `serve` stays synchronous when the handler answers synchronously (the cached hot paths of
 * `/flags/` and flagd polls): no promise is created per request, which matters on Node 20, where
 * every promise runs the AsyncLocalStorage hooks (docs/performance.md).
 */
import type { Attributes, Span } from "@opentelemetry/api";
import { reportDatabaseError } from "@/server/db/availability";
import { bindContext, withRequestContext, type ContextBindings } from "@/server/observability/context";
import { httpRequestDuration } from "@/server/observability/http-metrics";
import { boundHistogram, type BoundHistogram } from "@/server/observability/metrics";
import { getLogger } from "@/server/observability/logger";
import { incomingContext, inSpan, recordSpanError, SpanKind } from "@/server/observability/tracing";
import { apiJson, toWebResponse, type ApiRequest, type ApiResponse } from "./api";
import { capturePropagatedHeaders } from "./headers";

const log = getLogger("http");

export interface RouteContext<P> {
  params: Promise<P>;
}

export interface RouteOptions<P> {
  /** Ids to bind before the handler runs (e.g. URL params → environment id). */
  bind?: (request: ApiRequest, params: P) => Promise<ContextBindings> | ContextBindings;
}

export interface ApiRoute<P> {
  /** As a Next.js route handler. */
  (request: Request, context: RouteContext<P>): Promise<Response>;
  /** The route template, e.g. `/api/v1/flags/` (metrics label). */
  readonly template: string;
  /** Handles a request on any transport (the web server's direct path calls this); synchronous when the handler is. */
  serve(request: ApiRequest, params: P): ApiResponse | Promise<ApiResponse>;
}

// Hot path: nothing below allocates a closure per request on the synchronous path (the web process
// runs through tsx, which also names every closure it creates).
const SERVER = SpanKind.SERVER;

/** What a route keeps per request method: span name and attributes, and a duration series per status. */
interface MethodState {
  template: string;
  method: string;
  spanName: string;
  attributes: Attributes;
  durations: Map<number, BoundHistogram>;
}

function finish(state: MethodState, started: bigint, span: Span, response: ApiResponse): ApiResponse {
  span.setAttribute("http.response.status_code", response.status);
  span.end();
  let duration = state.durations.get(response.status);
  if (!duration) state.durations.set(response.status, (duration = boundHistogram(httpRequestDuration, { route: state.template, method: state.method, status: String(response.status) })));
  duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
  return response;
}

const UNAVAILABLE_BODY = JSON.stringify({ detail: "Service temporarily unavailable, try again shortly" });

function fail(state: MethodState, started: bigint, span: Span, error: unknown): ApiResponse {
  if (reportDatabaseError(error)) {
    // The database is away (or too slow): a bounded wait ended. Clients retry; not a bug.
    log.debug("request.database_unavailable", { http__route: state.template, http__method: state.method });
    recordSpanError(span, error);
    return finish(state, started, span, apiJson(503, UNAVAILABLE_BODY, { "retry-after": "1", "cache-control": "no-store", "access-control-allow-origin": "*" }));
  }
  log.error("request.failed", { http__route: state.template, http__method: state.method, error });
  recordSpanError(span, error);
  return finish(state, started, span, apiJson(500, { detail: "Internal server error" }));
}

export function route<P = Record<string, string>>(
  template: string,
  handler: (request: ApiRequest, params: P) => ApiResponse | Promise<ApiResponse>,
  options: RouteOptions<P> = {},
): ApiRoute<P> {
  // Per method, built once.
  const methods = new Map<string, MethodState>();
  const stateOf = (method: string) => {
    let found = methods.get(method);
    if (!found)
      methods.set(
        method,
        (found = {
          template,
          method,
          spanName: `${method} ${template}`,
          attributes: Object.freeze({ "http.request.method": method, "http.route": template }),
          durations: new Map(),
        }),
      );
    return found;
  };
  const handle = (request: ApiRequest, params: P): ApiResponse | Promise<ApiResponse> => {
    if (!options.bind) return handler(request, params);
    const bindings = options.bind(request, params);
    if (!(bindings instanceof Promise)) {
      bindContext(bindings);
      return handler(request, params);
    }
    return bindings.then((b) => {
      bindContext(b);
      return handler(request, params);
    });
  };
  const run = (span: Span, state: MethodState, request: ApiRequest, params: P, started: bigint): ApiResponse | Promise<ApiResponse> => {
    try {
      const result = handle(request, params);
      if (!(result instanceof Promise)) return finish(state, started, span, result);
      return result.then(
        (response) => finish(state, started, span, response),
        (error: unknown) => fail(state, started, span, error),
      );
    } catch (error) {
      return fail(state, started, span, error);
    }
  };
  const serve = (request: ApiRequest, params: P): ApiResponse | Promise<ApiResponse> => {
    const started = process.hrtime.bigint();
    // The request context and the server span are entered together (one context switch).
    const parent = withRequestContext(incomingContext(request.headers), { headers: capturePropagatedHeaders(request.headers) });
    const state = stateOf(request.method);
    return inSpan(state.spanName, { parent, kind: SERVER, attributes: state.attributes }, run, state, request, params, started);
  };
  const next = async (request: Request, context: RouteContext<P>): Promise<Response> => {
    const response = await serve(request, ((await context?.params) ?? {}) as P);
    // Inside Next's own routing (`next dev`) a switched-off endpoint answers a bare 404.
    return response.unrouted ? new Response(null, { status: 404 }) : toWebResponse(response);
  };
  return Object.assign(next, { template, serve });
}
