/**
 * Reading a Web `Request` body within a byte limit: refused before a byte is read when its declared
 * `Content-Length` is over the limit, and as soon as the bytes read exceed it (chunked bodies, or a
 * wrong Content-Length). Nothing is parsed here; the caller parses what it got. (The SDK API's
 * transport-neutral reader, sdk/http.ts, joins its chunks with `readChunksWithin` too.)
 */

export type LimitedBody = { ok: true; bytes: Uint8Array } | { ok: false; reason: "too_large" };

/** The body of `request` if it is at most `maxBytes` long. */
export async function readLimitedBody(request: Request, maxBytes: number): Promise<LimitedBody> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => undefined);
    return { ok: false, reason: "too_large" };
  }
  if (!request.body) return { ok: true, bytes: new Uint8Array(0) };
  const bytes = await readChunksWithin(request.body.getReader(), maxBytes);
  return bytes === null ? { ok: false, reason: "too_large" } : { ok: true, bytes };
}

/** A body's chunks joined, or null (and the rest cancelled) as soon as they exceed `maxBytes`. */
export async function readChunksWithin(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> }, maxBytes: number): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done || !value) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
