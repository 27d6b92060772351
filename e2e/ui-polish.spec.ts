import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { generateDocument } from "../tests/support/flagsmith-documents";
import { acceptInvitation, expect, invite, routeIds, setUpProject, sidewaysOverflow, signUp, test, trpcMutation, uniqueEmail } from "./fixtures";

/** Features with the given names (created oldest first) in the current project, through the API. */
async function createFeatures(page: Page, names: string[], extra: Record<string, unknown> = {}) {
  const { projectId } = routeIds(page);
  const created: { id: number; name: string }[] = [];
  for (const name of names) created.push(await trpcMutation<{ id: number; name: string }>(page, "features.create", { projectId, name, ...extra }));
  return created;
}

function featureRows(page: Page) {
  return page.getByRole("table", { name: "Features" }).locator('tbody tr[data-testid^="feature-row-"]');
}

async function openFeatureList(page: Page) {
  const { projectId, environmentId } = routeIds(page);
  await page.goto(`/p/${projectId}/e/${environmentId}/features`);
  await expect(page.getByRole("heading", { name: "Features", exact: true })).toBeVisible();
}

test("featureList__sortSearchAndShowArchived__keptInTheAddressAcrossReloadAndBack", async ({ page }) => {
  // Given features alpha, beta (archived) and gamma, created in that order
  await setUpProject(page, ["Development"]);
  const [, beta] = await createFeatures(page, ["alpha", "beta", "gamma"]);
  await trpcMutation(page, "features.update", { featureId: beta.id, isArchived: true });
  await openFeatureList(page);
  // (archived ones are hidden by default)
  await expect(featureRows(page)).toHaveText([/alpha/, /gamma/]);

  // When the list is sorted Z–A and searched for "gam"
  await page.getByLabel("Sort by").selectOption({ label: "Name (Z–A)" });
  await expect(featureRows(page)).toHaveText([/gamma/, /alpha/]);
  await page.getByLabel("Search", { exact: true }).fill("gam");
  // Then both are in the address, and survive a reload
  await expect(page).toHaveURL(/[?&]sort=name-desc/);
  await expect(page).toHaveURL(/[?&]q=gam/);
  await expect(featureRows(page)).toHaveText([/gamma/]);
  await page.reload();
  await expect(page.getByLabel("Search", { exact: true })).toHaveValue("gam");
  await expect(page.getByLabel("Sort by")).toHaveValue("name-desc");
  await expect(featureRows(page)).toHaveText([/gamma/]);

  // When the search is cleared and archived features are shown
  await page.getByLabel("Search", { exact: true }).fill("");
  await page.getByRole("switch", { name: "Show archived features" }).click();
  // Then the archived one is listed with the others (marked), not instead of them
  await expect(featureRows(page)).toHaveText([/gamma/, /beta/, /alpha/]);
  await expect(page.getByTestId("feature-row-beta").getByText("archived", { exact: true })).toBeVisible();
  await expect(page.getByTestId("feature-row-alpha").getByText("archived", { exact: true })).toHaveCount(0);
  await expect(page).toHaveURL(/[?&]archived=1/);
  await expect(page).not.toHaveURL(/[?&]q=/);

  // When a feature is opened and Back pressed
  await page.getByRole("link", { name: "alpha" }).click();
  await expect(page.getByRole("heading", { name: "alpha", level: 1 })).toBeVisible();
  await page.goBack();
  // Then the list is as it was left: sorted Z–A, archived shown
  await expect(page.getByRole("switch", { name: "Show archived features" })).toHaveAttribute("aria-checked", "true");
  await expect(page.getByLabel("Sort by")).toHaveValue("name-desc");
  await expect(featureRows(page)).toHaveText([/gamma/, /beta/, /alpha/]);

  // And the other sorts order by creation
  await page.getByLabel("Sort by").selectOption({ label: "Newest first" });
  await expect(featureRows(page)).toHaveText([/gamma/, /beta/, /alpha/]);
  await page.getByLabel("Sort by").selectOption({ label: "Oldest first" });
  await expect(featureRows(page)).toHaveText([/alpha/, /beta/, /gamma/]);
});

test("theme__switchAndSystemPreference__darkBeforeFirstPaintPersistedAndFollowed", async ({ page }) => {
  // Given a system that prefers dark, and a record of the theme <html> has when <body> first appears
  await page.emulateMedia({ colorScheme: "dark" });
  await page.addInitScript(() => {
    // (the init script runs before <html> exists: watch the whole document)
    new MutationObserver((_mutations, observer) => {
      if (!document.body) return;
      document.documentElement.dataset.themeAtBody = document.documentElement.dataset.theme ?? "none";
      observer.disconnect();
    }).observe(document, { childList: true, subtree: true });
  });
  const html = page.locator("html");

  // When a new user signs up (no choice made yet)
  await signUp(page);
  // Then the app follows the system: dark, already before the body was parsed (no light flash)
  await expect(html).toHaveAttribute("data-theme", "dark");
  await expect(html).toHaveAttribute("data-theme-at-body", "dark");
  await expect(page.getByLabel("Theme")).toHaveValue("system");
  const darkBackground = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);

  // When "Light" is chosen
  await page.getByLabel("Theme").selectOption("light");
  // Then the page turns light at once, and stays light after a reload despite the dark system
  await expect(html).toHaveAttribute("data-theme", "light");
  expect(await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)).not.toBe(darkBackground);
  await page.reload();
  await expect(html).toHaveAttribute("data-theme-at-body", "light");
  await expect(html).toHaveAttribute("data-theme", "light");
  await expect(page.getByLabel("Theme")).toHaveValue("light");

  // When "Dark" is chosen, then the system turns light
  await page.getByLabel("Theme").selectOption("dark");
  await page.emulateMedia({ colorScheme: "light" });
  await page.reload();
  // Then the explicit choice wins
  await expect(html).toHaveAttribute("data-theme-at-body", "dark");
  await expect(page.getByLabel("Theme")).toHaveValue("dark");

  // When "System" is chosen again
  await page.getByLabel("Theme").selectOption("system");
  // Then it follows the system, live
  await expect(html).toHaveAttribute("data-theme", "light");
  await page.emulateMedia({ colorScheme: "dark" });
  await expect(html).toHaveAttribute("data-theme", "dark");
});

test("keyboardShortcuts__slashCQuestionMarkAndEscape__actOnThePageButNeverWhileTyping", async ({ page }) => {
  // Given the feature list, with the focus on the page
  await setUpProject(page, ["Development"]);
  await createFeatures(page, ["alpha"]);
  await openFeatureList(page);
  // (the list is loaded in the browser: the page is live)
  await expect(featureRows(page)).toHaveCount(1);
  const search = page.getByLabel("Search", { exact: true });
  const newFeature = page.getByRole("dialog", { name: "New feature" });

  // When "/" is pressed
  await page.keyboard.press("/");
  // Then the search field has the focus (and no "/" typed into it)
  await expect(search).toBeFocused();
  await expect(search).toHaveValue("");

  // When "c" and "?" are typed into it
  await page.keyboard.type("c?");
  // Then they are text, not shortcuts
  await expect(search).toHaveValue("c?");
  await expect(newFeature).toBeHidden();
  await expect(page.getByRole("dialog", { name: "Keyboard shortcuts" })).toBeHidden();

  // When the field is left and Ctrl+C, then "c", are pressed
  await search.fill("");
  await page.locator("main h1").click();
  await page.keyboard.press("Control+c");
  await expect(newFeature).toBeHidden();
  await page.keyboard.press("c");
  // Then "c" (only) opens "New feature", and Escape closes it
  await expect(newFeature).toBeVisible();
  await expect(newFeature.getByLabel("Name", { exact: true })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(newFeature).toBeHidden();

  // When "?" is pressed
  await page.keyboard.press("Shift+?");
  // Then the shortcuts are listed, in a dialog that Escape closes
  const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(help).toBeVisible();
  await expect(help.getByRole("row")).toHaveCount(6);
  await expect(help.getByRole("row", { name: /Focus the search field/ })).toContainText("/");
  await expect(help.getByRole("row", { name: /Undo the latest change/ })).toContainText("Ctrl+Z / ⌘Z");
  await page.keyboard.press("c");
  await expect(newFeature).toBeHidden();
  await page.keyboard.press("Escape");
  await expect(help).toBeHidden();

  // And "c" creates on the other list pages too: segments, identities, environments
  const { projectId, environmentId } = routeIds(page);
  await page.goto(`/p/${projectId}/segments`);
  await expect(page.getByText("No segments yet")).toBeVisible();
  await page.keyboard.press("c");
  await expect(page.getByRole("heading", { name: "New segment" })).toBeVisible();
  await page.goto(`/p/${projectId}/e/${environmentId}/identities`);
  await expect(page.getByText("No identities yet")).toBeVisible();
  await page.keyboard.press("c");
  await expect(page.getByRole("dialog", { name: "New identity" })).toBeVisible();
  await page.keyboard.press("Escape");
  await page.goto(`/p/${projectId}/environments`);
  await expect(page.getByRole("table", { name: "Environments" }).getByRole("link", { name: "Development" })).toBeVisible();
  await page.keyboard.press("c");
  await expect(page.getByRole("dialog", { name: "New environment" })).toBeVisible();
});

test("phoneWidth__mainPages__noSidewaysScrollCompactHeaderCardsAndWrappedTabs", async ({ page }) => {
  test.setTimeout(150_000);
  // Given a project with a feature that has a long value, a segment and an audit trail, on a 390×844 phone
  await setUpProject(page, ["Development", "Production"]);
  await page.setViewportSize({ width: 390, height: 844 });
  const { projectId, environmentId } = routeIds(page);
  const [feature] = await createFeatures(page, ["a_feature_with_a_rather_long_name_for_a_phone"], {
    initialValue: "a long value that would push the enabled toggle off a phone screen",
    tags: ["checkout", "beta"],
  });
  await trpcMutation(page, "segments.create", { projectId, name: "beta_users", rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "plan", value: "beta" }], rules: [] }] });
  await trpcMutation(page, "features.updateState", { featureId: feature.id, environmentId, enabled: true });

  const pages = [
    `/p/${projectId}/environments`,
    `/p/${projectId}/e/${environmentId}/features`,
    `/p/${projectId}/e/${environmentId}/features/${feature.id}`,
    `/p/${projectId}/segments`,
    `/p/${projectId}/segments/new`,
    `/p/${projectId}/e/${environmentId}/identities`,
    `/p/${projectId}/e/${environmentId}/scheduled`,
    `/p/${projectId}/e/${environmentId}/audit`,
    `/p/${projectId}/e/${environmentId}/settings`,
    `/p/${projectId}/settings`,
    "/account",
  ];
  for (const path of pages) {
    // When each main page is opened
    await page.goto(path);
    await expect(page.locator("main h1").first()).toBeVisible();
    await expect(page.locator("main .loading")).toHaveCount(0);
    // Then nothing scrolls sideways, and the header is one compact bar (not half the screen)
    expect(await sidewaysOverflow(page), `${path} scrolls sideways`).toEqual([]);
    const header = await page.getByRole("complementary", { name: "Navigation" }).boundingBox();
    expect(header?.height ?? 0, `${path} header height`).toBeLessThan(90);
  }

  // And the feature list is cards: the Enabled toggle is on screen without scrolling the table
  await page.goto(`/p/${projectId}/e/${environmentId}/features`);
  const toggle = page.getByRole("switch", { name: `Enable ${feature.name}` });
  await expect(toggle).toBeInViewport({ ratio: 1 });
  const panelScrolls = await page.getByRole("table", { name: "Features" }).evaluate((table) => table.parentElement!.scrollWidth > table.parentElement!.clientWidth);
  expect(panelScrolls).toBe(false);
  await toggle.click();
  await page.getByRole("dialog", { name: "Change Production?" }).getByRole("button", { name: "Turn off" }).click();
  await expect(toggle).toHaveAttribute("aria-checked", "false");

  // And every tab of the feature page is on screen (they wrap)
  await page.goto(`/p/${projectId}/e/${environmentId}/features/${feature.id}`);
  const tabs = page.getByRole("tablist", { name: "Feature" }).getByRole("tab");
  await expect(tabs).toHaveCount(7);
  for (const tab of await tabs.all()) await expect(tab).toBeInViewport({ ratio: 1 });
  await page.getByRole("tab", { name: "Settings" }).click();
  await expect(page.getByRole("button", { name: "Delete feature" })).toBeVisible();
  expect(await sidewaysOverflow(page)).toEqual([]);

  // And the audit log's before/after fits too
  await page.goto(`/p/${projectId}/e/${environmentId}/audit`);
  await page.getByText("Before / after").first().click();
  await expect(page.getByRole("table", { name: "Changed fields" }).first()).toBeVisible();
  expect(await sidewaysOverflow(page)).toEqual([]);
});

/**
 * Watches the tRPC requests made after `mutation` answers: `asked(name, id)` lists those whose
 * input names that id (e.g. `"featureId":7`). (The console is checked by the consoleErrors fixture.)
 */
function watchAfter(page: Page, mutation: string) {
  let done = false;
  const requests: string[] = [];
  page.on("request", (request) => {
    if (done && request.url().includes("/api/trpc/")) requests.push(`${request.method()} ${decodeURIComponent(request.url())}`);
  });
  page.on("response", (response) => {
    if (response.url().includes(`/api/trpc/${mutation}`)) done = true;
  });
  return {
    asked: (name: string, id: number) => requests.filter((request) => new RegExp(`"${name}":${id}[,}]`).test(request)),
  };
}

test("deleteFeature__confirmed__listShownWithoutRequestingTheDeletedFeatureOrConsoleErrors", async ({ page }) => {
  // Given a feature's settings tab, with the console and tRPC requests watched
  await setUpProject(page, ["Development", "Production"]);
  const [feature] = await createFeatures(page, ["short_lived"]);
  await createFeatures(page, ["stays"]);
  const { projectId, environmentId } = routeIds(page);
  await page.goto(`/p/${projectId}/e/${environmentId}/features/${feature.id}?tab=settings`);
  await expect(page.getByRole("heading", { name: "short_lived", level: 1 })).toBeVisible();
  const watched = watchAfter(page, "features.delete");

  // When it is deleted
  await page.getByRole("button", { name: "Delete feature" }).click();
  await page.getByRole("dialog", { name: "Delete feature" }).getByRole("button", { name: "Delete feature" }).click();

  // Then the list opens without it, nothing asked about it again, and the console is clean
  await expect(page.getByRole("heading", { name: "Features", exact: true })).toBeVisible();
  await expect(page.getByTestId("feature-row-stays")).toBeVisible();
  await expect(page.getByTestId("feature-row-short_lived")).toHaveCount(0);
  await expect(page.getByRole("status").filter({ hasText: 'Feature "short_lived" deleted' })).toBeVisible();
  await page.waitForLoadState("networkidle");
  expect(watched.asked("featureId", feature.id)).toEqual([]);
});

test("deleteSegmentAndIdentity__fromTheirPages__notRequestedAgainNoConsoleErrors", async ({ page }) => {
  // Given a segment and an identity, each on its own page
  await setUpProject(page, ["Development"]);
  const { projectId, environmentId } = routeIds(page);
  const segment = await trpcMutation<{ id: number }>(page, "segments.create", { projectId, name: "leaving", rules: [{ type: "ALL", conditions: [{ operator: "IS_SET", property: "email" }], rules: [] }] });
  const identity = await trpcMutation<{ id: number }>(page, "identities.create", { environmentId, identifier: "bob" });
  await page.goto(`/p/${projectId}/segments/${segment.id}`);
  await expect(page.getByRole("heading", { name: "leaving", level: 1 })).toBeVisible();
  const segmentWatch = watchAfter(page, "segments.delete");

  // When the segment is deleted
  await page.getByRole("button", { name: "Delete segment" }).click();
  await page.getByRole("dialog", { name: "Delete segment" }).getByRole("button", { name: "Delete segment" }).click();
  // Then the list opens, and nothing asks about the segment again
  await expect(page.getByText("No segments yet")).toBeVisible();
  await page.waitForLoadState("networkidle");
  expect(segmentWatch.asked("segmentId", segment.id)).toEqual([]);

  // When the identity is deleted from its page
  await page.goto(`/p/${projectId}/e/${environmentId}/identities/${identity.id}`);
  await expect(page.getByRole("heading", { name: "bob", level: 1 })).toBeVisible();
  const identityWatch = watchAfter(page, "identities.delete");
  await page.getByRole("button", { name: "Delete identity" }).click();
  await page.getByRole("dialog", { name: "Delete identity" }).getByRole("button", { name: "Delete identity" }).click();
  // Then the same holds for it
  await expect(page.getByText("No identities yet")).toBeVisible();
  await page.waitForLoadState("networkidle");
  expect(identityWatch.asked("identityId", identity.id)).toEqual([]);
});

test("favicon__served__svgIconLinkedFromEveryPage", async ({ page }) => {
  // Given the sign-in page
  await page.goto("/login");

  // When its icon link is followed
  const href = await page.locator('head link[rel="icon"]').first().getAttribute("href");
  expect(href).toBeTruthy();
  const response = await page.request.get(href!);

  // Then an SVG icon is served, also where browsers look without a link (/favicon.ico)
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toContain("image/svg+xml");
  expect(await response.text()).toContain("<svg");
  const fallback = await page.request.get("/favicon.ico");
  expect(fallback.status()).toBe(200);
  expect(fallback.headers()["content-type"]).toContain("image/svg+xml");
});

test("navigationProgress__slowNextPage__barShownUntilThePageArrives", async ({ page }) => {
  // Given a signed-in user on a slow connection (page data, fetched on navigation, takes 1.5 s)
  await setUpProject(page, ["Development"]);
  await page.route(
    (url) => url.searchParams.has("_rsc"),
    async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await route.continue();
    },
  );
  await page.reload();
  await expect(page.getByRole("heading", { name: "Environment settings" })).toBeVisible();
  const progress = page.getByRole("progressbar", { name: "Loading page" });
  await expect(progress).toHaveCount(0);

  // When another page is opened from the navigation
  await page.getByRole("complementary", { name: "Navigation" }).getByRole("link", { name: "Segments" }).click();

  // Then the bar shows (and screen readers hear "Loading page…") until the page arrives, then goes
  await expect(progress).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "Loading page…" })).toBeAttached();
  await expect(page.getByRole("heading", { name: "Segments", exact: true })).toBeVisible();
  await expect(progress).toHaveCount(0);
});

test("auditLog__beforeAfter__changedFieldsMarked", async ({ page }) => {
  // Given a feature switched on (its value kept) in Development, then its value changed
  await setUpProject(page, ["Development"]);
  const [feature] = await createFeatures(page, ["banner"], { initialValue: "old" });
  const { environmentId, projectId } = routeIds(page);
  await trpcMutation(page, "features.updateState", { featureId: feature.id, environmentId, enabled: true });
  await trpcMutation(page, "features.updateState", { featureId: feature.id, environmentId, value: "new" });

  // When the value change's before/after is opened in the audit log
  await page.goto(`/p/${projectId}/e/${environmentId}/audit`);
  const entry = page.getByRole("listitem").filter({ hasText: 'Feature "banner": value "old" → "new"' });
  await entry.getByText("Before / after").click();

  // Then the changed field is marked as changed with both values, and the unchanged one is folded away
  const diff = entry.getByRole("table", { name: "Changed fields" });
  await expect(diff.getByRole("row", { name: /value changed/ })).toContainText('"old"');
  await expect(diff.getByRole("row", { name: /value changed/ })).toContainText('"new"');
  await expect(diff.getByRole("row", { name: /enabled/ })).toHaveCount(0);
  await entry.getByRole("button", { name: "Show 1 unchanged field" }).click();
  await expect(diff.getByRole("row", { name: /enabled/ })).toContainText("true");
  // (a feature without variations lists no allocations)
  await expect(diff.getByRole("row", { name: /allocations/ })).toHaveCount(0);
});

test("auditLog__multivariateSplitAndSegmentOverrideReorder__beforeAfterByNameNotId", async ({ page }) => {
  test.setTimeout(120_000);
  // Given a multivariate feature (green 30%, red 20%) with overrides for segments beta then vip, in Development
  await setUpProject(page, ["Development"]);
  const { projectId, environmentId } = routeIds(page);
  const colour = await trpcMutation<{ id: number }>(page, "features.create", {
    projectId,
    name: "colour",
    initialValue: "control",
    options: [
      { value: "#0f0", key: "green", defaultPercentageAllocation: 30 },
      { value: "#f00", key: "red", defaultPercentageAllocation: 20 },
    ],
  });
  for (const name of ["beta", "vip"]) {
    const segment = await trpcMutation<{ id: number }>(page, "segments.create", { projectId, name, rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "plan", value: name }], rules: [] }] });
    await trpcMutation(page, "segmentOverrides.create", { featureId: colour.id, environmentId, segmentId: segment.id, enabled: true, value: name });
  }

  // When green's share is raised to 40% on the Value tab, and vip's override moved above beta's
  await page.goto(`/p/${projectId}/e/${environmentId}/features/${colour.id}`);
  const form = page.getByRole("form", { name: "Value in Development" });
  await form.getByLabel("Allocation for green (%)").fill("40");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved for Development" })).toBeVisible();
  await page.getByRole("tab", { name: "Segment overrides" }).click();
  await page.getByRole("button", { name: "Move vip up" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Priorities saved" })).toBeVisible();

  // Then in the audit log, the split's before/after names the variation…
  await page.goto(`/p/${projectId}/e/${environmentId}/audit`);
  const split = page.getByRole("listitem").filter({ hasText: 'Feature "colour": allocations "green" 30% → 40%' });
  await split.getByText("Before / after").click();
  const splitDiff = split.getByRole("table", { name: "Changed fields" });
  await expect(splitDiff.getByRole("row", { name: /allocations › "green" changed/ })).toContainText("30");
  await expect(splitDiff.getByRole("row", { name: /allocations › "green" changed/ })).toContainText("40");
  await split.getByRole("button", { name: /Show \d+ unchanged fields?/ }).click();
  await expect(splitDiff.getByRole("row", { name: /allocations › "red"/ })).toContainText("20");
  await expect(splitDiff).not.toContainText("optionId");
  // …the reorder's gives the segments by name, in priority order counted from 1…
  const reorder = page.getByRole("listitem").filter({ hasText: 'segment overrides reordered to "vip" > "beta"' });
  await reorder.getByText("Before / after").click();
  const reorderDiff = reorder.getByRole("table", { name: "Changed fields" });
  await expect(reorderDiff.getByRole("row", { name: /priorities › #1 changed/ })).toContainText('"beta"');
  await expect(reorderDiff.getByRole("row", { name: /priorities › #1 changed/ })).toContainText('"vip"');
  await expect(reorderDiff.getByRole("row", { name: /priorities › #2 changed/ })).toBeVisible();
  await expect(reorderDiff).not.toContainText("segmentIds");
  // …and vip's creation its priority as the list showed it (2), with its segment's name
  const created = page.getByRole("listitem").filter({ hasText: 'override for segment "vip" added' });
  await created.getByText("Before / after").click();
  const createdDiff = created.getByRole("table", { name: "Changed fields" });
  await expect(createdDiff.getByRole("row", { name: /^priority added/ })).toContainText("2");
  await expect(createdDiff.getByRole("row", { name: /^segment added/ })).toContainText('"vip"');
  await expect(createdDiff.getByRole("row", { name: /allocations › "green" added/ })).toContainText("30");
});

test("sidewaysOverflow__tableWiderThanItsPanel__reportedButCodeBlocksAllowed", async ({ page }) => {
  // Given a page at phone width whose panel holds a table wider than itself, and a code block that scrolls by design
  await page.setViewportSize({ width: 390, height: 844 });
  await page.setContent(`
    <div class="panel" style="overflow-x: auto; width: 300px"><table style="width: 800px"><tr><td>wide</td></tr></table></div>
    <pre style="overflow-x: auto; width: 300px; white-space: pre">${"x".repeat(400)}</pre>`);

  // When sideways scrolling is looked for
  const found = await sidewaysOverflow(page);

  // Then the panel is reported (800 px of content in 300), the code block is not
  expect(found).toHaveLength(1);
  expect(found[0]).toContain("div.panel");
  await page.setContent(`<pre style="overflow-x: auto; width: 300px; white-space: pre">${"x".repeat(400)}</pre>`);
  expect(await sidewaysOverflow(page)).toEqual([]);
});

test("phoneWidth__organisationImportAndAuditPages__nothingScrollsSidewaysNotEvenInsidePanels", async ({ page, newContext }) => {
  test.setTimeout(150_000);
  // Given an organisation with a second member, a pending invitation of a long address, and a project with an audit trail
  await setUpProject(page, ["Development"]);
  const { projectId, environmentId } = routeIds(page);
  await trpcMutation(page, "features.create", { projectId, name: "a_feature_with_a_rather_long_name_for_a_phone", initialValue: "a long value that would not fit a phone screen on one line" });
  await page.getByRole("link", { name: "Organisation settings" }).click();
  await expect(page.getByRole("heading", { name: "Organisation settings" })).toBeVisible();
  const settings = new URL(page.url()).pathname;
  const organisation = settings.replace(/\/settings$/, "");
  const memberContext = await newContext();
  const member = await memberContext.newPage();
  const account = await signUp(member, { name: "Maximilian Longname-Example", email: uniqueEmail("maximilian.longname-example") });
  const organisationName = (await page.getByLabel("Organisation name").inputValue()) || "";
  await acceptInvitation(member, await invite(page, account.email), organisationName);
  await invite(page, uniqueEmail("someone.with.a.really.long.address-for-invitations"));
  await page.setViewportSize({ width: 390, height: 844 });

  const pages = [settings, organisation, `${organisation}/audit`, `/p/${projectId}/audit`, `/p/${projectId}/e/${environmentId}/audit`];
  for (const address of pages) {
    // When each page is opened on a 390×844 phone
    await page.goto(address);
    await expect(page.locator("main h1").first()).toBeVisible();
    await expect(page.locator("main .loading")).toHaveCount(0);
    if (address.endsWith("/audit")) await page.getByText("Before / after").first().click();
    // Then nothing scrolls sideways: neither the page nor a panel or table inside it
    expect(await sidewaysOverflow(page), `${address} scrolls sideways`).toEqual([]);
  }
  // (the members and invitations are cards, their actions whole on screen once scrolled to)
  await page.goto(settings);
  for (const action of [
    page.getByRole("button", { name: "Save role for Maximilian Longname-Example" }),
    page.getByRole("table", { name: "Pending invitations" }).getByRole("button", { name: /^Revoke invitation of/ }),
  ]) {
    await action.scrollIntoViewIfNeeded();
    await expect(action).toBeInViewport({ ratio: 1 });
  }
  // (without the card layout, the members table would scroll sideways inside its panel: what the check finds)
  await page.getByRole("table", { name: "Members" }).evaluate((table) => table.classList.remove("table-cards"));
  expect((await sidewaysOverflow(page)).join("\n")).toMatch(/inside: section\.panel "Members/);

  // When a Flagsmith document is previewed for import on the project settings
  await page.goto(`/p/${projectId}/settings`);
  const file = join(mkdtempSync(join(tmpdir(), "flagpost-import-")), "staging.json");
  writeFileSync(file, JSON.stringify(generateDocument({ name: "Staging with a long environment name", identityOverrides: 2 })));
  await page.getByLabel("Flagsmith environment document", { exact: true }).setInputFiles(file);
  const preview = page.getByRole("region", { name: "Preview: importing staging.json" });
  await expect(preview).toBeVisible();
  await preview.getByText(/^Features \(\d+\)$/).click();
  // Then the preview fits too
  expect(await sidewaysOverflow(page), "the import preview scrolls sideways").toEqual([]);
});
