/**
 * For tests of what the admin UI shows under Flagpost's own gates (docs/rollouts.md): a second web
 * process on the system's database whose shipped-flags file sets some gates, Chromium, and pages
 * signed in as a fixture user. The system under test (`systemUrl`) serves the shipped flags (every
 * gate on), so one test compares the same pages in both processes.
 */
import type { ChildProcess } from "node:child_process";
import { chromium, type Browser, type Page } from "playwright";
import { afterAll, beforeAll, inject } from "vitest";
import { SESSION_COOKIE } from "../../../src/server/auth/principal";
import { resetSettingsForTests } from "../../../src/server/config";
import { flagsFileWith } from "../../support/flags-files";
import { startWebProcess, stopProcess } from "../../support/system";

export interface GatedUi {
  /** The system under test: every gate on. */
  readonly openUrl: string;
  /** A second web process on the same database with `gates` applied. */
  readonly gatedUrl: string;
  /** A page of `base`, signed in with `sessionToken`; closed with its context after `visit`. */
  withPage<T>(base: string, sessionToken: string, visit: (page: Page) => Promise<T>): Promise<T>;
}

/** Registers the file's beforeAll/afterAll; fixtures made in the file go to the system's database. */
export function gatedUi(gates: Record<string, boolean>): GatedUi {
  const databaseUrl = inject("systemDatabaseUrl");
  process.env.DATABASE_URL = databaseUrl;
  resetSettingsForTests();
  let browser: Browser | undefined;
  let gated: { url: string; child: ChildProcess } | undefined;

  beforeAll(async () => {
    gated = await startWebProcess({ databaseUrl, env: { FLAGPOST_FLAGS_FILE: flagsFileWith(gates) } });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (gated) await stopProcess(gated.child);
  });

  return {
    openUrl: inject("systemUrl"),
    get gatedUrl() {
      return gated!.url;
    },
    async withPage(base, sessionToken, visit) {
      const context = await browser!.newContext({ baseURL: base });
      try {
        await context.addCookies([{ name: SESSION_COOKIE, value: sessionToken, url: base }]);
        return await visit(await context.newPage());
      } finally {
        await context.close();
      }
    },
  };
}
