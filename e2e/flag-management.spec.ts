import { expect, setUpProject, test } from "./fixtures";
import type { Page } from "@playwright/test";

async function openFeatures(page: Page) {
  await page.getByRole("complementary", { name: "Navigation" }).getByRole("link", { name: "Features", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Features", exact: true })).toBeVisible();
}

// Tall enough for two segment-override cards at once (drag and drop between them).
test.use({ viewport: { width: 1280, height: 1400 } });

function overrideCards(page: Page) {
  return page.locator('[data-testid^="segment-override-"]');
}

test("flagManagement__fullWorkflow__everyStepInAuditLog", async ({ page }) => {
  test.setTimeout(180_000);
  // Given a project with Development and Production (protected) environments (Production is open)
  await setUpProject(page, ["Development", "Production"]);

  // When a feature is created from the feature list
  await openFeatures(page);
  await page.getByRole("button", { name: "Create your first feature" }).click();
  const dialog = page.getByRole("dialog", { name: "New feature" });
  await dialog.getByLabel("Name", { exact: true }).fill("new_checkout");
  await dialog.getByLabel("Description").fill("The redesigned checkout");
  await dialog.getByLabel("Initial value", { exact: true }).fill("blue");
  await dialog.getByLabel("Tags").fill("checkout, beta");
  await dialog.getByRole("button", { name: "Create feature" }).click();
  // Then its page opens
  await expect(page.getByRole("heading", { name: "new_checkout", level: 1 })).toBeVisible();

  // When it is toggled on in each environment
  const states = page.getByRole("table", { name: "Value in every environment" });
  await states.getByRole("switch", { name: "Enable in Development", exact: true }).click();
  await expect(states.getByRole("switch", { name: "Enable in Development", exact: true })).toHaveAttribute("aria-checked", "true");
  await states.getByRole("switch", { name: "Enable in Production", exact: true }).click();
  // (Production is protected: the toggle asks first)
  await page.getByRole("dialog", { name: "Change Production?" }).getByRole("button", { name: "Turn on" }).click();
  await expect(states.getByRole("switch", { name: "Enable in Production", exact: true })).toHaveAttribute("aria-checked", "true");
  // Then the toggles persist, and the list shows the flag on in this environment
  await page.reload();
  await expect(states.getByRole("switch", { name: "Enable in Development", exact: true })).toHaveAttribute("aria-checked", "true");
  await openFeatures(page);
  await expect(page.getByRole("switch", { name: "Enable new_checkout" })).toHaveAttribute("aria-checked", "true");
  await page.getByRole("link", { name: "new_checkout" }).click();

  // When two multivariate options are added
  await page.getByRole("tab", { name: "Variations" }).click();
  for (const [value, allocation] of [
    ["green", "30"],
    ["red", "20"],
  ]) {
    await page.getByLabel("New variation value", { exact: true }).fill(value);
    await page.getByLabel("New variation allocation %").fill(allocation);
    await page.getByRole("button", { name: "Add variation" }).click();
    await expect(page.getByText("Variation added").first()).toBeVisible();
  }
  // Then the feature is multivariate with a 30/20/50 split in this environment
  await expect(page.getByText("multivariate", { exact: true }).first()).toBeVisible();
  await page.getByRole("tab", { name: "Value" }).click();
  await expect(page.getByRole("img", { name: /Allocation: green 30%, red 20%, control 50%/ })).toBeVisible();

  // When a segment with nested rules is created: plan = beta AND (country in gb,fr)
  await page.getByRole("complementary", { name: "Navigation" }).getByRole("link", { name: "Segments" }).click();
  await page.getByRole("link", { name: "New segment" }).click();
  await page.getByLabel("Segment name").fill("beta_users");
  const first = page.getByRole("group", { name: "Rule 1 condition 1", exact: true });
  await first.getByLabel("Trait").fill("plan");
  await first.getByLabel("Value").fill("beta");
  await page.getByRole("button", { name: "Add nested rule to rule 1" }).click();
  const nested = page.getByRole("group", { name: "Rule 1.1 condition 1", exact: true });
  await nested.getByLabel("Trait").fill("country");
  await nested.getByLabel("Operator").selectOption("IN");
  await nested.getByLabel("Value").fill("gb,fr");
  await page.getByRole("button", { name: "Create segment" }).click();
  // Then its page shows the nested rule as saved
  await expect(page.getByRole("heading", { name: "beta_users", level: 1 })).toBeVisible();
  await expect(page.getByRole("group", { name: "Rule 1.1", exact: true })).toBeVisible();
  await expect(page.getByRole("group", { name: "Rule 1.1 condition 1", exact: true }).getByLabel("Value")).toHaveValue("gb,fr");

  // And a second segment (a regex on the email) for the priority order
  await page.getByRole("link", { name: "Segments" }).first().click();
  await page.getByRole("link", { name: "New segment" }).click();
  await page.getByLabel("Segment name").fill("staff");
  const staff = page.getByRole("group", { name: "Rule 1 condition 1", exact: true });
  await staff.getByLabel("Trait").fill("email");
  await staff.getByLabel("Operator").selectOption("REGEX");
  await staff.getByLabel("Value").fill(".*@acme\\.com$");
  await page.getByRole("button", { name: "Create segment" }).click();
  await expect(page.getByRole("heading", { name: "staff", level: 1 })).toBeVisible();

  // When both segments override the feature (the sidebar kept Production while on project pages;
  // Production is protected: each change asks first)
  await expect(page.getByLabel("Environment", { exact: true }).locator("option:checked")).toHaveText("Production");
  await openFeatures(page);
  await page.getByRole("link", { name: "new_checkout" }).click();
  await page.getByRole("tab", { name: "Segment overrides" }).click();
  const confirm = page.getByRole("dialog", { name: "Change Production?" });
  for (const [segment, value] of [
    ["beta_users", "beta-blue"],
    ["staff", "staff-blue"],
  ]) {
    await page.getByLabel("Segment", { exact: true }).selectOption({ label: segment });
    await page.getByLabel("Override value", { exact: true }).fill(value);
    await page.getByRole("button", { name: "Add override" }).click();
    await confirm.getByRole("button", { name: "Add override" }).click();
    await expect(page.getByTestId(`segment-override-${segment}`)).toBeVisible();
  }
  // Then they are listed in the order they were added
  await expect(overrideCards(page).nth(0)).toHaveAttribute("data-testid", "segment-override-beta_users");
  await expect(overrideCards(page).nth(1)).toHaveAttribute("data-testid", "segment-override-staff");

  // When staff is moved up with the keyboard-friendly button
  await page.getByRole("button", { name: "Move staff up" }).click();
  await confirm.getByRole("button", { name: "Reorder" }).click();
  // Then staff wins, keyboard focus stays on staff's buttons, and the order survives a reload
  await expect(overrideCards(page).nth(0)).toHaveAttribute("data-testid", "segment-override-staff");
  await expect(page.getByRole("button", { name: "Move staff down" })).toBeFocused();
  await page.reload();
  await expect(overrideCards(page).nth(0)).toHaveAttribute("data-testid", "segment-override-staff");
  await expect(overrideCards(page).nth(1)).toHaveAttribute("data-testid", "segment-override-beta_users");

  // When beta_users is dragged back above staff
  // (both cards fit in the tall viewport: a drag that has to scroll the page is cancelled)
  await page.getByTestId("segment-override-beta_users").locator(".drag-handle").dragTo(page.getByTestId("segment-override-staff").getByRole("link", { name: "staff" }));
  await confirm.getByRole("button", { name: "Reorder" }).click();
  // Then the order is saved again
  await expect(overrideCards(page).nth(0)).toHaveAttribute("data-testid", "segment-override-beta_users");
  await page.reload();
  await expect(overrideCards(page).nth(0)).toHaveAttribute("data-testid", "segment-override-beta_users");

  // When an identity override is added by identifier
  await page.getByRole("tab", { name: "Identity overrides" }).click();
  await page.getByLabel("Identifier").fill("alice");
  await page.getByLabel("Identity value", { exact: true }).fill("purple");
  await page.getByRole("button", { name: "Add override" }).click();
  await confirm.getByRole("button", { name: "Add override" }).click();
  // Then alice is listed with her value
  const alice = page.getByTestId("identity-override-alice");
  await expect(alice).toBeVisible();
  await expect(alice.getByLabel("Value for alice", { exact: true })).toHaveValue("purple");

  // When a value change is scheduled for later
  await page.getByRole("tab", { name: "Value" }).click();
  await page.getByLabel("Control value", { exact: true }).fill("orange");
  await page.getByLabel("Schedule this change").check();
  await expect(page.getByLabel("Go live at")).not.toHaveValue("");
  await page.getByRole("button", { name: "Schedule change" }).click();
  await page.getByRole("dialog", { name: "Change Production?" }).getByRole("button", { name: "Schedule change" }).click();
  // Then it is pending (the current value stays live)
  await expect(page.getByRole("heading", { name: "Scheduled in this environment" })).toBeVisible();
  await expect(page.getByLabel("Control value", { exact: true })).toHaveValue("blue");
  await page.getByRole("link", { name: "Scheduled changes" }).click();
  await expect(page.getByTestId("scheduled-new_checkout")).toContainText('value → "orange"');

  // When the project audit log is opened
  await page.getByRole("link", { name: "Project audit log" }).click();
  const log = page.getByRole("list", { name: "Audit log" });
  // Then every step is there
  await expect(log).toContainText('Feature "new_checkout" created');
  await expect(log).toContainText('Feature "new_checkout": enabled');
  await expect(log).toContainText('variation "green" added at 30%');
  await expect(log).toContainText('variation "red" added at 20%');
  await expect(log).toContainText('Segment "beta_users" created');
  await expect(log).toContainText('override for segment "beta_users" added');
  await expect(log).toContainText('override for segment "staff" added');
  await expect(log).toContainText("segment overrides reordered");
  await expect(log).toContainText('overridden for identity "alice"');
  await expect(log).toContainText("scheduled for");
  // …with the scheduled time in the reader's format (the UTC instant in the title), not as ISO text
  const scheduledAt = log.getByRole("listitem").filter({ hasText: "scheduled for" }).locator(".audit-summary time");
  await expect(scheduledAt).toHaveAttribute("datetime", /^\d{4}-\d{2}-\d{2}T.*Z$/);
  await expect(log.locator(".audit-summary").filter({ hasText: "scheduled for" })).not.toContainText(/\d{4}-\d{2}-\d{2}T\d{2}:/);

  // And filtering by change type narrows it to that kind, with before/after details
  await page.getByLabel("Change type").selectOption({ label: "Segment overrides" });
  await expect(log.getByRole("listitem")).toHaveCount(4);
  await expect(log).not.toContainText('Feature "new_checkout" created');
  await log.getByText("Before / after").first().click();
  await expect(log.getByRole("table", { name: "Changed fields" }).first()).toBeVisible();
});

test("ruleBuilder__invalidRegex__showsInlineErrorNextToValue", async ({ page }) => {
  // Given a project and the new-segment form
  await setUpProject(page, ["Development"]);
  await page.getByRole("link", { name: "Segments" }).click();
  await page.getByRole("link", { name: "New segment" }).click();
  await page.getByLabel("Segment name").fill("broken");
  const condition = page.getByRole("group", { name: "Rule 1 condition 1", exact: true });
  await condition.getByLabel("Trait").fill("email");
  await condition.getByLabel("Operator").selectOption("REGEX");

  // When an invalid regular expression is typed and the field is left
  await condition.getByLabel("Value").fill("([a-z");
  await condition.getByLabel("Value").blur();

  // Then the validator's message shows next to the value, and submitting keeps the form open
  await expect(condition.getByRole("alert")).toHaveText("Not a valid regular expression");
  await expect(condition.getByLabel("Value")).toHaveAttribute("aria-invalid", "true");
  await page.getByRole("button", { name: "Create segment" }).click();
  await expect(page.getByRole("heading", { name: "New segment" })).toBeVisible();
  await expect(condition.getByLabel("Value")).toBeFocused();

  // And fixing it clears the message
  await condition.getByLabel("Value").fill("^[a-z]+@acme\\.com$");
  await expect(condition.getByRole("alert")).toHaveCount(0);
});

test("newFeature__allocationsOver100__showsInlineErrorAndDoesNotSubmit", async ({ page }) => {
  // Given the "New feature" dialog of a multivariate feature with two variations
  await setUpProject(page, ["Development"]);
  await openFeatures(page);
  await page.getByRole("button", { name: "New feature" }).click();
  const dialog = page.getByRole("dialog", { name: "New feature" });
  await dialog.getByLabel("Name", { exact: true }).fill("button_colour");
  await dialog.getByLabel("Type", { exact: true }).selectOption("MULTIVARIATE");
  await dialog.getByRole("button", { name: "Add variation" }).click();
  await dialog.getByRole("button", { name: "Add variation" }).click();
  await dialog.getByRole("group", { name: "Variation 1" }).getByLabel("Variation 1 value", { exact: true }).fill("green");
  await dialog.getByRole("group", { name: "Variation 2" }).getByLabel("Variation 2 value", { exact: true }).fill("red");

  // When the allocations add up to more than 100%
  await dialog.getByRole("group", { name: "Variation 1" }).getByLabel("Allocation %").fill("60");
  await dialog.getByRole("group", { name: "Variation 2" }).getByLabel("Allocation %").fill("50");

  // Then the sum is flagged inline, and "Create feature" does not create it
  await expect(dialog.getByRole("alert").filter({ hasText: "Allocations add up to 110%, more than 100%" })).toBeVisible();
  await dialog.getByRole("button", { name: "Create feature" }).click();
  await expect(dialog).toBeVisible();

  // And bringing the sum to 100% or less lets it through
  await dialog.getByRole("group", { name: "Variation 2" }).getByLabel("Allocation %").fill("40");
  await expect(dialog.getByRole("alert")).toHaveCount(0);
  await dialog.getByRole("button", { name: "Create feature" }).click();
  await expect(page.getByRole("heading", { name: "button_colour", level: 1 })).toBeVisible();
});

test("newFeature__duplicateName__showsServerErrorNextToName", async ({ page, consoleErrors }) => {
  consoleErrors.allowFailedRequest(409, "/api/trpc/features.create", "the duplicate name is refused with 409");
  // Given a project with a feature called "dark_mode"
  await setUpProject(page, ["Development"]);
  await openFeatures(page);
  await page.getByRole("button", { name: "Create your first feature" }).click();
  await page.getByRole("dialog", { name: "New feature" }).getByLabel("Name", { exact: true }).fill("dark_mode");
  await page.getByRole("button", { name: "Create feature" }).click();
  await expect(page.getByRole("heading", { name: "dark_mode", level: 1 })).toBeVisible();

  // When another feature with the same name (other case) is created
  await openFeatures(page);
  await page.getByRole("button", { name: "New feature" }).click();
  const dialog = page.getByRole("dialog", { name: "New feature" });
  await dialog.getByLabel("Name", { exact: true }).fill("DARK_MODE");
  await dialog.getByRole("button", { name: "Create feature" }).click();

  // Then the server's message shows next to the name field
  await expect(dialog.getByRole("alert")).toHaveText("A feature with this name already exists in this project");
  await expect(dialog.getByLabel("Name", { exact: true })).toHaveAttribute("aria-invalid", "true");
});

test("environmentSettings__cloneThenRebuild__opensCloneAndAuditsRebuild", async ({ page }) => {
  // Given a Development environment with a feature switched on
  await setUpProject(page, ["Development"]);
  await openFeatures(page);
  await page.getByRole("button", { name: "Create your first feature" }).click();
  await page.getByRole("dialog", { name: "New feature" }).getByLabel("Name", { exact: true }).fill("search_v2");
  await page.getByRole("button", { name: "Create feature" }).click();
  await page.getByRole("table", { name: "Value in every environment" }).getByRole("switch", { name: "Enable in Development", exact: true }).click();
  await expect(page.getByRole("switch", { name: "Enable in Development", exact: true })).toHaveAttribute("aria-checked", "true");

  // When the environment is cloned from its settings page
  await page.getByRole("link", { name: "Environment settings" }).click();
  await page.getByLabel("New environment name").fill("Staging");
  await page.getByRole("button", { name: "Clone environment" }).click();

  // Then the clone opens, with the flag switched on as in its source
  await expect(page.getByRole("heading", { name: "Features", exact: true })).toBeVisible();
  await expect(page.getByLabel("Environment", { exact: true }).locator("option:checked")).toHaveText("Staging");
  await expect(page.getByRole("switch", { name: "Enable search_v2" })).toHaveAttribute("aria-checked", "true");

  // When an operator rebuilds its environment document (after confirming)
  await page.getByRole("link", { name: "Environment settings" }).click();
  await page.getByRole("button", { name: "Rebuild document" }).click();
  await page.getByRole("dialog", { name: "Rebuild environment document" }).getByRole("button", { name: "Rebuild document" }).click();

  // Then the document is written, and both steps are in the environment's audit log
  await expect(page.getByText("up to date")).toBeVisible({ timeout: 20_000 });
  await page.getByRole("link", { name: "Audit log", exact: true }).click();
  const log = page.getByRole("list", { name: "Audit log" });
  await expect(log).toContainText('Environment "Staging" cloned from "Development"');
  await expect(log).toContainText('Environment document of "Staging" rebuild requested');
});

test("featureList__toggleFailsOnServer__rollsBackAndShowsErrorToast", async ({ page, consoleErrors }) => {
  consoleErrors.allowFailedRequest(500, "/api/trpc/features.updateState", "the test makes the toggle fail with 500");
  // Given a feature, switched off, in the feature list
  await setUpProject(page, ["Development"]);
  await openFeatures(page);
  await page.getByRole("button", { name: "Create your first feature" }).click();
  await page.getByRole("dialog", { name: "New feature" }).getByLabel("Name", { exact: true }).fill("risky_flag");
  await page.getByRole("button", { name: "Create feature" }).click();
  await expect(page.getByRole("heading", { name: "risky_flag", level: 1 })).toBeVisible();
  await openFeatures(page);
  const toggle = page.getByRole("switch", { name: "Enable risky_flag" });
  await expect(toggle).toHaveAttribute("aria-checked", "false");

  // When the server rejects the toggle
  await page.route("**/api/trpc/features.updateState**", (route) =>
    route.fulfill({
      status: 500,
      contentType: "application/json",
      body: JSON.stringify([{ error: { message: "Database unavailable", code: -32603, data: { code: "INTERNAL_SERVER_ERROR", httpStatus: 500 } } }]),
    }),
  );
  await toggle.click();

  // Then the switch goes back to off and an error toast explains why
  await expect(page.getByRole("alert").filter({ hasText: "Database unavailable" })).toBeVisible();
  await expect(toggle).toHaveAttribute("aria-checked", "false");
});

test("environmentSettings__hideDisabledFlags__threeStatesSavedAndBackToProjectSetting", async ({ page }) => {
  // Given a new environment, which follows the project's setting
  await setUpProject(page, ["Development"]);
  const select = page.getByRole("combobox", { name: "Hide disabled flags" });
  await expect(select).toHaveValue("project");

  // When the environment is set to hide disabled flags
  await select.selectOption({ label: "Hide" });

  // Then the setting is saved and kept across a reload
  await expect(page.getByText("Setting saved")).toBeVisible();
  await page.reload();
  await expect(page.getByRole("combobox", { name: "Hide disabled flags" })).toHaveValue("hide");

  // When it is set back to the project setting
  await page.getByRole("combobox", { name: "Hide disabled flags" }).selectOption({ label: "Use the project setting" });
  await expect(page.getByText("Setting saved").first()).toBeVisible();
  await page.reload();

  // Then the environment follows the project again
  await expect(page.getByRole("combobox", { name: "Hide disabled flags" })).toHaveValue("project");
});

test("featureValue__editedThenToggledFromTheEnvironmentTable__unsavedValueKeptToggleFollows", async ({ page }) => {
  // Given a feature whose value is being edited (not saved) on its page
  await setUpProject(page, ["Development"]);
  await openFeatures(page);
  await page.getByRole("button", { name: "Create your first feature" }).click();
  const dialog = page.getByRole("dialog", { name: "New feature" });
  await dialog.getByLabel("Name", { exact: true }).fill("banner_text");
  await dialog.getByLabel("Initial value", { exact: true }).fill("hello");
  await dialog.getByRole("button", { name: "Create feature" }).click();
  const form = page.getByRole("form", { name: "Value in Development" });
  const value = form.getByLabel("Value", { exact: true });
  await expect(value).toHaveValue("hello");
  await value.fill("hello, edited");

  // When the environment is switched on from the table above the form
  await page.getByRole("table", { name: "Value in every environment" }).getByRole("switch", { name: "Enable in Development", exact: true }).click();

  // Then the form follows the new live state but keeps the unsaved value
  await expect(form.getByRole("switch", { name: "Enabled in Development" })).toHaveAttribute("aria-checked", "true");
  await expect(value).toHaveValue("hello, edited");
  await expect(form.getByText("Unsaved changes")).toBeVisible();

  // …which saves, and both survive a reload
  await form.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved for Development" })).toBeVisible();
  await page.reload();
  await expect(value).toHaveValue("hello, edited");
  await expect(form.getByRole("switch", { name: "Enabled in Development" })).toHaveAttribute("aria-checked", "true");
  await expect(form.getByText("Unsaved changes")).toHaveCount(0);
});
