/**
 * How much a fixed amount of work per request costs in throughput on this machine:
 * `npx tsx bench/amplification.ts`.
 *
 * The bare 304 server of bench/flagd.ts, in its own process, with a busy loop of 0, 10 and 20 µs
 * per request, under the same autocannon load (32 connections). Shows what a ratio target against a
 * bare server leaves for real work per request (docs/performance.md).
 *
 * Options (environment): BENCH_DURATION (seconds per run, default 6), BENCH_CONNECTIONS (default 32).
 */
import { spawn } from "node:child_process";
import { log, machine, measureOnce } from "./lib";

const DURATION = Number(process.env.BENCH_DURATION ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

const SERVER = `
const http = require("node:http");
const busyNs = BigInt(Math.round(Number(process.env.BUSY_US) * 1000));
const server = http.createServer((req, res) => {
  if (busyNs > 0n) { const start = process.hrtime.bigint(); while (process.hrtime.bigint() - start < busyNs); }
  res.writeHead(304, { etag: '"bench"', "cache-control": "no-cache" });
  res.end();
});
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"));
`;

async function run(busyMicros: number) {
  const child = spawn(process.execPath, ["-e", SERVER], { env: { ...process.env, BUSY_US: String(busyMicros) }, stdio: ["ignore", "pipe", "inherit"] });
  try {
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
      child.once("exit", (code) => reject(new Error(`server exited ${code}`)));
    });
    const options = { url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, headers: { "if-none-match": '"bench"' } };
    log(`busy ${busyMicros} µs: warm-up, then ${DURATION} s`);
    await measureOnce(options, 2);
    return await measureOnce(options, DURATION, child.pid);
  } finally {
    child.kill();
  }
}

async function main(): Promise<void> {
  const results: { busy: number; rps: number; cpu: number }[] = [];
  for (const busy of [0, 10, 20, 0]) {
    const r = await run(busy);
    results.push({ busy, rps: r.rps, cpu: r.cpuMicrosPerRequest });
  }
  const baseline = (results[0].rps + results[3].rps) / 2;
  const lines = [`machine: ${machine()}`, `bare 304 server + busy loop per request (${CONNECTIONS} connections, ${DURATION} s each):`];
  for (const r of results) lines.push(`  busy ${String(r.busy).padStart(2)} µs   ${r.rps.toFixed(0).padStart(7)} req/s   ${r.cpu.toFixed(1)} µs CPU/request   ${(r.rps / baseline).toFixed(2)}× no busy loop`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
