/**
 * The admin UI hides what a gate turns off (issue 17): the same project's pages in Chromium, served
 * by the system under test (shipped flags: every gate on) and by a second web process on the same
 * database whose flags file turns `context_evaluation` off. The UI learns the gates from the server
 * (`rollouts.gates`); no SDK key reaches the browser.
 */
import type { ChildProcess } from "node:child_process";
import { chromium, type Browser } from "playwright";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SESSION_COOKIE } from "../../../src/server/auth/principal";
import { resetSettingsForTests } from "../../../src/server/config";
import { flagsFileWith } from "../../support/flags-files";
import { startWebProcess, stopProcess } from "../../support/system";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";

const systemUrl = inject("systemUrl");
const databaseUrl = inject("systemDatabaseUrl");
// Fixtures are made in-process on the system's database.
process.env.DATABASE_URL = databaseUrl;
resetSettingsForTests();

let browser: Browser;
let gatedOff: { url: string; child: ChildProcess; logs: string[] };

beforeAll(async () => {
  gatedOff = await startWebProcess({ databaseUrl, env: { FLAGPOST_FLAGS_FILE: flagsFileWith({ context_evaluation: false }) } });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (gatedOff) await stopProcess(gatedOff.child);
});

describe("gated admin UI", () => {
  it("contextEvaluationGate__onInOneProcessOffInTheOther__testAContextShownOnlyWhereOn", { timeout: 120_000 }, async () => {
    // Given a user with a project and an environment, and the user's session
    const user = await signUpUser();
    const { project, environments } = await projectWithEnvironments(user, ["Production"]);
    const path = `/p/${project.id}/e/${environments[0].id}/features`;

    // When the features page is opened in each process
    const open = async (base: string) => {
      const context = await browser.newContext({ baseURL: base });
      await context.addCookies([{ name: SESSION_COOKIE, value: user.token, url: base }]);
      const page = await context.newPage();
      await page.goto(path);
      await page.getByRole("heading", { name: "Features" }).first().waitFor();
      // (the gates have arrived once the page has asked for them)
      await page.waitForLoadState("networkidle");
      const shown = await page.getByRole("button", { name: "Test a context" }).count();
      await context.close();
      return shown;
    };
    const withGateOn = await open(systemUrl);
    const withGateOff = await open(gatedOff.url);

    // Then "Test a context" is offered only where the gate is on
    expect(withGateOn).toBe(1);
    expect(withGateOff).toBe(0);
  });
});
