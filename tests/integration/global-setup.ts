/**
 * Integration-test database: one throwaway embedded PostgreSQL cluster per test run (fresh temp
 * dir), a migrated template database, and one database per test file cloned from it
 * (support/setup.ts). Also starts the system under test for HTTP tests — `next start` (built if
 * needed) and a real worker process — against its own database (support/system.ts).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../src/server/db/embedded";
import { migrateDatabase } from "../../src/server/db/migrate";
import { startSystem, type RunningSystem } from "../support/system";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
    templateDatabase: string;
    systemUrl: string;
    systemMetricsUrl: string;
    /** Where the system's web process and worker write every log line (web.log, worker.log). */
    systemLogDir: string;
    systemDatabaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-test-"));
  const database = await startEmbeddedPostgres({ dataDir, database: "flagpost_template", ephemeral: true });
  await migrateDatabase(database.url);

  const systemDatabase = "flagpost_system";
  const admin = new pg.Client(database.adminUrl);
  await admin.connect();
  await admin.query(`create database ${systemDatabase} template flagpost_template`);
  await admin.end();
  const systemDatabaseUrl = database.adminUrl.replace(/\/postgres$/, `/${systemDatabase}`);

  const logDir = path.join(dataDir, "system-logs");
  fs.mkdirSync(logDir);
  let system: RunningSystem | undefined;
  try {
    // TRUST_PROXY_HOPS=1: a test can pick its client address with X-Forwarded-For (throttles per
    // address stay apart between tests); requests without the header count for 127.0.0.1 as before.
    system = await startSystem({ databaseUrl: systemDatabaseUrl, guard: (pid) => database.guard(pid), env: { TRUST_PROXY_HOPS: "1" }, logDir });
  } catch (error) {
    await database.stop();
    throw error;
  }

  project.provide("pgAdminUrl", database.adminUrl);
  project.provide("templateDatabase", "flagpost_template");
  project.provide("systemUrl", system.url);
  project.provide("systemMetricsUrl", system.metricsUrl);
  project.provide("systemLogDir", logDir);
  project.provide("systemDatabaseUrl", systemDatabaseUrl);

  return async () => {
    await system?.stop();
    await database.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
