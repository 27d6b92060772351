/**
 * Defaults that depend on which process reads them: the web process's bounded database waits,
 * whoever starts it, and flagd gRPC sync on loopback whatever HOST the web server listens on.
 * (tests/integration/system/web-entry.test.ts starts scripts/web.ts itself without FLAGPOST_PROCESS.)
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { resetSettingsForTests, settings } from "@/server/config";

const root = path.resolve(__dirname, "../../..");
const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  resetSettingsForTests();
  vi.resetModules();
});

/** The module paths a file imports, in order (comments stripped). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...text.matchAll(/^import\s+(?:[^"']+\s+from\s+)?["']([^"']+)["']/gm)].map((match) => match[1]);
}

describe("process defaults", () => {
  it.each([
    ["scripts/web.ts", "./web-env", "scripts/web-env.ts", "web", 1500, 1500],
    ["src/worker/main.ts", "./worker-env", "src/worker/worker-env.ts", "worker", 5000, 30_000],
  ])("%s__startedWithoutFlagpostProcess__namesItselfBeforeAnythingReadsTheSettings", async (entry, first, envModule, name, connectMs, statementMs) => {
    // Given an entry point started without FLAGPOST_PROCESS (node directly, e.g. as a container's PID 1)
    delete process.env.FLAGPOST_PROCESS;
    delete process.env.DATABASE_CONNECT_TIMEOUT_MS;
    delete process.env.DATABASE_STATEMENT_TIMEOUT_MS;
    resetSettingsForTests();

    // When its first import runs, and the settings are read after it
    await import(path.join(root, envModule));
    const resolved = settings();

    // Then the entry imports it before any other module, and the process gets its own name and timeouts
    expect(importsOf(entry)[0]).toBe(first);
    expect(resolved.processName).toBe(name);
    expect(resolved.databaseConnectTimeoutMs).toBe(connectMs);
    expect(resolved.databaseStatementTimeoutMs).toBe(statementMs);
  });

  it("webEnv__flagpostProcessSet__keptAsItIs", async () => {
    // Given FLAGPOST_PROCESS set by whoever started the process
    process.env.FLAGPOST_PROCESS = "web-canary";

    // When the web's first import runs
    await import(path.join(root, "scripts/web-env.ts"));

    // Then the explicit name stays
    expect(process.env.FLAGPOST_PROCESS).toBe("web-canary");
  });

  it("flagdSyncHost__hostIsPublic__loopbackUnlessSetItself", () => {
    // Given a web process listening on every interface (behind a load balancer)
    process.env.HOST = "0.0.0.0";
    delete process.env.FLAGD_SYNC_HOST;
    resetSettingsForTests();

    // When the settings are read, then with FLAGD_SYNC_HOST set
    const byDefault = settings().flagdSyncHost;
    process.env.FLAGD_SYNC_HOST = "10.0.0.5";
    resetSettingsForTests();
    const explicit = settings().flagdSyncHost;

    // Then gRPC sync stays on loopback until it is given an address of its own
    expect(byDefault).toBe("127.0.0.1");
    expect(explicit).toBe("10.0.0.5");
  });
});
