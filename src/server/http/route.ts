/**
 * The wrapper every Next route handler goes through: a fresh request context (propagated headers
 * captured), ids bound from the URL/request before the handler runs, a server span continuing
 * `traceparent`, the request-duration histogram, and a JSON 500 (with a `<thing>.failed` event)
 * for anything unexpected — the bindings end with the request, also when it throws.
 */
import { bindContext, runWithContext, type ContextBindings } from "../observability/context";
import { httpRequestDuration } from "../observability/http-metrics";
import { getLogger } from "../observability/logger";
import { incomingContext, SpanKind, withSpan } from "../observability/tracing";
import { capturePropagatedHeaders, headerRecord } from "./headers";

const log = getLogger("http");

export interface RouteContext<P> {
  params: Promise<P>;
}

export interface RouteOptions<P> {
  /** Ids to bind before the handler runs (e.g. URL params → environment id). */
  bind?: (request: Request, params: P) => Promise<ContextBindings> | ContextBindings;
}

export function route<P = Record<string, string>>(
  template: string,
  handler: (request: Request, params: P) => Promise<Response>,
  options: RouteOptions<P> = {},
): (request: Request, context: RouteContext<P>) => Promise<Response> {
  return async (request, context) => {
    const started = process.hrtime.bigint();
    let status = 500;
    try {
      return await runWithContext(
        () =>
          withSpan(
            `${request.method} ${template}`,
            async (span) => {
              try {
                const params = ((await context?.params) ?? {}) as P;
                if (options.bind) bindContext(await options.bind(request, params));
                const response = await handler(request, params);
                status = response.status;
                span.setAttribute("http.response.status_code", status);
                return response;
              } catch (error) {
                log.error("request.failed", { http__route: template, http__method: request.method, error });
                status = 500;
                return Response.json({ detail: "Internal server error" }, { status: 500 });
              }
            },
            {
              parent: incomingContext(headerRecord(request.headers)),
              kind: SpanKind.SERVER,
              attributes: { "http.request.method": request.method, "http.route": template },
            },
          ),
        { headers: capturePropagatedHeaders(request.headers) },
      );
    } finally {
      httpRequestDuration.observe(
        { route: template, method: request.method, status: String(status) },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    }
  };
}
