/**
 * The transport-neutral request/response of Flagpost's public HTTP API (SDK, flagd, health).
 *
 * Handlers take an `ApiRequest` and return an `ApiResponse`. A Web `Request` is an `ApiRequest` as it
 * is (Next.js route handlers, used by `next dev`); in production the web server answers `/api/v1/*`
 * straight from Node's `http` request (`NodeApiRequest`), without building Web `Request`/`Response`
 * objects or entering Next's router — the SDK and flagd endpoints are the hot path (see
 * docs/performance.md). Both transports run the same `route()` wrapper and handlers.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export interface BodyReader {
  read(): Promise<{ done: false; value: Uint8Array } | { done: true; value?: Uint8Array }>;
  cancel(): Promise<void>;
}

export interface ApiRequest {
  readonly method: string;
  /** Absolute URL. */
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  /**
   * The body as chunks, or null (GET). `readAll` (when the transport has it) reads the whole body
   * at once: its bytes, or null when it exceeds `maxBytes` (the rest is discarded).
   */
  readonly body: { getReader(): BodyReader; readAll?(maxBytes: number): Promise<Uint8Array | null> } | null;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  /** Sent as is; strings as UTF-8. */
  body: string | Uint8Array | null;
}

export function apiResponse(status: number, headers: Record<string, string>, body: string | Uint8Array | null = null): ApiResponse {
  return { status, headers, body };
}

export function apiJson(status: number, value: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { "content-type": "application/json", ...headers }, body: typeof value === "string" ? value : JSON.stringify(value) };
}

export function toWebResponse(response: ApiResponse): Response {
  return new Response(response.body as BodyInit | null, { status: response.status, headers: response.headers });
}

/** Headers of a Node request, read by lower-case name (a prototype method: no closure per request). */
class NodeHeaders {
  constructor(private readonly raw: IncomingMessage["headers"]) {}
  get(name: string): string | null {
    const value = this.raw[name] ?? this.raw[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
  }
}

/** The body of a Node request as a `getReader()` stream, or read whole from its events. */
class NodeBody {
  constructor(private readonly request: IncomingMessage) {}

  /** The whole body in one promise (no async iterator: the SDK's small JSON bodies are the hot path). */
  readAll(maxBytes: number): Promise<Uint8Array | null> {
    const request = this.request;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      const done = () => {
        request.off("data", onData);
        request.off("end", onEnd);
        request.off("error", onError);
        request.off("close", onClose);
      };
      const onData = (chunk: Buffer) => {
        total += chunk.byteLength;
        if (total > maxBytes) {
          done();
          request.resume();
          resolve(null);
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = () => {
        done();
        resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
      };
      const onError = (error: Error) => {
        done();
        reject(error);
      };
      // Closed before the end of the body without an error event: never leave the request waiting.
      const onClose = () => {
        done();
        reject(new Error("request closed before its body ended"));
      };
      request.on("data", onData);
      request.on("end", onEnd);
      request.on("error", onError);
      request.on("close", onClose);
    });
  }

  getReader(): BodyReader {
    const request = this.request;
    const iterator = request[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    return {
      async read() {
        const next = await iterator.next();
        return next.done ? { done: true as const } : { done: false as const, value: next.value };
      },
      async cancel() {
        await iterator.return?.();
        request.resume();
      },
    };
  }
}

/** An `ApiRequest` over Node's `IncomingMessage` (headers read lazily, body streamed). */
export class NodeApiRequest implements ApiRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: NodeHeaders;
  readonly body: NodeBody | null;

  constructor(request: IncomingMessage, origin: string) {
    this.method = request.method ?? "GET";
    this.url = origin + (request.url ?? "/");
    this.headers = new NodeHeaders(request.headers);
    this.body = this.method === "GET" || this.method === "HEAD" ? null : new NodeBody(request);
  }
}

export function writeNodeResponse(res: ServerResponse, response: ApiResponse): void {
  if (response.body === null) {
    // writeHead only reads the headers: a response's shared, per-revision headers go out as they are.
    res.writeHead(response.status, response.headers);
    res.end();
    return;
  }
  const body = typeof response.body === "string" ? Buffer.from(response.body) : response.body;
  res.writeHead(response.status, { ...response.headers, "content-length": body.byteLength });
  res.end(body);
}
