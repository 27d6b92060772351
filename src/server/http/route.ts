/**
 * The wrapper every public HTTP API handler goes through (SDK, flagd, health): a fresh request
 * context (propagated headers captured), ids bound from the URL/request before the handler runs, a
 * server span continuing `traceparent`, the request-duration histogram, and a JSON 500 (with a
 * `request.failed` event) for anything unexpected — the bindings end with the request, also when it
 * throws. `route()` returns a Next route handler that also exposes `serve` for the web server's
 * direct path (api.ts).
 */
import { bindContext, runWithContext, type ContextBindings } from "../observability/context";
import { httpRequestDuration } from "../observability/http-metrics";
import { getLogger } from "../observability/logger";
import { incomingContext, SpanKind, withSpan } from "../observability/tracing";
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
  /** Handles a request on any transport (the web server's direct path calls this). */
  serve(request: ApiRequest, params: P): Promise<ApiResponse>;
}

export function route<P = Record<string, string>>(
  template: string,
  handler: (request: ApiRequest, params: P) => ApiResponse | Promise<ApiResponse>,
  options: RouteOptions<P> = {},
): ApiRoute<P> {
  const serve = async (request: ApiRequest, params: P): Promise<ApiResponse> => {
    const started = process.hrtime.bigint();
    let status = 500;
    try {
      return await runWithContext(
        () =>
          withSpan(
            `${request.method} ${template}`,
            async (span) => {
              try {
                if (options.bind) bindContext(await options.bind(request, params));
                const response = await handler(request, params);
                status = response.status;
                span.setAttribute("http.response.status_code", status);
                return response;
              } catch (error) {
                log.error("request.failed", { http__route: template, http__method: request.method, error });
                status = 500;
                return apiJson(500, { detail: "Internal server error" });
              }
            },
            { parent: incomingContext(request.headers), kind: SpanKind.SERVER, attributes: { "http.request.method": request.method, "http.route": template } },
          ),
        { headers: capturePropagatedHeaders(request.headers) },
      );
    } finally {
      httpRequestDuration.observe({ route: template, method: request.method, status: String(status) }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
  const next = async (request: Request, context: RouteContext<P>): Promise<Response> =>
    toWebResponse(await serve(request, ((await context?.params) ?? {}) as P));
  return Object.assign(next, { template, serve });
}
