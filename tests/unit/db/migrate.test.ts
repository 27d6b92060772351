/**
 * migrateDatabase's bounded connect: a server that accepts TCP connections but never answers (a
 * frozen PostgreSQL, SIGSTOPped or behind a dead link) fails the migration with a connection error
 * within the connect timeout, instead of leaving the starting process waiting for ever.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "@/server/db/availability";
import { migrateDatabase } from "@/server/db/migrate";

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

/** Accepts connections and reads the startup message, then says nothing (a frozen server). */
async function silentServer(): Promise<number> {
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

describe("migrateDatabase", () => {
  it("migrateDatabase__serverAcceptsButNeverAnswers__failsWithAConnectionErrorWithinTheConnectTimeout", { timeout: 10_000 }, async () => {
    // Given a "PostgreSQL" that accepts connections and answers nothing
    const port = await silentServer();

    // When migrations are applied to it with a 300 ms connect timeout
    const started = Date.now();
    const error = await migrateDatabase(`postgres://flagpost:secret@127.0.0.1:${port}/flagpost`, undefined, { connectTimeoutMs: 300 }).then(
      () => undefined,
      (failure: unknown) => failure,
    );

    // Then it fails soon after the timeout, with an error that says the database is unreachable
    expect(error).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it("migrateDatabase__noServerOnThePort__failsWithAConnectionError", async () => {
    // Given a port nothing listens on
    const port = await silentServer();
    await new Promise<void>((resolve) => servers.pop()!.close(() => resolve()));

    // When migrations are applied to it
    const error = await migrateDatabase(`postgres://flagpost:secret@127.0.0.1:${port}/flagpost`, undefined, { connectTimeoutMs: 300 }).then(
      () => undefined,
      (failure: unknown) => failure,
    );

    // Then the failure is a connection error (what the launcher starts web and worker through)
    expect(isDatabaseUnavailable(error)).toBe(true);
  });
});
