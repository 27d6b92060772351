import { resolvePrincipal, type Principal } from "../auth/principal";
import { trustedClientAddress } from "../http/client-address";
import { capturePropagatedHeaders } from "../http/headers";

export interface TrpcContext {
  headers: Headers;
  /** Response headers (Set-Cookie for sign-in/out). */
  resHeaders: Headers;
  principal: Principal | null;
  invalidApiKey: boolean;
  /** PROPAGATED_HEADERS of this request, carried into the jobs it enqueues. */
  propagated: Record<string, string>;
  /** The client's address as the web server saw it (client-address.ts); unknown under `next dev`. */
  clientAddress: string | undefined;
}

export async function createTrpcContext(opts: { req: Request; resHeaders: Headers }): Promise<TrpcContext> {
  const { principal, invalidApiKey } = await resolvePrincipal(opts.req.headers);
  return {
    headers: opts.req.headers,
    resHeaders: opts.resHeaders,
    principal,
    invalidApiKey,
    propagated: capturePropagatedHeaders(opts.req.headers),
    clientAddress: trustedClientAddress(opts.req.headers),
  };
}

/** A context for calling procedures in-process (tests, scripts) as a principal. */
export function createCallerContext(principal: Principal | null, headers: Record<string, string> = {}): TrpcContext {
  const h = new Headers(headers);
  return {
    headers: h,
    resHeaders: new Headers(),
    principal,
    invalidApiKey: false,
    propagated: capturePropagatedHeaders(h),
    clientAddress: trustedClientAddress(h),
  };
}
