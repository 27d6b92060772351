/**
 * Per test file: a fresh database cloned from the migrated template, used through DATABASE_URL by
 * everything the file calls (services, tRPC callers, workers it starts).
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, inject } from "vitest";
import { closeDb } from "../../../src/server/db/client";
import { resetSettingsForTests } from "../../../src/server/config";
import { setLogDestination } from "../../../src/server/observability/logger";

const adminUrl = inject("pgAdminUrl");
const template = inject("templateDatabase");
const name = `test_${randomBytes(6).toString("hex")}`;

const admin = new pg.Client(adminUrl);
await admin.connect();
for (let attempt = 0; ; attempt++) {
  try {
    await admin.query(`create database ${name} template ${template}`);
    break;
  } catch (error) {
    // Two files cloning at the same instant can briefly contend for the template.
    if (attempt >= 20) throw error;
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
  }
}
await admin.end();

process.env.DATABASE_URL = adminUrl.replace(/\/postgres$/, `/${name}`);
process.env.PROPAGATED_HEADERS ??= "traceparent,x-tenant-id";
resetSettingsForTests();
// Log lines are asserted through captureLogs(); otherwise keep test output readable.
setLogDestination({ write: () => undefined });

afterAll(async () => {
  await closeDb();
});
