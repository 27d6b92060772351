/**
 * Outage helpers for system tests: a PostgreSQL of the test's own (so it can be stopped and frozen
 * without disturbing the other test files), and load loops that record every answer.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../../src/server/db/embedded";
import { migrateDatabase } from "../../src/server/db/migrate";

export interface OwnDatabase {
  url: string;
  current: EmbeddedDatabase;
  /** Stops the server (fast shutdown, as `pg_ctl stop -m fast`). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** SIGSTOP every process of the server (postmaster and backends): it accepts nothing and answers nothing. */
  freeze(): void;
  thaw(): void;
  destroy(): Promise<void>;
}

function clusterPids(postmaster: number): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" });
  const pids = [postmaster];
  for (const line of out.trim().split("\n")) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (ppid === postmaster) pids.push(pid);
  }
  return pids;
}

export async function ownDatabase(): Promise<OwnDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-outage-"));
  let current = await startEmbeddedPostgres({ dataDir, database: "flagpost", ephemeral: true });
  await migrateDatabase(current.url);
  const port = current.port;
  let frozen: number[] = [];
  const handle: OwnDatabase = {
    url: current.url,
    get current() {
      return current;
    },
    async stop() {
      await current.stop();
    },
    async start() {
      current = await startEmbeddedPostgres({ dataDir, database: "flagpost", ephemeral: true, port });
    },
    freeze() {
      frozen = clusterPids(current.pid);
      for (const pid of frozen) process.kill(pid, "SIGSTOP");
    },
    thaw() {
      for (const pid of frozen) {
        try {
          process.kill(pid, "SIGCONT");
        } catch {
          // gone
        }
      }
      frozen = [];
    },
    async destroy() {
      handle.thaw();
      await current.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

export interface Sample {
  name: string;
  status: number;
  ms: number;
}

/** Runs `requests` round-robin with `concurrency` workers for `durationMs`; every answer is recorded. */
export async function hammer(durationMs: number, requests: Record<string, () => Promise<Response>>, concurrency = 4): Promise<Sample[]> {
  const samples: Sample[] = [];
  const names = Object.keys(requests);
  const deadline = Date.now() + durationMs;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const name = names[next++ % names.length];
        const started = performance.now();
        let status = 0;
        try {
          const response = await requests[name]();
          status = response.status;
          await response.arrayBuffer();
        } catch {
          status = -1;
        }
        samples.push({ name, status, ms: performance.now() - started });
      }
    }),
  );
  return samples;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Per request name: answers by status, p50/p99/max in ms. */
export function summarise(samples: Sample[]): Record<string, { count: number; statuses: Record<string, number>; p50: number; p99: number; max: number }> {
  const out: Record<string, { count: number; statuses: Record<string, number>; p50: number; p99: number; max: number }> = {};
  const byName = new Map<string, Sample[]>();
  for (const sample of samples) byName.set(sample.name, [...(byName.get(sample.name) ?? []), sample]);
  for (const [name, list] of byName) {
    const statuses: Record<string, number> = {};
    for (const sample of list) statuses[sample.status] = (statuses[sample.status] ?? 0) + 1;
    const ms = list.map((sample) => sample.ms);
    out[name] = { count: list.length, statuses, p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(...ms) };
  }
  return out;
}
