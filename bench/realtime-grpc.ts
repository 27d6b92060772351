/**
 * flagd gRPC sync benchmark: `npx tsx bench/realtime-grpc.ts`.
 *
 * 1. Change → in-process provider: the official `@openfeature/flagd-provider` (in-process resolver) in
 *    this process syncs an environment from the web process; a feature's value is changed N times
 *    through the admin API (tRPC over HTTP, as the UI does). Per change: from the mutation's response
 *    (committed) until the provider has emitted PROVIDER_CONFIGURATION_CHANGED and evaluates the new
 *    value: enqueue → worker → build → store → NOTIFY → the web process's cache → push → provider
 *    parse. Target: p99 < 100 ms.
 * 2. Fan-out: S concurrent SyncFlags streams on the one web process (raw gRPC clients, each on its
 *    own connection, spread over C client processes so that the clients' own CPU does not queue
 *    the measurement), then R changes; per change and stream, from the commit until the stream
 *    received the document with the new value. Target: p99 < 500 ms over every stream and change.
 *    Also the web process's CPU per change fanned out, and its memory per open stream.
 *
 * Options (environment): BENCH_CHANGES (1., default 200), BENCH_STREAMS (2., default 500),
 * BENCH_ROUNDS (2., default 10), BENCH_CLIENT_PROCESSES (default 4), BENCH_FEATURES (features in
 * the environment, default 50).
 */
import { spawn, type ChildProcess } from "node:child_process";
import type * as Grpc from "@grpc/grpc-js";
import fs from "node:fs";
import os from "node:os";
import readline from "node:readline";
import { benchProject, log, machine, percentile, startBenchSystem, treeCpuSeconds } from "./lib";

const CHANGES = Number(process.env.BENCH_CHANGES ?? 200);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const CLIENT_PROCESSES = Number(process.env.BENCH_CLIENT_PROCESSES ?? 4);
const FEATURES = Number(process.env.BENCH_FEATURES ?? 50);

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes of this machine. */
const now = () => performance.timeOrigin + performance.now();

/**
 * Client-process mode (`realtime-grpc.ts client`): opens BENCH_CLIENT_STREAMS SyncFlags streams (each
 * its own connection) to 127.0.0.1:BENCH_PORT with BENCH_KEY as selector; prints `{"ready": n}` once
 * each has its first document, then, for every marker `"<value>"` it is told on stdin, the arrival
 * time of the first document containing it on every stream: `{"marker", "times": [...]}`.
 */
type Stream = Grpc.ClientReadableStream<{ flagConfiguration: string }>;

/** A raw SyncFlags stream on its own connection (the vendored proto, grpc-js). */
async function rawStream(port: number, selector: string, providerId: string): Promise<Stream> {
  const grpc = await import("@grpc/grpc-js");
  const protoLoader = await import("@grpc/proto-loader");
  const path = await import("node:path");
  const definition = protoLoader.loadSync("flagd/sync/v1/sync.proto", { includeDirs: [path.resolve(__dirname, "../src/server/flagd/proto")], keepCase: false, defaults: true });
  type ServiceClient = new (address: string, credentials: Grpc.ChannelCredentials, options: object) => Grpc.Client & { SyncFlags(request: object): Stream };
  const Service = (grpc.loadPackageDefinition(definition) as unknown as { flagd: { sync: { v1: { FlagSyncService: ServiceClient } } } }).flagd.sync.v1.FlagSyncService;
  const client = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  return client.SyncFlags({ selector, providerId });
}

async function clientMode(): Promise<void> {
  const count = Number(process.env.BENCH_CLIENT_STREAMS);
  const watched = new Map<string, { times: number[]; seen: number }>();
  let ready = 0;
  const streams: Stream[] = [];
  for (let i = 0; i < count; i++) {
    const stream = await rawStream(Number(process.env.BENCH_PORT), process.env.BENCH_KEY!, `bench-${process.pid}-${i}`);
    let first = true;
    const got = new Set<string>();
    stream.on("data", (data: { flagConfiguration: string }) => {
      const at = now();
      if (first) {
        first = false;
        if (++ready === count) process.stdout.write(`${JSON.stringify({ ready })}\n`);
      }
      for (const [marker, entry] of watched) {
        if (got.has(marker) || !data.flagConfiguration.includes(marker)) continue;
        got.add(marker);
        entry.times.push(at);
        if (++entry.seen === count) {
          process.stdout.write(`${JSON.stringify({ marker, times: entry.times })}\n`);
          watched.delete(marker);
        }
      }
    });
    stream.on("error", (error: Error) => {
      process.stderr.write(`stream ${i}: ${error.message}\n`);
      process.exit(1);
    });
    streams.push(stream);
  }
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const command = JSON.parse(line) as { watch?: string; exit?: true };
    if (command.watch) watched.set(`"${command.watch}"`, { times: [], seen: 0 });
    if (command.exit) break;
  }
  for (const stream of streams) stream.cancel();
  process.exit(0);
}

interface ClientProcess {
  child: ChildProcess;
  lines: AsyncIterator<string>;
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function nextJson<T>(client: ClientProcess, timeoutMs: number): Promise<T> {
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("client process timed out")), timeoutMs).unref());
  const next = await Promise.race([client.lines.next(), timer]);
  if (next.done) throw new Error("client process ended");
  return JSON.parse(next.value) as T;
}

async function main(): Promise<void> {
  const system = await startBenchSystem();
  const clients: ClientProcess[] = [];
  try {
    const { createServerKey } = await import("../src/server/environments/service");
    const { setFlagdEnabled } = await import("../src/server/flagd/service");
    const { OpenFeature, ProviderEvents } = await import("@openfeature/server-sdk");
    const { FlagdProvider } = await import("@openfeature/flagd-provider");
    const { session, actor, project, environment: env, features } = await benchProject({ email: "realtime@example.com", project: "realtime", features: FEATURES });
    const target = features[0];
    await setFlagdEnabled(actor, { organisationId: session.organisationId, projectId: project.id }, true);
    const { key } = await createServerKey(actor, env.id, "bench");
    const cookie = `flagpost_session=${session.token}`;
    const change = async (value: string): Promise<number> => {
      const response = await fetch(`${system.url}/api/trpc/features.updateState`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify({ featureId: target.id, environmentId: env.id, value }),
      });
      if (response.status !== 200) throw new Error(`change failed: ${response.status} ${await response.text()}`);
      return now();
    };
    let documentBytes = 0;
    for (;;) {
      const response = await fetch(`${system.url}/api/v1/flagd/flags.json`, { headers: { authorization: `Bearer ${key}` } });
      if (response.status === 200) {
        documentBytes = (await response.arrayBuffer()).byteLength;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    // 1. One in-process provider: commit → new value evaluated.
    await OpenFeature.setProviderAndWait("bench", new FlagdProvider({ resolverType: "in-process", host: "127.0.0.1", port: system.flagdSyncPort, selector: key }));
    const client = OpenFeature.getClient("bench");
    let changed: (() => void) | null = null;
    client.addHandler(ProviderEvents.ConfigurationChanged, () => changed?.());
    const providerLatencies: number[] = [];
    // Beside it, a raw stream: when the pushed document arrives, before the provider parses it.
    const raw = await rawStream(system.flagdSyncPort, key, "bench-raw");
    const rawLatencies: number[] = [];
    let rawMarker = "";
    let rawAt = 0;
    raw.on("error", (error: Grpc.ServiceError) => {
      if (error.code !== 1) log(`raw stream: ${error.message}`); // 1: CANCELLED, when it is cancelled below
    });
    raw.on("data", (data: { flagConfiguration: string }) => {
      if (rawMarker && data.flagConfiguration.includes(rawMarker)) rawAt = now();
    });
    const loadBefore = os.loadavg()[0];
    const providerCpuBefore = treeCpuSeconds(system.webPid);
    log(`provider: ${CHANGES} changes`);
    for (let i = 0; i < CHANGES; i++) {
      const value = `p${i}`;
      let seenAt = 0;
      rawMarker = `"${value}"`;
      rawAt = 0;
      const seen = new Promise<void>((resolve) => {
        changed = () => {
          void client.getStringValue("flag_0", "none").then((current) => {
            if (current === value) {
              seenAt = now();
              resolve();
            }
          });
        };
      });
      const committed = await change(value);
      await Promise.race([seen, new Promise((_, reject) => setTimeout(() => reject(new Error(`change ${i} not seen within 10 s`)), 10_000))]);
      for (let waited = 0; rawAt === 0 && waited < 2_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
      providerLatencies.push(seenAt - committed);
      if (rawAt > 0) rawLatencies.push(rawAt - committed);
    }
    raw.cancel();
    const providerCpuPerChange = ((treeCpuSeconds(system.webPid) - providerCpuBefore) / CHANGES) * 1000;
    await OpenFeature.close();

    // 2. Fan-out to STREAMS streams on the one web process.
    const rssBefore = rssMiB(system.webPid);
    const perProcess = Math.ceil(STREAMS / CLIENT_PROCESSES);
    log(`fan-out: ${STREAMS} streams from ${CLIENT_PROCESSES} client processes`);
    for (let c = 0; c < CLIENT_PROCESSES; c++) {
      const streams = Math.min(perProcess, STREAMS - c * perProcess);
      if (streams <= 0) break;
      const child = spawn(process.execPath, ["--import", "tsx", __filename, "client"], {
        env: { ...process.env, BENCH_PORT: String(system.flagdSyncPort), BENCH_KEY: key, BENCH_CLIENT_STREAMS: String(streams) },
        stdio: ["pipe", "pipe", "inherit"],
      });
      clients.push({ child, lines: readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]() });
    }
    for (const c of clients) await nextJson<{ ready: number }>(c, 120_000);
    await new Promise((r) => setTimeout(r, 2_000));
    const rssAfter = rssMiB(system.webPid);
    const metrics = await (await fetch(`${system.url}/metrics`)).text();
    const openStreams = Number(/^flagsmith_flagd_grpc_sync_streams (\d+)/m.exec(metrics)?.[1]);
    const fanOut: number[] = [];
    const roundMax: number[] = [];
    const cpuBefore = treeCpuSeconds(system.webPid);
    for (let round = 0; round < ROUNDS; round++) {
      const value = `fanout-${round}-${Date.now()}`;
      for (const c of clients) c.child.stdin!.write(`${JSON.stringify({ watch: value })}\n`);
      await new Promise((r) => setTimeout(r, 50));
      const committed = await change(value);
      const arrivals = (await Promise.all(clients.map((c) => nextJson<{ times: number[] }>(c, 30_000)))).flatMap((answer) => answer.times);
      const latencies = arrivals.map((at) => at - committed);
      fanOut.push(...latencies);
      roundMax.push(Math.max(...latencies));
      await new Promise((r) => setTimeout(r, 300));
    }
    // The web process's CPU over the rounds (each: the mutation, reloading the document, 500 writes).
    const cpuPerChange = ((treeCpuSeconds(system.webPid) - cpuBefore) / ROUNDS) * 1000;
    for (const c of clients) c.child.stdin!.write(`${JSON.stringify({ exit: true })}\n`);

    const ms = (values: number[], q: number) => percentile(values, q).toFixed(1);
    process.stdout.write(
      [
        `machine: ${machine()}; load average ${loadBefore.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end`,
        `environment: ${FEATURES} features, flagd document ${documentBytes} bytes`,
        `1. commit → in-process provider evaluates the new value (${CHANGES} changes, @openfeature/flagd-provider in-process):`,
        `   p50 ${ms(providerLatencies, 50)} ms   p90 ${ms(providerLatencies, 90)} ms   p99 ${ms(providerLatencies, 99)} ms   max ${Math.max(...providerLatencies).toFixed(1)} ms`,
        `   (the pushed document on a raw stream beside it: p50 ${ms(rawLatencies, 50)} ms   p99 ${ms(rawLatencies, 99)} ms)`,
        `   target p99 < 100 ms: ${percentile(providerLatencies, 99) < 100 ? "met" : "NOT met"}; web process ${providerCpuPerChange.toFixed(1)} ms CPU per change (two streams)`,
        `2. commit → document received on each of ${openStreams} open streams (${ROUNDS} changes, ${fanOut.length} deliveries, ${clients.length} client processes):`,
        `   p50 ${ms(fanOut, 50)} ms   p90 ${ms(fanOut, 90)} ms   p99 ${ms(fanOut, 99)} ms   max ${Math.max(...fanOut).toFixed(1)} ms; slowest stream per change: median ${ms(roundMax, 50)} ms`,
        `   target p99 < 500 ms: ${percentile(fanOut, 99) < 500 ? "met" : "NOT met"}`,
        `   web process: ${cpuPerChange.toFixed(1)} ms CPU per change pushed to every stream (${(((cpuPerChange - providerCpuPerChange) * 1000) / (openStreams - 2)).toFixed(0)} µs per stream more than with two); RSS +${(rssAfter - rssBefore).toFixed(1)} MiB for the streams (${(((rssAfter - rssBefore) * 1024) / openStreams).toFixed(1)} KiB each)`,
      ].join("\n") + "\n",
    );
  } finally {
    for (const c of clients) c.child.kill();
    await system.stop();
  }
}

if (process.argv[2] === "client") {
  clientMode().catch((error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
