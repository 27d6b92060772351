/** Helpers for the SDK API tests: waiting for documents, calling the SDK endpoints. */

export { waitForDocuments } from "../support/documents";

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface SdkClient {
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
}

/** Fetches `${base}/api/v1/<path>` with `X-Environment-Key: key`. */
export function sdkClient(base: string, key: string | null): SdkClient {
  const headers = (extra: Record<string, string> = {}) => ({ ...(key !== null ? { "x-environment-key": key } : {}), ...extra });
  return {
    get: (path, extra) => fetch(`${base}/api/v1/${path}`, { headers: headers(extra) }),
    post: (path, body, extra) =>
      fetch(`${base}/api/v1/${path}`, {
        method: "POST",
        headers: headers({ "content-type": "application/json", ...extra }),
        body: typeof body === "string" ? body : body instanceof Uint8Array ? Buffer.from(body) : JSON.stringify(body),
      }),
  };
}
