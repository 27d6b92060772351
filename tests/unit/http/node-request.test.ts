import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { NodeApiRequest } from "@/server/http/api";

/** A POST whose body the test writes chunk by chunk. */
function post(): { stream: PassThrough; request: NodeApiRequest } {
  const stream = new PassThrough();
  Object.assign(stream, { method: "POST", url: "/api/v1/identities/?feature=x", headers: { "content-type": "application/json", "x-environment-key": "k" } });
  return { stream, request: new NodeApiRequest(stream as unknown as IncomingMessage, "http://127.0.0.1:3000") };
}

describe("NodeApiRequest", () => {
  it("readAll__bodyInChunks__allBytesInOrder", async () => {
    // Given a body arriving in three chunks
    const { stream, request } = post();
    const read = request.body!.readAll!(1024);

    // When they arrive and the body ends
    stream.write('{"identifier":');
    stream.write('"u1",');
    stream.end('"traits":[]}');

    // Then it is read whole
    expect(Buffer.from((await read)!).toString()).toBe('{"identifier":"u1","traits":[]}');
    expect(request.url).toBe("http://127.0.0.1:3000/api/v1/identities/?feature=x");
    expect(request.headers.get("X-Environment-Key")).toBe("k");
    expect(request.headers.get("authorization")).toBeNull();
  });

  it("readAll__bodyOverTheLimit__nullAndTheRestDiscarded", async () => {
    // Given a limit of 8 bytes
    const { stream, request } = post();
    const read = request.body!.readAll!(8);

    // When 12 bytes arrive
    stream.write("123456");
    stream.write("789012");
    stream.end("more");

    // Then the body is refused and the stream still drains to its end
    expect(await read).toBeNull();
    await new Promise((resolve) => stream.once("end", resolve));
  });

  it("readAll__clientGoneBeforeTheEnd__rejectsInsteadOfWaitingForever", async () => {
    // Given a body that has started to arrive
    const { stream, request } = post();
    const read = request.body!.readAll!(1024);
    stream.write("{");

    // When the connection goes away without an error (destroyed, no end)
    stream.destroy();

    // Then the read fails
    await expect(read).rejects.toThrow(/closed before its body ended/);
  });

  it("clientAddress__directPath__socketPeerAsIPv4", () => {
    // Given a request whose socket peer is an IPv4-mapped IPv6 address
    const stream = new PassThrough();
    Object.assign(stream, { method: "POST", url: "/ofrep/v1/evaluate/flags", headers: {}, socket: { remoteAddress: "::ffff:10.1.2.3" } });
    const request = new NodeApiRequest(stream as unknown as IncomingMessage, "http://127.0.0.1:3000");

    // When its client address is asked for
    // Then it is the peer, as IPv4
    expect(request.clientAddress).toBe("10.1.2.3");
  });
});

