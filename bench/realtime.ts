/**
 * Real-time updates benchmark: `npx tsx bench/realtime.ts`.
 *
 * Starts its own embedded PostgreSQL, `next start` and the worker (tests/support/system.ts) and an environment with
 * BENCH_FEATURES features, then:
 *
 *   1. **Change → the official clients see it.** Chromium (Playwright, /usr/bin/chromium) opens two pages of another
 *      origin (tests/support/client-pages.ts): the OpenFeature web SDK with the OFREP web provider (polling off),
 *      and the `flagsmith` JS client with `realtime: true`. BENCH_CHANGES times, the value of one feature is changed
 *      through the admin API (tRPC over HTTP, as the UI does); measured from the mutation's response (its
 *      transaction has committed) until the page recorded the client's event — the OFREP provider's
 *      PROVIDER_CONFIGURATION_CHANGED (it re-fetched its bulk evaluation) and the Flagsmith client's `onChange`
 *      (it re-fetched its flags) — with the new value. Both clients run in the same page process as an
 *      application's would; timestamps are taken inside the pages (same machine clock).
 *   2. **Fan-out.** BENCH_STREAMS event streams (half Flagsmith's wire, half OFREP's) are opened from this process
 *      on the one web process and environment; the web process's memory is read before and after
 *      (/proc/<pid>/status VmRSS, and the V8 heap from /metrics) for the memory per stream; then BENCH_FANOUT_CHANGES
 *      changes are committed one at a time and, for each, the time from commit until each stream received its
 *      notification is recorded (p50/p99/max over all streams and changes, and every stream must get every
 *      change). The receiving side is one Node process reading all the sockets, so its own event loop is part
 *      of the figure. The web process's own fan-out time (flagsmith_streams_fanout_seconds) is printed too.
 *
 * Targets (issue 15): p99 < 100 ms for 1; p99 < 500 ms for 2 with 2,000 streams.
 *
 * Options (environment): BENCH_CHANGES (default 100), BENCH_STREAMS (default 2000), BENCH_FANOUT_CHANGES (default
 * 10), BENCH_FEATURES (default 50), CHROMIUM_PATH (default /usr/bin/chromium).
 */
import fs from "node:fs";
import http from "node:http";
import { chromium, type Page } from "@playwright/test";
import { startClientPages } from "../tests/support/client-pages";
import { benchProject, log, machine, percentile, startBenchSystem } from "./lib";

const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 2000);
const FANOUT_CHANGES = Number(process.env.BENCH_FANOUT_CHANGES ?? 10);
const FEATURES = Number(process.env.BENCH_FEATURES ?? 50);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function figures(values: number[]): string {
  const p = (q: number) => percentile(values, q).toFixed(1);
  return `p50 ${p(50)} ms   p90 ${p(90)} ms   p99 ${p(99)} ms   max ${Math.max(...values).toFixed(1)} ms   (n = ${values.length})`;
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : NaN;
}

async function metric(base: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? NaN);
}

interface OfrepPageState {
  ofrepPage: { events: Array<{ type: string; at: number }>; details(key: string): { value: unknown } };
}
interface FlagsmithPageState {
  flagsmithPage: { changes: Array<{ at: number }>; flags(): Record<string, { value: unknown }> };
}

/** Waits until the OFREP page recorded its `count`-th PROVIDER_CONFIGURATION_CHANGED with `value`; its time. */
async function ofrepSaw(page: Page, count: number, flag: string, value: string): Promise<number> {
  const handle = await page.waitForFunction(
    ({ count, flag, value }) => {
      const state = (window as unknown as OfrepPageState).ofrepPage;
      const changed = state.events.filter((event) => event.type === "PROVIDER_CONFIGURATION_CHANGED");
      return changed.length >= count && state.details(flag).value === value ? changed[count - 1].at : false;
    },
    { count, flag, value },
    { polling: 5, timeout: 10_000 },
  );
  return (await handle.jsonValue()) as number;
}

/** Waits until the Flagsmith page recorded its `count`-th change with `value`; its time. */
async function flagsmithSaw(page: Page, count: number, flag: string, value: string): Promise<number> {
  const handle = await page.waitForFunction(
    ({ count, flag, value }) => {
      const state = (window as unknown as FlagsmithPageState).flagsmithPage;
      return state.changes.length >= count && state.flags()[flag]?.value === value ? state.changes[count - 1].at : false;
    },
    { count, flag, value },
    { polling: 5, timeout: 10_000 },
  );
  return (await handle.jsonValue()) as number;
}

interface OpenStream {
  /** Arrival times (epoch ms) of notifications after the stream opened. */
  notified: number[];
  close(): void;
}

/** Opens one event stream; resolves once its opening frame arrived. */
function openStream(url: string): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`stream answered ${response.statusCode}`));
        response.resume();
        return;
      }
      response.setEncoding("utf8");
      const stream: OpenStream = { notified: [], close: () => request.destroy() };
      let opened = false;
      response.on("data", (chunk: string) => {
        if (!opened) {
          opened = true;
          resolve(stream);
        }
        // A notification is a frame with data (openings and heartbeats have none).
        if (chunk.includes("\ndata: ")) stream.notified.push(Date.now());
      });
    });
    request.on("error", reject);
  });
}

async function main(): Promise<void> {
  const system = await startBenchSystem();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-timer-throttling", "--disable-renderer-backgrounding"],
  });
  const pages = await startClientPages();
  const streams: OpenStream[] = [];
  try {
    const { session, environment, features } = await benchProject({ email: "realtime@example.com", project: "realtime", features: FEATURES });
    const target = features[0];
    while ((await fetch(`${system.url}/api/v1/flags/`, { headers: { "x-environment-key": environment.apiKey } })).status !== 200) await sleep(50);

    const cookie = `flagpost_session=${session.token}`;
    let changeNumber = 0;
    /** Commits a new value of the target feature through the admin API; the time its response arrived (committed). */
    const commitChange = async (): Promise<{ committed: number; value: string }> => {
      const value = `change-${++changeNumber}`;
      const response = await fetch(`${system.url}/api/trpc/features.updateState`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify({ featureId: target.id, environmentId: environment.id, value }),
      });
      if (response.status !== 200) throw new Error(`change failed: ${response.status} ${await response.text()}`);
      return { committed: Date.now(), value };
    };

    // 1. The official clients.
    log("opening the OFREP web provider and the flagsmith JS client in Chromium");
    const context = await browser.newContext();
    const ofrep = await context.newPage();
    const flagsmith = await context.newPage();
    await ofrep.goto(pages.url("ofrep", { flagpost: system.url, key: environment.apiKey, poll: "0", flags: target.name }));
    await flagsmith.goto(pages.url("flagsmith", { flagpost: system.url, key: environment.apiKey }));
    for (const page of [ofrep, flagsmith]) await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    const flagsmithChangesBefore = await flagsmith.evaluate(() => (window as unknown as FlagsmithPageState).flagsmithPage.changes.length);
    log(`${CHANGES} changes through the admin API`);
    const ofrepLatencies: number[] = [];
    const flagsmithLatencies: number[] = [];
    // The server's part alone: one stream read here (Node), beside the clients.
    const probe = await openStream(`${system.url}/sse/environments/${environment.apiKey}/ofrep`);
    const notifiedLatencies: number[] = [];
    for (let i = 1; i <= CHANGES; i++) {
      const notifiedBefore = probe.notified.length;
      const { committed, value } = await commitChange();
      const [ofrepAt, flagsmithAt] = await Promise.all([ofrepSaw(ofrep, i, target.name, value), flagsmithSaw(flagsmith, flagsmithChangesBefore + i, target.name, value)]);
      ofrepLatencies.push(ofrepAt - committed);
      flagsmithLatencies.push(flagsmithAt - committed);
      if (probe.notified.length > notifiedBefore) notifiedLatencies.push(probe.notified[notifiedBefore] - committed);
      // Let both clients settle (the Flagsmith client ignores an event that arrives while it is fetching).
      await sleep(60);
    }
    await context.close();
    probe.close();

    // 2. Fan-out.
    const heapPattern = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m;
    await sleep(500);
    const rssBefore = rssBytes(system.webPid);
    const heapBefore = await metric(system.url, heapPattern);
    log(`opening ${STREAMS} event streams`);
    const BATCH = 100;
    for (let i = 0; i < STREAMS; i += BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(STREAMS, i + BATCH); j++) {
        const wire = j % 2 === 0 ? "stream" : "ofrep";
        batch.push(openStream(`${system.url}/sse/environments/${environment.apiKey}/${wire}`));
      }
      streams.push(...(await Promise.all(batch)));
    }
    await sleep(1_000);
    const rssAfter = rssBytes(system.webPid);
    const heapAfter = await metric(system.url, heapPattern);
    const open = await metric(system.url, /^flagsmith_streams_open_connections\{protocol="flagsmith"\} (\d+)/m) + (await metric(system.url, /^flagsmith_streams_open_connections\{protocol="ofrep"\} (\d+)/m));

    log(`${FANOUT_CHANGES} changes, each to ${STREAMS} streams`);
    const fanoutLatencies: number[] = [];
    const allNotified: number[] = [];
    let missing = 0;
    for (let c = 0; c < FANOUT_CHANGES; c++) {
      const seen = streams.map((stream) => stream.notified.length);
      const { committed } = await commitChange();
      const deadline = Date.now() + 10_000;
      while (streams.some((stream, s) => stream.notified.length <= seen[s]) && Date.now() < deadline) await sleep(5);
      let last = 0;
      for (const [s, stream] of streams.entries()) {
        const at = stream.notified[seen[s]];
        if (at === undefined) {
          missing++;
          continue;
        }
        fanoutLatencies.push(at - committed);
        last = Math.max(last, at - committed);
      }
      allNotified.push(last);
      await sleep(200);
    }
    const fanoutSum = await metric(system.url, /^flagsmith_streams_fanout_seconds_sum\{kind="document"\} ([0-9.e+-]+)/m);
    const fanoutCount = await metric(system.url, /^flagsmith_streams_fanout_seconds_count\{kind="document"\} (\d+)/m);

    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
    process.stdout.write(
      [
        `machine: ${machine()}`,
        ``,
        `1. change committed (admin API response) → the official client in Chromium has the new value (${CHANGES} changes, ${FEATURES} features):`,
        `  OFREP web provider, PROVIDER_CONFIGURATION_CHANGED:  ${figures(ofrepLatencies)}`,
        `  flagsmith JS client (realtime), onChange:            ${figures(flagsmithLatencies)}`,
        `  (the server's part: commit → notification received by a stream read in Node: ${figures(notifiedLatencies)})`,
        `  target p99 < 100 ms: OFREP ${percentile(ofrepLatencies, 99) < 100 ? "met" : "NOT met"}, Flagsmith ${percentile(flagsmithLatencies, 99) < 100 ? "met" : "NOT met"}`,
        ``,
        `2. fan-out: ${STREAMS} streams open on one web process (${open} counted by the process), ${FANOUT_CHANGES} changes:`,
        `  commit → each stream notified:   ${figures(fanoutLatencies)}`,
        `  commit → all ${STREAMS} notified, per change: ${figures(allNotified)}`,
        `  notifications missing: ${missing}`,
        `  web process fan-out (hub → last write), mean per change: ${((fanoutSum / Math.max(1, fanoutCount)) * 1000).toFixed(2)} ms over ${fanoutCount} changes (incl. part 1's)`,
        `  memory: RSS ${mib(rssBefore)} → ${mib(rssAfter)} (${((rssAfter - rssBefore) / STREAMS / 1024).toFixed(1)} KiB per stream); V8 heap used ${mib(heapBefore)} → ${mib(heapAfter)} (${((heapAfter - heapBefore) / STREAMS / 1024).toFixed(1)} KiB per stream)`,
        `  target p99 < 500 ms: ${percentile(fanoutLatencies, 99) < 500 && missing === 0 ? "met" : "NOT met"}`,
      ].join("\n") + "\n",
    );
  } finally {
    for (const stream of streams) stream.close();
    await browser.close();
    await pages.close();
    await system.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
