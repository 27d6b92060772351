import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toolDatabase } from "../../../src/server/db/local";

let dataDir: string;
const saved = { url: process.env.DATABASE_URL, dir: process.env.FLAGPOST_DATA_DIR };

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-tool-db-"));
  fs.mkdirSync(path.join(dataDir, "postgres"));
  delete process.env.DATABASE_URL;
  process.env.FLAGPOST_DATA_DIR = dataDir;
});

afterEach(() => {
  process.env.DATABASE_URL = saved.url;
  if (saved.dir === undefined) delete process.env.FLAGPOST_DATA_DIR;
  else process.env.FLAGPOST_DATA_DIR = saved.dir;
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A postmaster.pid naming a live process (this one), as a running server's would. */
function livePostmaster(): void {
  fs.writeFileSync(path.join(dataDir, "postgres", "postmaster.pid"), `${process.pid}\n${dataDir}/postgres\n`);
}

describe("command-line tools' database", () => {
  it("toolDatabase__nothingRunning__startsItsOwnEmbeddedServer", () => {
    // Given an idle data directory
    // When a tool chooses its database
    // Then it starts the embedded server itself
    expect(toolDatabase()).toEqual({ source: "embedded" });
  });

  it("toolDatabase__runningNpmStart__usesItsRecordedUrl", () => {
    // Given a running `npm start` (its runtime record names a live launcher) on the data directory
    livePostmaster();
    fs.writeFileSync(path.join(dataDir, "runtime.json"), JSON.stringify({ url: "postgres://launcher/flagpost", launcherPid: process.pid }));

    // When a tool chooses its database
    // Then it uses that database
    expect(toolDatabase()).toEqual({ source: "launcher", url: "postgres://launcher/flagpost" });
  });

  it("toolDatabase__foreignServerOnDataDirectory__refusedRatherThanStopped", () => {
    // Given a PostgreSQL running on the data directory for no live `npm start` (another tool's)
    livePostmaster();
    fs.writeFileSync(path.join(dataDir, "runtime.json"), JSON.stringify({ url: "postgres://gone/flagpost", launcherPid: 2 ** 22 + 12345 }));

    // When a tool chooses its database
    // Then it refuses, naming the server, and the server is left alone
    expect(() => toolDatabase()).toThrow(`PostgreSQL (pid ${process.pid}) is already running on ${dataDir}/postgres`);
  });
});
