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
import { clientAddressOf } from "./client-address";

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
  /**
   * The client's network address, when the transport knows it (the web server's direct path: the
   * socket's peer, or per `TRUST_PROXY_HOPS` the forwarded one; see client-address.ts).
   */
  readonly clientAddress?: string;
}

/** Where a streamed body is written (server-sent events): chunks as UTF-8 text. */
export interface StreamSink {
  /** Queues a chunk; false when the client is not keeping up (the transport's buffer is full). */
  write(chunk: string): boolean;
  /** Ends the body (the connection then closes or returns to keep-alive). */
  end(): void;
}

/**
 * A body written over time instead of at once: the transport sends the status and headers, then
 * calls `start` with a sink; `closed` is called exactly once when the stream is over, whoever ended
 * it (the client went away, `sink.end()`, the server closed the connection).
 */
export interface ApiStream {
  start(sink: StreamSink): void;
  closed(): void;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  /** Sent as is; strings as UTF-8. */
  body: string | Uint8Array | null;
  /** A streamed body (then `body` is null): only the event-stream endpoints answer with one. */
  stream?: ApiStream;
  /**
   * "There is no such route here" (NOT_A_ROUTE): the transport answers as it answers a path that no
   * route serves — the web server hands the request to Next.js as an unmatched path (its 404 page),
   * a Next route handler answers a bare 404. For capabilities switched off by a gate.
   */
  unrouted?: true;
}

/** The answer of an endpoint that is switched off: exactly what an unknown path gets (see `unrouted`). */
export const NOT_A_ROUTE: ApiResponse = Object.freeze({ status: 404, headers: Object.freeze({}) as Record<string, string>, body: null, unrouted: true as const });

export function apiResponse(status: number, headers: Record<string, string>, body: string | Uint8Array | null = null): ApiResponse {
  return { status, headers, body };
}

export function apiJson(status: number, value: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { "content-type": "application/json", ...headers }, body: typeof value === "string" ? value : JSON.stringify(value) };
}

export function apiStream(status: number, headers: Record<string, string>, stream: ApiStream): ApiResponse {
  return { status, headers, body: null, stream };
}

export function toWebResponse(response: ApiResponse): Response {
  if (response.stream) return new Response(webStream(response.stream), { status: response.status, headers: response.headers });
  return new Response(response.body as BodyInit | null, { status: response.status, headers: response.headers });
}

/** Chunks a Web stream queues before `write` reports that its reader is not keeping up. */
const WEB_STREAM_QUEUED_CHUNKS = 64;

/** A streamed body as a Web `ReadableStream` (Next.js route handlers: `next dev`). */
function webStream(stream: ApiStream): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let over = false;
  const finish = () => {
    if (over) return;
    over = true;
    stream.closed();
  };
  const source: UnderlyingDefaultSource<Uint8Array> = {
    start(controller) {
      stream.start({
        write(chunk) {
          if (over) return false;
          controller.enqueue(encoder.encode(chunk));
          return (controller.desiredSize ?? 1) > 0;
        },
        end() {
          if (over) return;
          controller.close();
          finish();
        },
      });
    },
    cancel: finish,
  };
  return new ReadableStream<Uint8Array>(source, new CountQueuingStrategy({ highWaterMark: WEB_STREAM_QUEUED_CHUNKS }));
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

  constructor(
    private readonly request: IncomingMessage,
    origin: string,
  ) {
    this.method = request.method ?? "GET";
    this.url = origin + (request.url ?? "/");
    this.headers = new NodeHeaders(request.headers);
    this.body = this.method === "GET" || this.method === "HEAD" ? null : new NodeBody(request);
  }

  /** Worked out when asked (only the handlers that count per client need it). */
  get clientAddress(): string | undefined {
    return clientAddressOf(this.request);
  }
}

/** Sends the head at once, then hands the response to the stream; `closed` follows the connection. */
function writeNodeStream(res: ServerResponse, response: ApiResponse, stream: ApiStream): void {
  let over = false;
  const finish = () => {
    if (over) return;
    over = true;
    stream.closed();
  };
  res.once("close", finish);
  res.writeHead(response.status, response.headers);
  // Events are small and must leave at once.
  res.socket?.setNoDelay(true);
  res.flushHeaders();
  let ended = false;
  stream.start({
    write(chunk) {
      if (over || ended || res.destroyed) return false;
      return res.write(chunk);
    },
    end() {
      if (over || ended) return;
      ended = true;
      res.end();
    },
  });
}

export function writeNodeResponse(res: ServerResponse, response: ApiResponse): void {
  if (response.body === null) {
    if (response.stream) {
      writeNodeStream(res, response, response.stream);
      return;
    }
    // writeHead only reads the headers: a response's shared, per-revision headers go out as they are.
    res.writeHead(response.status, response.headers);
    res.end();
    return;
  }
  const body = typeof response.body === "string" ? Buffer.from(response.body) : response.body;
  res.writeHead(response.status, { ...response.headers, "content-length": body.byteLength });
  res.end(body);
}
