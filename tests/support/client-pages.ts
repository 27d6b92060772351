/**
 * Pages that run the official browser clients against a Flagpost instance (Playwright tests and
 * bench/realtime.ts): the entries in ./browser are bundled with esbuild once per process and
 * served by a small static server of the test's own, on another port — so the clients call
 * Flagpost cross-origin, as in a real deployment, and nothing test-only is shipped by the app.
 *
 *   /ofrep.html?flagpost=<url>&key=<client key>&poll=<ms>&flags=a,b   OpenFeature web SDK + OFREP web provider
 *   /flagsmith.html?flagpost=<url>&key=<client key>                   flagsmith JS client, realtime: true
 */
import http from "node:http";
import path from "node:path";
import { build } from "esbuild";

const ENTRIES = { ofrep: "ofrep-web.ts", flagsmith: "flagsmith-realtime.ts" } as const;
export type ClientPage = keyof typeof ENTRIES;

let bundles: Promise<Record<ClientPage, string>> | undefined;

async function bundle(file: string): Promise<string> {
  const result = await build({
    entryPoints: [path.join(__dirname, "browser", file)],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2020",
    minify: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

function bundled(): Promise<Record<ClientPage, string>> {
  bundles ??= (async () => ({ ofrep: await bundle(ENTRIES.ofrep), flagsmith: await bundle(ENTRIES.flagsmith) }))();
  return bundles;
}

function html(page: ClientPage): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${page} client</title></head>
<body><h1>${page} client</h1><ul id="flags"></ul><script src="/${page}.js"></script></body></html>`;
}

export interface ClientPages {
  origin: string;
  /** The page of `client` configured by `query`. */
  url(client: ClientPage, query: Record<string, string>): string;
  close(): Promise<void>;
}

/** Bundles the clients (once) and serves their pages on a free loopback port. */
export async function startClientPages(): Promise<ClientPages> {
  const scripts = await bundled();
  const server = http.createServer((request, response) => {
    const name = (request.url ?? "/").split("?")[0].replace(/^\//, "");
    const page = name.replace(/\.(html|js)$/, "") as ClientPage;
    if (!(page in ENTRIES)) {
      response.writeHead(404).end();
      return;
    }
    const isScript = name.endsWith(".js");
    response.writeHead(200, { "content-type": isScript ? "text/javascript; charset=utf-8" : "text/html; charset=utf-8", "cache-control": "no-store" });
    response.end(isScript ? scripts[page] : html(page));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: (client, query) => `${origin}/${client}.html?${new URLSearchParams(query)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
