/**
 * The tRPC request context: the request's headers, the response headers (Set-Cookie), the
 * propagated headers carried into jobs, and the client's address. Who is calling is resolved by the
 * auth domain's middleware (auth/procedures.ts), not here.
 */
import { trustedClientAddress } from "@/server/http/client-address";
import { capturePropagatedHeaders } from "@/server/http/headers";

export interface TrpcContext {
  headers: Headers;
  /** Response headers (Set-Cookie for sign-in/out). */
  resHeaders: Headers;
  /** PROPAGATED_HEADERS of this request, carried into the jobs it enqueues. */
  propagated: Record<string, string>;
  /** The client's address as the web server saw it (client-address.ts); unknown under `next dev`. */
  clientAddress: string | undefined;
}

/** The context of one request: its headers (a batch shares one context). */
export function requestContext(headers: Headers, resHeaders: Headers = new Headers()): TrpcContext {
  return {
    headers,
    resHeaders,
    propagated: capturePropagatedHeaders(headers),
    clientAddress: trustedClientAddress(headers),
  };
}

export async function createTrpcContext(opts: { req: Request; resHeaders: Headers }): Promise<TrpcContext> {
  return requestContext(opts.req.headers, opts.resHeaders);
}
