/**
 * Pushed changes to the official browser clients, in Chromium: the OpenFeature web SDK with the OFREP web provider
 * (polling off: only the OFREP event stream can tell it), and the `flagsmith` JS client with `realtime: true`. The
 * clients run on a page of another origin (tests/support/client-pages.ts), as an application would; the change is
 * made by a person in the admin UI (the feature list's switch).
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { Page } from "@playwright/test";
import { startClientPages, type ClientPages } from "../tests/support/client-pages";
import { expect, routeIds, setUpProject, test, trpcMutation } from "./fixtures";

interface RecordedEvent {
  type: string;
  at: number;
}

const run = promisify(execFile);

let clients: ClientPages;

test.beforeAll(async () => {
  clients = await startClientPages();
});

test.afterAll(async () => {
  await clients?.close();
});

/** A Development environment with feature `banner` ("hello", off); its client key; the admin page on the feature list. */
async function environmentWithBanner(page: Page): Promise<string> {
  await setUpProject(page, ["Development"]);
  const { projectId } = routeIds(page);
  await trpcMutation(page, "features.create", { projectId, name: "banner", initialValue: "hello", defaultEnabled: false });
  const clientKey = await page.getByLabel("Client-side environment key").inputValue();
  await page.getByRole("complementary", { name: "Navigation" }).getByRole("link", { name: "Features", exact: true }).click();
  await expect(page.getByRole("switch", { name: "Enable banner" })).toHaveAttribute("aria-checked", "false");
  return clientKey;
}

test("ofrepWebProvider__featureSwitchedOnInAdminUi__configurationChangedWithoutPolling", async ({ page, context, baseURL }) => {
  test.setTimeout(120_000);
  // Given the OFREP web provider on a page of another origin, with polling off, showing the flag switched off
  const clientKey = await environmentWithBanner(page);
  const app = await context.newPage();
  await app.goto(clients.url("ofrep", { flagpost: baseURL!, key: clientKey, poll: "0", flags: "banner" }));
  await expect(app.locator("body")).toHaveAttribute("data-ready", "true");
  await expect(app.locator('[data-flag="banner"]')).toContainText("(DISABLED)");
  await app.evaluate(() => Object.assign(window, { loadedOnce: true }));

  // When a person switches the feature on in the admin UI
  const switchedAt = Date.now();
  await page.getByRole("switch", { name: "Enable banner" }).click();
  await expect(page.getByRole("switch", { name: "Enable banner" })).toHaveAttribute("aria-checked", "true");

  // Then the provider emits PROVIDER_CONFIGURATION_CHANGED (no poll could have told it), the page shows the value, unreloaded
  await expect(app.locator('[data-flag="banner"]')).toHaveText('banner="hello" (STATIC)', { timeout: 10_000 });
  const events = await app.evaluate(() => (window as unknown as { ofrepPage: { events: RecordedEvent[] } }).ofrepPage.events);
  // (ready first, never stale or in error; a change event before the switch — a revision written just after the
  // first fetch, caught up by the stream — is allowed, but the switch itself must have been pushed)
  expect(events[0]?.type).toBe("PROVIDER_READY");
  expect(new Set(events.map((event) => event.type))).toEqual(new Set(["PROVIDER_READY", "PROVIDER_CONFIGURATION_CHANGED"]));
  expect(events.filter((event) => event.type === "PROVIDER_CONFIGURATION_CHANGED" && event.at >= switchedAt)).toHaveLength(1);
  expect(await app.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
});

test("flagsmithJsClient__realtimeOnAndFeatureSwitchedOnInAdminUi__showsTheNewValueWithoutReloading", async ({ page, context, baseURL }) => {
  test.setTimeout(120_000);
  // Given the flagsmith JS client with realtime on (its event source pointed at this instance), on another origin
  const clientKey = await environmentWithBanner(page);
  const app = await context.newPage();
  await app.goto(clients.url("flagsmith", { flagpost: baseURL!, key: clientKey }));
  await expect(app.locator("body")).toHaveAttribute("data-ready", "true");
  await expect(app.locator('[data-flag="banner"]')).toHaveText("banner=null enabled=false");
  await app.evaluate(() => Object.assign(window, { loadedOnce: true }));

  // When a person switches the feature on in the admin UI
  await page.getByRole("switch", { name: "Enable banner" }).click();
  await expect(page.getByRole("switch", { name: "Enable banner" })).toHaveAttribute("aria-checked", "true");

  // Then the client fetches again on the stream's event and its change callback shows the value, the page not reloaded
  await expect(app.locator('[data-flag="banner"]')).toHaveText('banner="hello" enabled=true', { timeout: 10_000 });
  const changes = await app.evaluate(() => (window as unknown as { flagsmithPage: { changes: Array<{ flagsChanged: string[] | null }> } }).flagsmithPage.changes);
  expect(changes.at(-1)?.flagsChanged).toEqual(["banner"]);
  expect(await app.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
});

test("connectPage__ofrepServerSnippetCopied__runsAgainstTheInstanceWithAServerKey", async ({ page, baseURL }) => {
  test.setTimeout(120_000);
  // Given an environment with one switch flag (on, no value) and a server-side key, and the clipboard allowed
  await setUpProject(page, ["Development"]);
  const { projectId, environmentId } = routeIds(page);
  await trpcMutation(page, "features.create", { projectId, name: "beta_banner", defaultEnabled: true });
  const { key } = await trpcMutation<{ key: string }>(page, "environments.createServerKey", { environmentId, name: "ofrep" });
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });

  // When the Connect page is opened and the OFREP server-side snippet copied
  await page.getByRole("complementary", { name: "Navigation" }).getByRole("link", { name: "Connect" }).click();
  const section = page.getByRole("region", { name: "OFREP (server-side OpenFeature)" });
  await section.getByRole("button", { name: "Copy OFREP (server-side OpenFeature) snippet (remote evaluation)" }).click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());

  // Then the page shows the OFREP base URL and the stream URL, and the snippet names this instance and the key placeholder
  await expect(page.getByLabel("OFREP base URL")).toHaveValue(baseURL!);
  const clientKey = await page.getByLabel("Client-side environment key").inputValue();
  await expect(page.getByLabel("Real-time stream URL (Flagsmith)")).toHaveValue(`${baseURL}/sse/environments/${clientKey}/stream`);
  expect(copied).toContain(`baseUrl: "${baseURL}"`);
  expect(copied).not.toContain(key);

  // When it is saved with the real server-side key and run with node (the OpenFeature packages of this repository)
  const directory = path.join(process.cwd(), "test-results", `connect-ofrep-${Date.now()}`);
  fs.mkdirSync(directory, { recursive: true });
  const file = path.join(directory, "ofrep.mjs");
  fs.writeFileSync(file, copied.replace("ser.YOUR_SERVER_KEY", key));
  // Then it prints the flag's evaluation by Flagpost: true (a switch flag), the same for everyone
  await expect(async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
    delete env.FORCE_COLOR;
    const { stdout } = await run(process.execPath, [file], { timeout: 20_000, env });
    expect(stdout).toContain("flagKey: 'beta_banner'");
    expect(stdout).toContain("value: true");
    expect(stdout).toContain("reason: 'STATIC'");
  }).toPass({ timeout: 30_000 });
  fs.rmSync(directory, { recursive: true, force: true });
});
