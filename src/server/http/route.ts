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
import { bindContext, withRequestContext, type ContextBindings } from "../observability/context";
import { httpRequestDuration } from "../observability/http-metrics";
import { getLogger } from "../observability/logger";
import { incomingContext, inSpan, recordSpanError, SpanKind } from "../observability/tracing";
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

function finish(template: string, method: string, started: bigint, span: Span, response: ApiResponse): ApiResponse {
  span.setAttribute("http.response.status_code", response.status);
  span.end();
  httpRequestDuration.observe({ route: template, method, status: String(response.status) }, Number(process.hrtime.bigint() - started) / 1e9);
  return response;
}

function fail(template: string, method: string, started: bigint, span: Span, error: unknown): ApiResponse {
  log.error("request.failed", { http__route: template, http__method: method, error });
  recordSpanError(span, error);
  return finish(template, method, started, span, apiJson(500, { detail: "Internal server error" }));
}

export function route<P = Record<string, string>>(
  template: string,
  handler: (request: ApiRequest, params: P) => ApiResponse | Promise<ApiResponse>,
  options: RouteOptions<P> = {},
): ApiRoute<P> {
  // Span name and attributes per method, built once.
  const spans = new Map<string, { name: string; attributes: Attributes }>();
  const spanOf = (method: string) => {
    let found = spans.get(method);
    if (!found) spans.set(method, (found = { name: `${method} ${template}`, attributes: Object.freeze({ "http.request.method": method, "http.route": template }) }));
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
  const run = (span: Span, request: ApiRequest, params: P, started: bigint): ApiResponse | Promise<ApiResponse> => {
    const method = request.method;
    try {
      const result = handle(request, params);
      if (!(result instanceof Promise)) return finish(template, method, started, span, result);
      return result.then(
        (response) => finish(template, method, started, span, response),
        (error: unknown) => fail(template, method, started, span, error),
      );
    } catch (error) {
      return fail(template, method, started, span, error);
    }
  };
  const serve = (request: ApiRequest, params: P): ApiResponse | Promise<ApiResponse> => {
    const started = process.hrtime.bigint();
    // The request context and the server span are entered together (one context switch).
    const parent = withRequestContext(incomingContext(request.headers), { headers: capturePropagatedHeaders(request.headers) });
    const { name, attributes } = spanOf(request.method);
    return inSpan(name, { parent, kind: SERVER, attributes }, run, request, params, started);
  };
  const next = async (request: Request, context: RouteContext<P>): Promise<Response> =>
    toWebResponse(await serve(request, ((await context?.params) ?? {}) as P));
  return Object.assign(next, { template, serve });
}
