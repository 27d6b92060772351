/**
 * What a Flagpost connection sends PostgreSQL (or a pooler in front of it) when it starts: the
 * startup message as it goes over the wire, read by a stand-in server. PgBouncer refuses startup
 * parameters it does not know ("unsupported startup parameter"), statement_timeout and
 * idle_in_transaction_session_timeout among them; DATABASE_STARTUP_TIMEOUTS=false leaves them out.
 */
import net from "node:net";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { resetSettingsForTests } from "@/server/config";
import { poolOptions } from "@/server/db/client";

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  resetSettingsForTests();
});

/** Connects with `config` to a stand-in server and returns the startup parameters it received. */
async function startupParameters(config: pg.ClientConfig): Promise<Record<string, string>> {
  let received!: (params: Record<string, string>) => void;
  const params = new Promise<Record<string, string>>((resolve) => (received = resolve));
  const server = net.createServer((socket) => {
    socket.once("data", (data) => {
      // int32 length, int32 protocol 3.0, then name\0value\0 … \0
      const fields = data.subarray(8, data.readInt32BE(0)).toString("utf8").split("\0");
      const out: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length && fields[i] !== ""; i += 2) out[fields[i]] = fields[i + 1];
      received(out);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const client = new pg.Client({ ...config, connectionString: `postgres://flagpost:secret@127.0.0.1:${port}/flagpost` });
  client.on("error", () => undefined);
  await client.connect().catch(() => undefined);
  const result = await params;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return result;
}

describe("poolOptions", () => {
  it("poolOptions__defaults__timeoutsSentAsStartupParameters", async () => {
    // Given a web process with default settings
    process.env.FLAGPOST_PROCESS = "web";
    delete process.env.DATABASE_STARTUP_TIMEOUTS;
    resetSettingsForTests();

    // When a connection starts with the pool's options
    const params = await startupParameters(poolOptions("postgres://unused") as pg.ClientConfig);

    // Then the server-side timeouts travel as startup parameters (what a direct or session-mode connection wants)
    expect(params).toMatchObject({ user: "flagpost", database: "flagpost", application_name: "web", statement_timeout: "1500", idle_in_transaction_session_timeout: "10000" });
  });

  it("poolOptions__startupTimeoutsFalse__onlyParametersAPoolerAcceptsStillBoundedOnTheClient", async () => {
    // Given DATABASE_STARTUP_TIMEOUTS=false (a transaction pooler in front of PostgreSQL)
    process.env.FLAGPOST_PROCESS = "web";
    process.env.DATABASE_STARTUP_TIMEOUTS = "false";
    resetSettingsForTests();

    // When a connection starts with the pool's options
    const options = poolOptions("postgres://unused");
    const params = await startupParameters(options as pg.ClientConfig);

    // Then it sends no timeout PgBouncer would refuse, and the client still stops waiting past the statement timeout
    const pgBouncerAccepts = ["user", "database", "application_name", "client_encoding", "datestyle", "timezone", "standard_conforming_strings"];
    expect(Object.keys(params).filter((name) => !pgBouncerAccepts.includes(name))).toEqual([]);
    expect(params).toMatchObject({ user: "flagpost", database: "flagpost", application_name: "web" });
    expect(params).not.toHaveProperty("statement_timeout");
    expect(params).not.toHaveProperty("idle_in_transaction_session_timeout");
    expect(options.query_timeout).toBe(1750);
    expect(options.connectionTimeoutMillis).toBe(1500);
  });

  it("settings__startupTimeoutsNotABoolean__refusedAtStart", async () => {
    // Given a mistyped value
    process.env.DATABASE_STARTUP_TIMEOUTS = "flase";
    resetSettingsForTests();

    // When the pool's options are built
    // Then the setting is refused rather than read as either
    expect(() => poolOptions("postgres://unused")).toThrow('Expected true or false, got "flase"');
  });
});
