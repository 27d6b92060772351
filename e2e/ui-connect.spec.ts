import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { Page } from "@playwright/test";
import { expect, routeIds, setUpProject, sidewaysOverflow, signUp, test, trpcMutation } from "./fixtures";

const run = promisify(execFile);

const RULES_PLAN_BETA = [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "plan", value: "beta" }], rules: [] }];

/** Features, a segment override and an identity with its own override, in the current environment. */
async function flagsWithTargeting(page: Page) {
  const { projectId, environmentId } = routeIds(page);
  const banner = await trpcMutation<{ id: number }>(page, "features.create", { projectId, name: "banner", initialValue: "off" });
  const vip = await trpcMutation<{ id: number }>(page, "features.create", { projectId, name: "vip", initialValue: "nobody" });
  const segment = await trpcMutation<{ id: number }>(page, "segments.create", { projectId, name: "beta", rules: RULES_PLAN_BETA });
  await trpcMutation(page, "segmentOverrides.create", { featureId: banner.id, environmentId, segmentId: segment.id, enabled: true, value: "beta-on" });
  const alice = await trpcMutation<{ id: number }>(page, "identities.create", { environmentId, identifier: "alice" });
  await trpcMutation(page, "identities.setTrait", { identityId: alice.id, key: "plan", value: "beta" });
  await trpcMutation(page, "identities.createOverride", { identityId: alice.id, featureId: vip.id, enabled: true, value: "for-alice" });
  return { projectId, environmentId, banner, vip, segment, alice };
}

test("connectPage__nodeSnippetCopied__runsAgainstTheInstanceAndPrintsTheEnvironmentsFlags", async ({ page, baseURL }) => {
  test.setTimeout(120_000);
  // Given an environment with two flags and a server-side key, and the clipboard allowed
  await setUpProject(page, ["Development"]);
  const { projectId, environmentId } = routeIds(page);
  await trpcMutation(page, "features.create", { projectId, name: "new_checkout", initialValue: "blue", defaultEnabled: true });
  await trpcMutation(page, "features.create", { projectId, name: "dark_mode", initialValue: 3 });
  const { key } = await trpcMutation<{ key: string }>(page, "environments.createServerKey", { environmentId, name: "snippet" });
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });

  // When the environment's Connect page is opened from the navigation and the Node.js snippet copied
  await page.getByRole("complementary", { name: "Navigation" }).getByRole("link", { name: "Connect" }).click();
  await expect(page.getByRole("heading", { name: "Connect", level: 1 })).toBeVisible();
  const node = page.getByRole("region", { name: "Node.js", exact: true });
  await node.getByRole("button", { name: "Copy Node.js snippet (remote evaluation)" }).click();

  // Then a toast confirms it, and the clipboard holds the snippet as shown: this instance's API URL, the key as a placeholder
  await expect(page.getByRole("status").filter({ hasText: "Node.js snippet (remote evaluation) copied" })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(await node.getByRole("group", { name: "Node.js snippet (remote evaluation)" }).innerText());
  expect(copied).toContain(`apiUrl: "${baseURL}/api/v1/"`);
  expect(copied).toContain('environmentKey: "ser.YOUR_SERVER_KEY"');
  expect(copied).not.toContain(key);
  await expect(node.getByRole("link", { name: /Node\.js documentation/ })).toHaveAttribute("href", "https://docs.flagsmith.com/clients/server-side?language=nodejs");

  // When it is saved with the real server-side key and run with node (flagsmith-nodejs from this repository)
  const directory = path.join(process.cwd(), "test-results", `connect-${Date.now()}`);
  fs.mkdirSync(directory, { recursive: true });
  const file = path.join(directory, "flags.mjs");
  fs.writeFileSync(file, copied.replace("ser.YOUR_SERVER_KEY", key));
  // Then it prints the environment's flags (once the new features are published)
  await expect(async () => {
    // (no colours: the runner's FORCE_COLOR would make console.log colour numbers and booleans)
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
    delete env.FORCE_COLOR;
    const { stdout } = await run(process.execPath, [file], { timeout: 20_000, env });
    expect(stdout.split("\n").filter(Boolean).sort()).toEqual(["dark_mode false 3", "new_checkout true blue"]);
  }).toPass({ timeout: 30_000 });
  fs.rmSync(directory, { recursive: true, force: true });

  // And the client-side sections are filled in with the environment's client key, flagd with the placeholder
  const clientKey = await page.getByLabel("Client-side environment key").inputValue();
  await expect(page.getByRole("group", { name: "React snippet (remote evaluation)" })).toContainText(`environmentID: "${clientKey}"`);
  await expect(page.getByRole("group", { name: "flagd snippet (http sync)" })).toContainText('"authHeader":"Bearer ser.YOUR_SERVER_KEY"');
});

test("newProject__defaultEnvironmentsAndFeaturesInNavigation__evenWithoutEnvironments", async ({ page }) => {
  // Given a new user
  await signUp(page);

  // When they create a project in the UI
  await page.getByRole("button", { name: "Create your first project" }).click();
  await page.getByLabel("Project name").fill("Shop");
  await page.getByRole("button", { name: "Create project" }).click();

  // Then it has Development and Production (protected), and Features in the navigation opens Development's features
  const table = page.getByRole("table", { name: "Environments" });
  await expect(table.getByRole("row").filter({ hasText: "Development" })).toBeVisible();
  await expect(table.getByRole("row").filter({ hasText: "Production" })).toContainText("protected");
  const navigation = page.getByRole("complementary", { name: "Navigation" });
  await navigation.getByRole("link", { name: "Features", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Features", exact: true })).toBeVisible();
  await expect(page.getByText("Flags and remote config in Development.")).toBeVisible();

  // When a project without environments (an API script's) is opened
  const organisationId = Number(/\/o\/(\d+)/.exec(await navigation.getByRole("link", { name: "Projects" }).getAttribute("href") ?? "")?.[1]);
  const bare = await trpcMutation<{ id: number }>(page, "projects.create", { organisationId, name: "Bare", defaultEnvironments: false });
  await page.goto(`/p/${bare.id}/segments`);
  await expect(page.getByRole("heading", { name: "Segments", exact: true })).toBeVisible();

  // Then Features is still in the navigation, and explains to create an environment first
  await navigation.getByRole("link", { name: "Features", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Create an environment first" })).toBeVisible();
  await page.getByRole("link", { name: "Go to Environments" }).click();
  await expect(page.getByRole("heading", { name: "No environments yet" })).toBeVisible();
});

test("evaluationViews__identityPageAndTestContext__everyFlagWithItsReasonNothingWritten", async ({ page }) => {
  test.setTimeout(120_000);
  // Given a segment override (plan = beta), and alice: plan = beta, with her own override of vip
  await setUpProject(page, ["Development"]);
  const { projectId, environmentId, segment, alice } = await flagsWithTargeting(page);

  // When alice's page is opened
  await page.goto(`/p/${projectId}/e/${environmentId}/identities/${alice.id}`);
  const flags = page.getByRole("table", { name: "Flags for this identity" });

  // Then every flag shows its value and why, and her segments are listed
  await expect(flags.getByTestId("evaluated-banner")).toContainText('"beta-on"', { timeout: 20_000 });
  await expect(flags.getByTestId("evaluated-banner")).toContainText("Segment override: beta");
  await expect(flags.getByTestId("evaluated-vip")).toContainText('"for-alice"');
  await expect(flags.getByTestId("evaluated-vip")).toContainText("Identity override");
  const evaluation = page.getByRole("region", { name: "Flags for this identity" });
  await expect(evaluation.getByRole("link", { name: "beta", exact: true }).first()).toBeVisible();

  // When a context nobody has is tested from the features page (bob, plan = beta)
  await page.goto(`/p/${projectId}/e/${environmentId}/features`);
  await page.getByRole("button", { name: "Test a context" }).click();
  const panel = page.getByRole("region", { name: "Test a context" });
  await panel.getByLabel("Identifier").fill("bob");
  await panel.getByLabel("Trait 1 key").fill("plan");
  await panel.getByLabel("Trait 1 value", { exact: true }).fill("beta");
  await panel.getByRole("button", { name: "Evaluate" }).click();

  // Then bob gets the segment's value, is in beta, and is not saved as an identity
  const result = panel.getByRole("table", { name: "Flags for this context" });
  await expect(result.getByTestId("evaluated-banner")).toContainText('"beta-on"');
  await expect(result.getByTestId("evaluated-vip")).toContainText("Environment default");
  await expect(panel.getByText("New identifier “bob”")).toBeVisible();
  await page.goto(`/p/${projectId}/e/${environmentId}/identities`);
  await expect(page.getByRole("link", { name: "alice" })).toBeVisible();
  await expect(page.getByRole("link", { name: "bob" })).toHaveCount(0);

  // When the segment's page tests plan = free, then plan = beta
  await page.goto(`/p/${projectId}/segments/${segment.id}`);
  const segmentPanel = page.getByRole("region", { name: "Test a context" });
  await segmentPanel.getByLabel("Trait 1 key").fill("plan");
  await segmentPanel.getByLabel("Trait 1 value", { exact: true }).fill("free");
  await segmentPanel.getByRole("button", { name: "Evaluate" }).click();
  await expect(segmentPanel.getByText("Not in segment “beta”.")).toBeVisible();
  await segmentPanel.getByLabel("Trait 1 value", { exact: true }).fill("beta");
  await segmentPanel.getByRole("button", { name: "Evaluate" }).click();

  // Then it says whether the context is in the segment
  await expect(segmentPanel.getByText("In segment “beta”.")).toBeVisible();
});

test("protectedEnvironment__toggleConfirmedThenUndone__auditedBothWaysAndSettingSwitchesItOff", async ({ page }) => {
  test.setTimeout(120_000);
  // Given a feature in Production (protected by default) and in Development
  await setUpProject(page, ["Development", "Production"]);
  const { projectId, environmentId: production } = routeIds(page);
  await expect(page.getByRole("switch", { name: "Protected environment" })).toHaveAttribute("aria-checked", "true");
  await trpcMutation(page, "features.create", { projectId, name: "checkout", initialValue: "v1" });
  await page.goto(`/p/${projectId}/e/${production}/features`);
  const toggle = page.getByRole("switch", { name: "Enable checkout" });

  // When it is toggled, and the confirmation cancelled
  await toggle.click();
  const dialog = page.getByRole("dialog", { name: "Change Production?" });
  await expect(dialog).toContainText("Production is a protected environment. Turn checkout on in Production?");
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await page.keyboard.press("Enter");
  // Then nothing changed
  await expect(dialog).toBeHidden();
  await expect(toggle).toHaveAttribute("aria-checked", "false");

  // When it is toggled and confirmed, then undone from the toast
  await toggle.click();
  await dialog.getByRole("button", { name: "Turn on" }).click();
  await expect(toggle).toHaveAttribute("aria-checked", "true");
  const toast = page.getByRole("status").filter({ hasText: "checkout turned on in Production" });
  await toast.getByRole("button", { name: "Undo" }).click();

  // Then it is off again, said so, and both changes are in the audit log
  await expect(toggle).toHaveAttribute("aria-checked", "false");
  await expect(page.getByRole("status").filter({ hasText: "Undone: checkout is off again in Production" })).toBeVisible();
  await page.getByRole("complementary", { name: "Navigation" }).getByRole("link", { name: "Audit log", exact: true }).click();
  const log = page.getByRole("list", { name: "Audit log" });
  await expect(log.getByRole("listitem").filter({ hasText: 'Feature "checkout":' }).filter({ hasText: /enabled|disabled/ })).toHaveCount(2);

  // When a value is saved in Production, it asks too
  await page.goto(`/p/${projectId}/e/${production}/features`);
  await page.getByRole("link", { name: "checkout" }).click();
  const form = page.getByRole("form", { name: "Value in Production" });
  await form.getByLabel("Value", { exact: true }).fill("v2");
  await form.getByRole("button", { name: "Save" }).click();
  await page.getByRole("dialog", { name: "Change Production?" }).getByRole("button", { name: "Save change" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved for Production" })).toBeVisible();

  // When protection is switched off in the settings
  await page.goto(`/p/${projectId}/e/${production}/settings`);
  await page.getByRole("switch", { name: "Protected environment" }).click();
  await expect(page.getByRole("switch", { name: "Protected environment" })).toHaveAttribute("aria-checked", "false");
  await expect(page.getByRole("status").filter({ hasText: "Setting saved" })).toBeVisible();

  // Then toggles apply at once (still with Undo), and the change of protection is audited
  await page.goto(`/p/${projectId}/e/${production}/features`);
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-checked", "true");
  await expect(page.getByRole("dialog", { name: "Change Production?" })).toBeHidden();
  await expect(page.getByRole("status").filter({ hasText: "checkout turned on in Production" }).getByRole("button", { name: "Undo" })).toBeVisible();
  await page.goto(`/p/${projectId}/e/${production}/audit`);
  await expect(page.getByRole("list", { name: "Audit log" })).toContainText('Environment "Production" no longer protected');
});

test("phoneWidth__connectEvaluationAndTestPanels__noSidewaysScroll", async ({ page }) => {
  test.setTimeout(120_000);
  // Given targeting data, on a 390×844 phone
  await setUpProject(page, ["Development"]);
  const { projectId, environmentId, segment, alice } = await flagsWithTargeting(page);
  await page.setViewportSize({ width: 390, height: 844 });
  const env = `/p/${projectId}/e/${environmentId}`;
  const pages: { path: string; open?: () => Promise<void> }[] = [
    { path: `${env}/connect` },
    { path: `${env}/identities/${alice.id}` },
    {
      path: `${env}/features`,
      open: async () => {
        await page.getByRole("button", { name: "Test a context" }).click();
        const panel = page.getByRole("region", { name: "Test a context" });
        await panel.getByLabel("Trait 1 key").fill("plan");
        await panel.getByLabel("Trait 1 value", { exact: true }).fill("beta");
        await panel.getByRole("button", { name: "Evaluate" }).click();
        await expect(panel.getByRole("table", { name: "Flags for this context" })).toBeVisible();
      },
    },
    { path: `/p/${projectId}/segments/${segment.id}` },
  ];
  for (const { path: address, open } of pages) {
    // When each new page (or panel) is opened
    await page.goto(address);
    await expect(page.locator("main h1").first()).toBeVisible();
    await expect(page.locator("main .loading")).toHaveCount(0);
    await open?.();
    // Then nothing scrolls sideways (code blocks scroll inside themselves)
    expect(await sidewaysOverflow(page), `${address} scrolls sideways`).toEqual([]);
  }
});
