import type { Page } from "@playwright/test";
import { axeViolations, expect, invite, routeIds, setUpProject, signUp, test, trpcMutation } from "./fixtures";

test("newProjectDialog__openedSubmittedBlankAndClosed__focusInFieldInlineErrorFocusBack", async ({ page }) => {
  // Given a new user on the projects page
  await signUp(page);
  const opener = page.getByRole("button", { name: "New project" });

  // When the "New project" dialog opens
  await opener.click();
  const dialog = page.getByRole("dialog", { name: "New project" });
  // Then keyboard focus is in its name field (not on the close button)
  await expect(dialog.getByLabel("Project name")).toBeFocused();

  // When it is submitted blank
  await page.keyboard.press("Enter");
  // Then the field says why, and nothing is created
  await expect(dialog.getByRole("alert")).toHaveText("Project name is required");
  await expect(dialog.getByLabel("Project name")).toHaveAttribute("aria-invalid", "true");
  await expect(dialog.getByLabel("Project name")).toHaveAccessibleDescription("Project name is required");

  // When it is closed with Escape and opened again
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(opener).toBeFocused();
  await opener.click();
  // Then it starts over: empty, without the old message
  await expect(dialog.getByLabel("Project name")).toHaveValue("");
  await expect(dialog.getByRole("alert")).toHaveCount(0);
});

test("confirmDialog__opened__focusOnCancelSoEnterDoesNotDelete", async ({ page }) => {
  // Given a project
  await signUp(page);
  await page.getByRole("button", { name: "Create your first project" }).click();
  await page.getByLabel("Project name").fill("Keep me");
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page.getByRole("heading", { name: "Environments", exact: true })).toBeVisible();

  // When its delete confirmation opens and Enter is pressed
  await page.getByRole("link", { name: "Project settings" }).click();
  await page.getByRole("button", { name: "Delete project" }).click();
  const confirm = page.getByRole("dialog", { name: "Delete project" });
  await expect(confirm.getByRole("button", { name: "Cancel" })).toBeFocused();
  await page.keyboard.press("Enter");

  // Then the dialog closes and the project is still there
  await expect(confirm).toBeHidden();
  await expect(page.getByRole("heading", { name: "Project settings" })).toBeVisible();
  await expect(page.getByLabel("Project name")).toHaveValue("Keep me");
});

test("unknownAddress__opened__styledNotFoundPageWithWayBack", async ({ page, consoleErrors }) => {
  consoleErrors.allowFailedRequest(404, "/no/such/page", "the page is opened to see the 404 page");
  // Given no page at an address
  // When it is opened
  await page.goto("/no/such/page");

  // Then a "not found" page offers the way back
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Back to Flagpost" })).toHaveAttribute("href", "/");
});

test("apiKeyDialog__blankThenNamed__inlineErrorThenKeyShownWithFocusOnDone", async ({ page }) => {
  // Given a new user on the organisation settings
  await signUp(page);
  await page.getByRole("link", { name: "Organisation settings" }).click();

  // When an API key is created without a name
  await page.getByRole("button", { name: "Create API key" }).click();
  const dialog = page.getByRole("dialog", { name: "New API key" });
  await dialog.getByRole("button", { name: "Create key" }).click();
  // Then the name field says why
  await expect(dialog.getByRole("alert")).toHaveText("Key name is required");

  // When it is named and created
  await dialog.getByLabel("Key name").fill("ci");
  await dialog.getByRole("button", { name: "Create key" }).click();

  // Then the key is shown once, with keyboard focus on "Done" (not lost to the page)
  const created = page.getByRole("dialog", { name: "API key created" });
  await expect(created.getByLabel("API key", { exact: true })).not.toHaveValue("");
  await expect(created.getByRole("button", { name: "Done" })).toBeFocused();
});

test("skipLink__firstTabOnAdminPage__jumpsPastTheNavigation", async ({ page }) => {
  // Given an admin page
  await signUp(page);

  // When the first Tab is pressed and the link it reaches is followed
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await page.keyboard.press("Enter");

  // Then focus is on the page's content, and the next Tab reaches its first control
  await expect(page.locator("main")).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "New project" })).toBeFocused();
});

test("narrowScreen__menuButton__navigationFoldedOpensByKeyboardAndClosesAfterNavigating", async ({ page }) => {
  // Given a signed-in admin on a phone-sized screen
  await page.setViewportSize({ width: 420, height: 860 });
  await signUp(page, { organisation: "Pocket Co" });
  const menu = page.getByRole("button", { name: "Menu" });
  const settings = page.getByRole("link", { name: "Organisation settings" });

  // Then the navigation is folded behind the Menu button, so the page starts with its content
  await expect(menu).toHaveAttribute("aria-expanded", "false");
  await expect(settings).toBeHidden();
  await expect(page.getByRole("heading", { name: "Projects", exact: true })).toBeInViewport();

  // When the menu is opened with the keyboard, then closed with Escape
  await menu.focus();
  await page.keyboard.press("Enter");
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await expect(settings).toBeVisible();
  await page.keyboard.press("Tab");
  await page.keyboard.press("Escape");

  // Then it folds and focus is back on the button
  await expect(settings).toBeHidden();
  await expect(menu).toBeFocused();

  // When it is opened again and a link followed
  await menu.click();
  await settings.click();

  // Then the page changes and the menu folds again
  await expect(page.getByRole("heading", { name: "Organisation settings" })).toBeVisible();
  await expect(menu).toHaveAttribute("aria-expanded", "false");
  await expect(settings).toBeHidden();

  // …and on a wide screen there is no Menu button and the navigation is always shown
  await page.setViewportSize({ width: 1280, height: 800 });
  await expect(menu).toBeHidden();
  await expect(settings).toBeVisible();
});

test("axe__mainPagesAndDialogsInLightAndDarkThemes__noWcagViolationsIncludingContrast", async ({ page, consoleErrors }) => {
  test.setTimeout(240_000);
  consoleErrors.allowFailedRequest(404, "/no/such/page", "the 404 page is among the pages checked");
  // Given a project with a multivariate feature, an override, a segment and an audit trail
  await setUpProject(page, ["Development", "Production"]);
  const { projectId, environmentId } = routeIds(page);
  const feature = await trpcMutation<{ id: number }>(page, "features.create", {
    projectId,
    name: "checkout",
    initialValue: "blue",
    tags: ["beta"],
    options: [{ value: "green", defaultPercentageAllocation: 30 }],
  });
  const archived = await trpcMutation<{ id: number }>(page, "features.create", { projectId, name: "old_banner", initialValue: 3 });
  await trpcMutation(page, "features.update", { featureId: archived.id, isArchived: true });
  const segment = await trpcMutation<{ id: number }>(page, "segments.create", {
    projectId,
    name: "beta_users",
    rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "plan", value: "beta" }], rules: [] }],
  });
  await trpcMutation(page, "segmentOverrides.create", { featureId: feature.id, environmentId, segmentId: segment.id, enabled: true, value: "beta-blue" });
  await trpcMutation(page, "features.updateState", { featureId: feature.id, environmentId, enabled: true, value: "red" });
  const alice = await trpcMutation<{ id: number }>(page, "identities.create", { environmentId, identifier: "alice" });
  await trpcMutation(page, "identities.setTrait", { identityId: alice.id, key: "plan", value: "beta" });
  await trpcMutation(page, "identities.createOverride", { identityId: alice.id, featureId: feature.id, enabled: true, value: "purple" });

  await page.goto("/");
  await expect(page).toHaveURL(/\/o\/\d+$/);
  const organisation = new URL(page.url()).pathname;
  const env = `/p/${projectId}/e/${environmentId}`;
  const pages: { path: string; open?: (page: Page) => Promise<void> }[] = [
    { path: organisation },
    { path: `${organisation}/settings` },
    { path: `/p/${projectId}/environments` },
    { path: `/p/${projectId}/compare` },
    { path: `${env}/features?archived=1` },
    { path: `${env}/features`, open: (p) => p.getByRole("button", { name: "New feature" }).click() },
    { path: `${env}/features/${feature.id}` },
    { path: `${env}/features/${feature.id}?tab=variations` },
    { path: `${env}/features/${feature.id}?tab=segments` },
    { path: `${env}/features/${feature.id}?tab=settings` },
    { path: `/p/${projectId}/segments` },
    { path: `/p/${projectId}/segments/${segment.id}` },
    { path: `/p/${projectId}/segments/new` },
    { path: `${env}/identities` },
    { path: `${env}/identities/${alice.id}`, open: (p) => p.getByRole("table", { name: "Flags for this identity" }).waitFor() },
    {
      path: `${env}/features`,
      open: async (p) => {
        await p.getByRole("button", { name: "Test a context" }).click();
        const panel = p.getByRole("region", { name: "Test a context" });
        await panel.getByLabel("Trait 1 key").fill("plan");
        await panel.getByLabel("Trait 1 value", { exact: true }).fill("beta");
        await panel.getByRole("button", { name: "Evaluate" }).click();
        await panel.getByRole("table", { name: "Flags for this context" }).waitFor();
      },
    },
    { path: `${env}/connect` },
    { path: `${env}/scheduled` },
    { path: `${env}/audit`, open: (p) => p.getByText("Before / after").first().click() },
    { path: `${env}/settings` },
    { path: `/p/${projectId}/settings` },
    { path: "/account", open: (p) => p.keyboard.press("Shift+?") },
  ];
  for (const theme of ["light", "dark"] as const) {
    // When every main page (and a dialog or an open detail on some) is checked in each theme
    await page.evaluate((choice) => window.localStorage.setItem("flagpost:theme", choice), theme);
    const violations: string[] = [];
    for (const { path, open } of pages) {
      await page.goto(path);
      await expect(page.locator("html")).toHaveAttribute("data-theme", theme);
      // (the theme select shows the stored choice once the page is live)
      await expect(page.getByLabel("Theme")).toHaveValue(theme);
      await expect(page.locator("main h1").first()).toBeVisible();
      await expect(page.locator("main .loading")).toHaveCount(0);
      if (open) {
        await open(page);
        await page.waitForTimeout(300);
      }
      violations.push(...(await axeViolations(page)).map((line) => `${theme} ${path}: ${line}`));
    }
    // Then axe finds nothing: names, roles, and colour contrast in both themes
    expect(violations).toEqual([]);
  }

  // And the signed-out pages pass in both themes too
  await page.context().clearCookies();
  for (const theme of ["light", "dark"] as const) {
    await page.evaluate((choice) => window.localStorage.setItem("flagpost:theme", choice), theme);
    for (const path of ["/login", "/signup", "/no/such/page"]) {
      await page.goto(path);
      await expect(page.locator("html")).toHaveAttribute("data-theme", theme);
      expect(await axeViolations(page), `${theme} ${path}`).toEqual([]);
    }
  }
});

test("switchers__arrowKeysOnTheClosedList__noNavigationUntilEnterEscapePutsBack", async ({ page }) => {
  // Given Development's feature list, with Production next in the environment switcher
  await setUpProject(page, ["Development", "Production"]);
  const { projectId } = routeIds(page);
  const environments = await page.request.get(`/api/trpc/environments.list?input=${encodeURIComponent(JSON.stringify({ projectId }))}`);
  const [development, production] = ((await environments.json()) as { result: { data: { id: number; name: string }[] } }).result.data;
  await page.goto(`/p/${projectId}/e/${development.id}/features`);
  const switcher = page.getByLabel("Environment", { exact: true });
  await expect(switcher.locator("option:checked")).toHaveText("Development");

  // When an arrow key changes the closed list
  await switcher.focus();
  await page.keyboard.press("ArrowDown");
  // Then the choice shows with a hint, but the page stays
  await expect(switcher).toHaveValue(String(production.id));
  await expect(page.getByText("Press Enter to open Production")).toBeVisible();
  await expect(switcher).toHaveAccessibleDescription("Press Enter to open Production");
  expect(new URL(page.url()).pathname).toBe(`/p/${projectId}/e/${development.id}/features`);

  // When Escape is pressed
  await page.keyboard.press("Escape");
  // Then the current environment is shown again, still on its page
  await expect(switcher).toHaveValue(String(development.id));
  await expect(page.getByText("Press Enter to open Production")).toHaveCount(0);

  // When the choice is made again and Enter pressed
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  // Then Production's feature list opens
  await expect(page).toHaveURL(new RegExp(`/p/${projectId}/e/${production.id}/features$`));
  await expect(switcher.locator("option:checked")).toHaveText("Production");
});

test("accessibleNames__copyButtonsExpiredInvitationAndNavigation__sayWhatTheyAreAndMatchWhatIsShown", async ({ page, baseURL }) => {
  // Given an environment's settings (its client-side key in a copy field), with the clipboard allowed
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  await setUpProject(page, ["Development"]);

  // Then the copy button is named after its field, and both navigations have names
  const copy = page.getByRole("button", { name: "Copy client-side environment key" });
  await expect(copy).toHaveText(/^Copy/);
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Account" })).toBeVisible();

  // When it is pressed
  await copy.click();
  // Then screen readers hear what was copied (the button's name still starts with its visible text)
  await expect(page.getByText("Client-side environment key copied")).toHaveAttribute("aria-live", "polite");
  await expect(page.getByRole("button", { name: "Copied client-side environment key" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await page.getByLabel("Client-side environment key").inputValue());

  // When an invitation has expired (the list answers it as expired)
  await page.route(/\/api\/trpc\/[^?]*invitations\.list[,?]/, async (route) => {
    const response = await route.fetch();
    const procedures = decodeURIComponent(new URL(route.request().url()).pathname.replace(/^\/api\/trpc\//, "")).split(",");
    const answers = (await response.json()) as { result?: { data?: { expired: boolean }[] } }[];
    const expired = answers.map((answer, index) =>
      procedures[index] === "invitations.list" && answer.result?.data ? { result: { data: answer.result.data.map((invitation) => ({ ...invitation, expired: true })) } } : answer,
    );
    await route.fulfill({ response, body: JSON.stringify(expired) });
  });
  await page.getByRole("link", { name: "Organisation settings" }).click();
  await invite(page, "late@example.com");
  await page.reload();
  // Then its button reads "Remove", and its name starts with that word (WCAG 2.5.3)
  const remove = page.getByRole("table", { name: "Pending invitations" }).getByRole("button", { name: "Remove expired invitation of late@example.com" });
  await expect(remove).toHaveText("Remove");
  await remove.click();
  await expect(page.getByRole("dialog", { name: "Remove expired invitation" }).getByRole("button", { name: "Remove" })).toBeVisible();
});
