/**
 * startRecovery against a database that refuses connections (a worker starting during an outage):
 * the start fails, and leaves nothing behind — no lock connection retrying for ever on behalf of a
 * recovery nobody holds (one more per failed start, each taking a pooled connection once the
 * database is back). The recovery itself, on a real database, is covered by the integration tests.
 */
import net from "node:net";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { setLogDestination } from "@/server/observability/logger";
import { startRecovery } from "@/worker/recovery";

let events: string[] = [];
afterEach(() => setLogDestination({ write: () => undefined }));

async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("startRecovery", () => {
  it("startRecovery__databaseRefusesConnections__failsAndNothingKeepsRetrying", { timeout: 10_000 }, async () => {
    // Given a pool whose database refuses connections, and the worker's log lines captured
    events = [];
    setLogDestination({ write: (line: string) => void events.push((JSON.parse(line) as { event: string }).event) });
    const pool = new pg.Pool({ connectionString: `postgres://flagpost:secret@127.0.0.1:${await refusedPort()}/flagpost`, connectionTimeoutMillis: 500 });
    pool.on("error", () => undefined);

    // When a recovery is started on it, and some time passes
    const started = await startRecovery(pool, { sweepIntervalMs: 60_000 }).then(
      () => "started",
      (error: unknown) => (error as Error).message,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    // Then the start failed on the connection, and no lock connection was tried, then or since
    expect(started).toContain("ECONNREFUSED");
    expect(events.filter((event) => event === "jobs.lock_connection_failed")).toEqual([]);
    await pool.end();
  });
});
