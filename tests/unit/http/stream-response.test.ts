import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { apiStream, toWebResponse, writeNodeResponse, type ApiStream, type StreamSink } from "@/server/http/api";

/** A stream that records what happens to it and exposes its sink. */
function recordingStream(): ApiStream & { sink?: StreamSink; closedCount: number } {
  const stream = {
    sink: undefined as StreamSink | undefined,
    closedCount: 0,
    start(sink: StreamSink) {
      stream.sink = sink;
      sink.write("retry: 10\n\n");
    },
    closed() {
      stream.closedCount += 1;
    },
  };
  return stream;
}

let server: http.Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(stream: ApiStream): Promise<string> {
  server = http.createServer((_req, res) => writeNodeResponse(res, apiStream(200, { "content-type": "text/event-stream" }, stream)));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("streamed responses", () => {
  it("writeNodeResponse__streamedBody__headSentAtOnceThenChunksThenClosedWhenClientLeaves", async () => {
    // Given a handler answering with a stream, on a real Node server
    const stream = recordingStream();
    const url = await serve(stream);

    // When a client connects, the stream writes a chunk later, and the client goes away
    const controller = new AbortController();
    const response = await fetch(url, { signal: controller.signal });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    stream.sink!.write("data: later\n\n");
    const second = new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    await until(() => stream.closedCount > 0);

    // Then the head came before any event, every chunk arrived as written, and the stream was told once it was over
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(first).toBe("retry: 10\n\n");
    expect(second).toBe("data: later\n\n");
    expect(stream.closedCount).toBe(1);
    expect(stream.sink!.write("ignored")).toBe(false);
  });

  it("writeNodeResponse__streamEndedByServer__clientSeesTheEndAndClosedCalledOnce", async () => {
    // Given an open stream
    const stream = recordingStream();
    const url = await serve(stream);
    const response = await fetch(url);

    // When the server ends it (twice, as a shutdown racing a drop could)
    await until(() => stream.sink !== undefined);
    stream.sink!.end();
    stream.sink!.end();
    const text = await response.text();
    await until(() => stream.closedCount > 0);

    // Then the client reads the whole body to its end, and the stream is closed exactly once
    expect(text).toBe("retry: 10\n\n");
    expect(stream.closedCount).toBe(1);
  });

  it("toWebResponse__streamedBody__readableStreamOfTheChunksCancelClosesOnce", async () => {
    // Given a streamed response on the Web transport (Next route handlers)
    const stream = recordingStream();
    const response = toWebResponse(apiStream(200, { "content-type": "text/event-stream" }, stream));

    // When it is read, written to, and cancelled by its reader
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(stream.sink!.write("data: x\n\n")).toBe(true);
    const second = new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();

    // Then the chunks came through in order and the stream was closed once; later writes are refused
    expect([first, second]).toEqual(["retry: 10\n\n", "data: x\n\n"]);
    expect(stream.closedCount).toBe(1);
    expect(stream.sink!.write("late")).toBe(false);
    stream.sink!.end();
    expect(stream.closedCount).toBe(1);
  });
});
