import type { Page } from "@playwright/test";
import { expect, routeIds, setUpProject, test, trpcMutation } from "./fixtures";

const RULES_PLAN = (plan: string) => [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "plan", value: plan }], rules: [] }];

/**
 * Holds every `environments.get` answer until the returned `release()` is called, then answers it
 * as failed (500 inside the tRPC batch; the batch's other procedures are answered as usual).
 */
async function holdThenFailEnvironmentQueries(page: Page): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route(/\/api\/trpc\/[^?]*environments\.get[,?]/, async (route) => {
    await released;
    const response = await route.fetch();
    const procedures = decodeURIComponent(new URL(route.request().url()).pathname.replace(/^\/api\/trpc\//, "")).split(",");
    const answers = (await response.json()) as unknown[];
    const failed = answers.map((answer, index) =>
      procedures[index] === "environments.get"
        ? { error: { message: "Environment unavailable (test)", code: -32603, data: { code: "INTERNAL_SERVER_ERROR", httpStatus: 500, path: "environments.get" } } }
        : answer,
    );
    // 207, as tRPC answers a batch with failures in it (a 5xx would be a console error of its own).
    await route.fulfill({ status: 207, contentType: "application/json", body: JSON.stringify(failed) });
  });
  return release;
}

test("valueTab__environmentProtectionLoadingThenFailing__saveWaitsThenAsksAsInAProtectedOne", async ({ page }) => {
  test.setTimeout(120_000);
  // Given a feature's page in Development, and Staging (not protected), whose protection will be slow to load and then fail
  await setUpProject(page, ["Development", "Staging"]);
  const { projectId, environmentId: staging } = routeIds(page);
  const feature = await trpcMutation<{ id: number }>(page, "features.create", { projectId, name: "checkout", initialValue: "v1" });
  const environments = await page.request.get(`/api/trpc/environments.list?input=${encodeURIComponent(JSON.stringify({ projectId }))}`);
  const development = ((await environments.json()) as { result: { data: { id: number; name: string }[] } }).result.data.find((e) => e.name === "Development")!;
  expect(development.id).not.toBe(staging);
  // (a fresh page: nothing about Staging loaded yet)
  await page.goto(`/p/${projectId}/e/${development.id}/features/${feature.id}`);
  await expect(page.getByRole("form", { name: "Value in Development" })).toBeVisible();
  const release = await holdThenFailEnvironmentQueries(page);

  // When Staging's value is edited (the feature and its states already loaded, the environment not)
  await page.getByTestId("environment-state-Staging").getByRole("link", { name: "Staging" }).click();
  const form = page.getByRole("form", { name: "Value in this environment" });
  await form.getByLabel("Value", { exact: true }).fill("v2");

  // Then while it loads, Save waits (and says why)
  const save = form.getByRole("button", { name: "Save" });
  await expect(save).toBeDisabled();
  await expect(form).toContainText("Checking whether this environment is protected…");

  // When the environment cannot be loaded, and Save is pressed
  release();
  await expect(save).toBeEnabled({ timeout: 30_000 });
  await save.click();

  // Then it asks as in a protected environment (Cancel focused), and Cancel changes nothing
  const dialog = page.getByRole("dialog", { name: "Change this environment?" });
  await expect(dialog).toContainText("could not check whether this environment is protected");
  await expect(dialog).toContainText("Save checkout?");
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("environment-state-Staging")).toContainText('"v1"');

  // When it is confirmed
  await save.click();
  await dialog.getByRole("button", { name: "Save change" }).click();
  // Then it is saved
  await expect(page.getByRole("status").filter({ hasText: "Saved for this environment" })).toBeVisible();
  await expect(page.getByTestId("environment-state-Staging")).toContainText('"v2"');
});

test("valueTab__enabledSavedInProtectedProduction__toastWithUndoThatWaitsWhileFocusedAndCtrlZUndoes", async ({ page }) => {
  test.setTimeout(120_000);
  // Given feature checkout, off, in Production (protected), on its Value tab, with the page's clock under the test's control
  await setUpProject(page, ["Production"]);
  const { projectId, environmentId } = routeIds(page);
  const feature = await trpcMutation<{ id: number }>(page, "features.create", { projectId, name: "checkout", initialValue: "v1" });
  await page.clock.install();
  await page.goto(`/p/${projectId}/e/${environmentId}/features/${feature.id}`);
  const form = page.getByRole("form", { name: "Value in Production" });
  const enabled = form.getByRole("switch", { name: "Enabled in Production" });
  const inTable = page.getByRole("switch", { name: "Enable in Production" });
  await expect(enabled).toHaveAttribute("aria-checked", "false");

  // When Enabled is switched on and saved, and the confirmation accepted
  await enabled.click();
  await form.getByRole("button", { name: "Save" }).click();
  await page.getByRole("dialog", { name: "Change Production?" }).getByRole("button", { name: "Save change" }).click();

  // Then it is on, and a toast says so with Undo, in the page's notifications region
  await expect(inTable).toHaveAttribute("aria-checked", "true");
  const notifications = page.getByRole("region", { name: "Notifications" });
  await expect(notifications).toHaveAttribute("aria-live", "polite");
  const toast = notifications.getByRole("status").filter({ hasText: "checkout turned on in Production" });
  const undo = toast.getByRole("button", { name: "Undo" });
  await expect(undo).toHaveAttribute("aria-keyshortcuts", "Control+Z Meta+Z");
  // …which outlasts a plain toast's 8 s
  await page.clock.fastForward(10_000);
  await expect(toast).toBeVisible();
  // …and waits as long as it has keyboard focus
  await undo.focus();
  await page.clock.fastForward(60_000);
  await expect(toast).toBeVisible();
  // …then goes on its own once focus leaves it
  await page.locator("#main").focus();
  await page.clock.fastForward(12_000);
  await expect(toast).toHaveCount(0);

  // When it is switched off and saved again, and Ctrl+Z pressed outside any field
  await enabled.click();
  await form.getByRole("button", { name: "Save" }).click();
  await page.getByRole("dialog", { name: "Change Production?" }).getByRole("button", { name: "Save change" }).click();
  await expect(page.getByRole("status").filter({ hasText: "checkout turned off in Production" })).toBeVisible();
  await expect(inTable).toHaveAttribute("aria-checked", "false");
  await page.locator("#main").focus();
  await page.keyboard.press("Control+z");

  // Then the latest change is undone (no second confirmation: it puts back what was there), and said so
  await expect(page.getByRole("status").filter({ hasText: "Undone: checkout is on again in Production" })).toBeVisible();
  await expect(inTable).toHaveAttribute("aria-checked", "true");
  await expect(enabled).toHaveAttribute("aria-checked", "true");
  await expect(page.getByRole("status").filter({ hasText: "checkout turned off in Production" })).toHaveCount(0);

  // And the shortcut is listed in the keyboard help
  await page.keyboard.press("?");
  await expect(page.getByRole("dialog", { name: "Keyboard shortcuts" }).getByRole("row", { name: /Ctrl\+Z \/ ⌘Z.*Undo the latest change/ })).toBeVisible();
});

test("overrides__addedAndReorderedInProtectedProduction__eachAsksFirstCancelChangesNothing", async ({ page }) => {
  test.setTimeout(150_000);
  // Given feature banner in Production (protected) with an override for segment vip, a segment beta without one, and identity alice
  await setUpProject(page, ["Production"]);
  const { projectId, environmentId } = routeIds(page);
  const banner = await trpcMutation<{ id: number }>(page, "features.create", { projectId, name: "banner", initialValue: "off" });
  await trpcMutation(page, "features.create", { projectId, name: "promo", initialValue: "none" });
  const vip = await trpcMutation<{ id: number }>(page, "segments.create", { projectId, name: "vip", rules: RULES_PLAN("vip") });
  await trpcMutation(page, "segments.create", { projectId, name: "beta", rules: RULES_PLAN("beta") });
  await trpcMutation(page, "segmentOverrides.create", { featureId: banner.id, environmentId, segmentId: vip.id, enabled: true, value: "for-vip" });
  const alice = await trpcMutation<{ id: number }>(page, "identities.create", { environmentId, identifier: "alice" });
  await page.goto(`/p/${projectId}/e/${environmentId}/features/${banner.id}?tab=segments`);
  const dialog = page.getByRole("dialog", { name: "Change Production?" });
  const cards = page.getByRole("list", { name: "Segment overrides by priority" }).getByRole("listitem");
  await expect(cards).toHaveCount(1);

  // When an override for beta is added, first cancelled, then confirmed
  await page.getByLabel("Segment", { exact: true }).selectOption({ label: "beta" });
  await page.getByRole("button", { name: "Add override" }).click();
  await expect(dialog).toContainText('Add an override of banner for segment "beta" in Production?');
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(cards).toHaveCount(1);
  await page.getByRole("button", { name: "Add override" }).click();
  await dialog.getByRole("button", { name: "Add override" }).click();
  // Then it is added last, its priority read as text ("Priority 2")
  await expect(cards).toHaveCount(2);
  await expect(page.getByTestId("segment-override-beta")).toContainText("Priority 2");

  // When beta is moved up with the keyboard, first cancelled, then confirmed
  const up = page.getByRole("button", { name: "Move beta up" });
  await up.focus();
  await page.keyboard.press("Enter");
  await expect(dialog).toContainText('Move the override of banner for segment "beta" to priority 1 in Production?');
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(cards.first()).toHaveAttribute("data-testid", "segment-override-vip");
  await up.click();
  await dialog.getByRole("button", { name: "Reorder" }).click();
  // Then beta is first, and keyboard focus followed it
  await expect(cards.first()).toHaveAttribute("data-testid", "segment-override-beta");
  await expect(page.getByTestId("segment-override-beta")).toContainText("Priority 1");
  await expect(page.getByRole("button", { name: "Move beta down" })).toBeFocused();

  // When an identity override is added on the feature's Identity overrides tab
  await page.getByRole("tab", { name: "Identity overrides" }).click();
  await page.getByLabel("Identifier").fill("alice");
  await page.getByRole("button", { name: "Add override" }).click();
  // Then it asks first, and adds it once confirmed
  await expect(dialog).toContainText('Add an override of banner for identity "alice" in Production?');
  await dialog.getByRole("button", { name: "Add override" }).click();
  await expect(page.getByTestId("identity-override-alice")).toBeVisible();

  // When another feature is overridden from alice's page
  await page.goto(`/p/${projectId}/e/${environmentId}/identities/${alice.id}`);
  await page.getByLabel("Feature", { exact: true }).selectOption({ label: "promo" });
  await page.getByRole("button", { name: "Add override" }).click();
  // Then it asks too, and Cancel adds nothing
  await expect(dialog).toContainText('Add an override of promo for identity "alice" in Production?');
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByTestId("identity-override-promo")).toHaveCount(0);
  await page.getByRole("button", { name: "Add override" }).click();
  await dialog.getByRole("button", { name: "Add override" }).click();
  await expect(page.getByTestId("identity-override-promo")).toBeVisible();
});
