import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres } from "../src/server/db/embedded";
import { migrateDatabase } from "../src/server/db/migrate";
import { startSystem } from "../tests/support/system";

export default async function globalSetup() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-e2e-"));
  const database = await startEmbeddedPostgres({ dataDir, database: "flagpost_e2e", ephemeral: true });
  await migrateDatabase(database.url);
  // Every test signs up from 127.0.0.1: more than the default sign-up throttle allows in an hour.
  const system = await startSystem({ databaseUrl: database.url, guard: (pid) => database.guard(pid), env: { SIGN_UP_ADDRESS_MAX_ATTEMPTS: "1000" } });
  process.env.E2E_BASE_URL = system.url;
  process.env.E2E_DATABASE_URL = database.url;
  return async () => {
    await system.stop();
    await database.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
