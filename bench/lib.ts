/**
 * Shared pieces of the benchmarks: a throwaway Flagpost (embedded PostgreSQL + `next start` + worker),
 * autocannon, a bare-Node reference server in its own process, CPU accounting, and the machine line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

export interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  "2xx": number;
  statusCodeStats?: Record<string, { count: number }>;
  duration: number;
}
export interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
}
export interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  requests?: AutocannonRequest[];
}
type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult>;

// autocannon ships no type declarations; the interfaces above describe what the benchmarks use.
export const autocannon = createRequire(__filename)("autocannon") as Autocannon;

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? "unknown CPU"} × ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** utime + stime of a process and its descendants, in seconds (Linux /proc; USER_HZ = 100). */
export function treeCpuSeconds(rootPid: number): number {
  const pids = [rootPid];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (pids.includes(ppid)) pids.push(Number(entry));
    } catch {
      // process gone
    }
  }
  return pids.reduce((total, pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return total + (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return total;
    }
  }, 0);
}

export interface BenchSystem {
  url: string;
  /** The web process's flagd gRPC sync port (127.0.0.1). */
  flagdSyncPort: number;
  databaseUrl: string;
  webPid: number;
  stop(): Promise<void>;
}

/** A throwaway Flagpost; sets DATABASE_URL so the benchmark can use the services directly for set-up. */
export async function startBenchSystem(env: Record<string, string> = {}): Promise<BenchSystem> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-bench-"));
  const { startEmbeddedPostgres } = await import("../src/server/db/embedded");
  const { migrateDatabase } = await import("../src/server/db/migrate");
  const { startSystem } = await import("../tests/support/system");
  log("starting embedded PostgreSQL");
  const database = await startEmbeddedPostgres({ dataDir, database: "bench" });
  await migrateDatabase(database.url);
  process.env.DATABASE_URL = database.url;
  process.env.LOG_LEVEL = "warn";
  // The benchmarks read /metrics from the public port (METRICS_PORT=0), as before it moved to its own.
  log("starting next start + worker (building if needed)");
  const system = await startSystem({ databaseUrl: database.url, guard: (pid) => database.guard(pid), env: { LOG_LEVEL: "warn", METRICS_PORT: "0", ...env } });
  return {
    url: system.url,
    flagdSyncPort: system.flagdSyncPort,
    databaseUrl: database.url,
    webPid: system.web.pid!,
    async stop() {
      const { closeDb } = await import("../src/server/db/client");
      await closeDb();
      await system.stop();
      await database.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The set-up every flag benchmark starts from, through the services as an operator would through the
 * UI: a signed-up user, one project, a "Production" environment, and `features` features `flag_0`…
 * (value `v<i>`, enabled where `enabled(i)` says).
 */
export async function benchProject(options: { email: string; project: string; features: number; enabled?: (index: number) => boolean }) {
  const { signUp } = await import("../src/server/auth/service");
  const { actorOf, principalFromSessionToken } = await import("../src/server/auth/principal");
  const { createProject } = await import("../src/server/projects/service");
  const { createEnvironment } = await import("../src/server/environments/service");
  const { createFeature } = await import("../src/server/features/service");
  const session = await signUp({ email: options.email, name: "Bench", password: "bench-password" });
  const actor = actorOf((await principalFromSessionToken(session.token))!);
  const project = await createProject(actor, session.organisationId, options.project);
  const environment = await createEnvironment(actor, project.id, { name: "Production" });
  const enabled = options.enabled ?? (() => true);
  const features = [];
  for (let i = 0; i < options.features; i++) features.push(await createFeature(actor, project.id, { name: `flag_${i}`, defaultEnabled: enabled(i), initialValue: `v${i}` }));
  return { session, actor, project, environment, features };
}

const BARE_SERVER = `
const http = require("node:http");
const body = Buffer.from(process.env.BENCH_BODY, "base64");
const status = Number(process.env.BENCH_STATUS);
const headers = JSON.parse(process.env.BENCH_HEADERS);
const key = process.env.BENCH_KEY;
const server = http.createServer((req, res) => {
  if (key && req.headers["x-environment-key"] !== key) { res.writeHead(401); res.end(); return; }
  if (status === 304) { res.writeHead(304, headers); res.end(); return; }
  res.writeHead(status, { ...headers, "content-length": body.length });
  res.end(body);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"));
`;

/**
 * A bare Node `http` server in its own process answering every request with the same bytes (after
 * checking `X-Environment-Key` when `key` is given, as the SDK API does).
 */
export async function startBareServer(options: { status: number; body?: Buffer; headers: Record<string, string>; key?: string }): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["-e", BARE_SERVER], {
    env: {
      ...process.env,
      BENCH_BODY: (options.body ?? Buffer.alloc(0)).toString("base64"),
      BENCH_STATUS: String(options.status),
      BENCH_HEADERS: JSON.stringify(options.headers),
      BENCH_KEY: options.key ?? "",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once("exit", (code) => reject(new Error(`bare server exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

export interface Load {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  errors: number;
  statuses: Record<string, number>;
}

/** One autocannon run (no warm-up), with the CPU the process tree of `cpuPid` used during it. */
export async function measureOnce(options: Omit<AutocannonOptions, "duration">, seconds: number, cpuPid?: number): Promise<Load & { cpuMicrosPerRequest: number }> {
  const before = cpuPid ? treeCpuSeconds(cpuPid) : 0;
  const result = await autocannon({ ...options, duration: seconds });
  const cpuMicrosPerRequest = cpuPid ? ((treeCpuSeconds(cpuPid) - before) / Math.max(1, result.requests.total)) * 1e6 : NaN;
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, total: result.requests.total, errors: result.errors + result.timeouts, statuses, cpuMicrosPerRequest };
}

export function median(values: number[]): number {
  return percentile(values, 50);
}
