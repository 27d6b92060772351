import type { Page } from "@playwright/test";
import { Flagsmith, type Flags } from "flagsmith-nodejs";
import { axeViolations, expect, routeIds, setUpProject, sidewaysOverflow, test, trpcMutation } from "./fixtures";

async function trpcQuery<T>(page: Page, procedure: string, input: unknown): Promise<T> {
  const response = await page.request.get(`/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`);
  const body = (await response.json()) as { result?: { data: T } };
  if (!response.ok() || !body.result) throw new Error(`${procedure} failed (${response.status()})`);
  return body.result.data;
}

/**
 * Shop with Development and Production (protected): banner (on with "new" in Development), search
 * (a "beta" segment override in Development), checkout (#payments, multivariate weights changed in
 * Development) and same (identical everywhere).
 */
async function projectThatDiffers(page: Page) {
  await setUpProject(page, ["Development", "Production"]);
  const { projectId, environmentId: production } = routeIds(page);
  const environments = await trpcQuery<{ id: number; name: string }[]>(page, "environments.list", { projectId });
  const development = environments.find((e) => e.name === "Development")!.id;
  const banner = await trpcMutation<{ id: number }>(page, "features.create", { projectId, name: "banner", initialValue: "old" });
  const search = await trpcMutation<{ id: number }>(page, "features.create", { projectId, name: "search", initialValue: 1 });
  const checkout = await trpcMutation<{ id: number }>(page, "features.create", {
    projectId,
    name: "checkout",
    initialValue: "control",
    tags: ["payments"],
    options: [{ value: "green", key: "green", defaultPercentageAllocation: 30 }],
  });
  await trpcMutation(page, "features.create", { projectId, name: "same", initialValue: true });
  const beta = await trpcMutation<{ id: number }>(page, "segments.create", {
    projectId,
    name: "beta",
    rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "plan", value: "beta" }], rules: [] }],
  });
  await trpcMutation(page, "features.updateState", { featureId: banner.id, environmentId: development, enabled: true, value: "new" });
  await trpcMutation(page, "segmentOverrides.create", { featureId: search.id, environmentId: development, segmentId: beta.id, enabled: true, value: 2 });
  const { options } = await trpcQuery<{ options: { id: number }[] }>(page, "features.get", { featureId: checkout.id });
  await trpcMutation(page, "features.updateState", { featureId: checkout.id, environmentId: development, allocations: [{ optionId: options[0].id, percentageAllocation: 60 }] });
  return { projectId, development, production, checkout: checkout.id, greenOptionId: options[0].id };
}

type FlagView = Record<string, { enabled: boolean; value: unknown }>;

function view(flags: Flags): FlagView {
  const out: FlagView = {};
  for (const flag of flags.allFlags()) out[flag.featureName] = { enabled: flag.enabled, value: flag.value ?? null };
  return out;
}

/** Identities with generated identifiers, a third of them in the "beta" segment (trait plan = beta). */
function generatedIdentities(count: number): { identifier: string; traits: Record<string, string> }[] {
  const run = Math.random().toString(36).slice(2, 8);
  return Array.from({ length: count }, (_, i) => ({ identifier: `user-${run}-${i}`, traits: { plan: i % 3 === 0 ? "beta" : "free" } }));
}

test("compare__copyTwoFeaturesToProtectedProduction__previewedConfirmedCopiedInOneAuditedChange", async ({ page }) => {
  test.setTimeout(150_000);
  // Given a project whose Development differs from Production
  const { projectId } = await projectThatDiffers(page);

  // When "Compare environments" is opened from the navigation
  await page.getByRole("complementary", { name: "Navigation" }).getByRole("link", { name: "Compare environments" }).click();
  await expect(page.getByRole("heading", { name: "Compare environments", level: 1 })).toBeVisible();
  const matrix = page.getByRole("table", { name: "Features by environment" });

  // Then every feature shows its state per environment, and Production's cells that differ from Development are marked
  await expect(page.getByTestId("cell-banner-Development")).toContainText("On");
  await expect(page.getByTestId("cell-banner-Development")).toContainText('"new"');
  await expect(page.getByTestId("cell-banner-Production")).toContainText("Off");
  await expect(page.getByTestId("cell-banner-Production")).toContainText("differs from Development");
  await expect(page.getByTestId("cell-search-Development")).toContainText("1 segment override");
  await expect(page.getByTestId("cell-checkout-Development")).toContainText('"green" 60%');
  await expect(page.getByTestId("cell-same-Production")).not.toContainText("differs");
  await expect(matrix.getByRole("columnheader", { name: /Production/ })).toContainText("protected");

  // When it is filtered by name, by tag, then to differences only
  await page.getByRole("searchbox", { name: "Search" }).fill("bann");
  await expect(matrix.getByRole("row")).toHaveCount(2);
  await page.getByRole("searchbox", { name: "Search" }).fill("");
  await page.getByLabel("Tag").selectOption("payments");
  await expect(matrix.getByRole("row")).toHaveCount(2);
  await expect(page.getByTestId("matrix-row-checkout")).toBeVisible();
  await page.getByLabel("Tag").selectOption("");
  await page.getByRole("switch", { name: "Only differences" }).click();
  // Then only the features that differ are left, and the address keeps the filter (a reload shows the same)
  await expect(page.getByTestId("matrix-row-same")).toHaveCount(0);
  await expect(matrix.getByRole("row")).toHaveCount(4);
  await expect(page).toHaveURL(/[?&]diff=1/);
  await page.reload();
  await expect(page.getByRole("switch", { name: "Only differences" })).toHaveAttribute("aria-checked", "true");
  await expect(matrix.getByRole("row")).toHaveCount(4);

  // When banner and search are selected and copied to an environment
  await page.getByRole("checkbox", { name: "Select banner" }).check();
  await page.getByRole("checkbox", { name: "Select search" }).check();
  await expect(page.getByText("2 features selected")).toBeVisible();
  await page.getByRole("button", { name: "Copy to environment…" }).click();
  const dialog = page.getByRole("dialog", { name: "Copy to environment" });

  // Then the server's preview lists what changes in Production
  await expect(dialog.getByLabel("To environment")).toHaveValue(/\d+/);
  await expect(dialog.getByText("2 features of 2 will change in Production.")).toBeVisible();
  await expect(dialog.getByTestId("copy-preview-banner")).toContainText("Turned on");
  await expect(dialog.getByTestId("copy-preview-banner")).toContainText('Value "old" → "new"');
  await expect(dialog.getByTestId("copy-preview-search")).toContainText("Segment override “beta” added: on, value 2");

  // When it is copied, Production (protected) asks first; the copy goes once confirmed
  await dialog.getByRole("button", { name: "Copy to Production" }).click();
  const confirm = page.getByRole("dialog", { name: "Change Production?" });
  await expect(confirm).toContainText("Production is a protected environment. Copy 2 features from Development in Production?");
  await expect(confirm.getByRole("button", { name: "Cancel" })).toBeFocused();
  await confirm.getByRole("button", { name: "Copy to Production" }).click();

  // Then it is said, the dialog closes, and banner and search no longer differ
  await expect(page.getByRole("status").filter({ hasText: "Copied 2 features from Development to Production" })).toBeVisible();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("matrix-row-banner")).toHaveCount(0);
  await expect(page.getByTestId("matrix-row-search")).toHaveCount(0);
  await page.getByRole("switch", { name: "Only differences" }).click();
  await expect(page.getByTestId("cell-banner-Production")).toContainText('"new"');
  await expect(page.getByTestId("cell-banner-Production")).not.toContainText("differs");

  // …and the project's audit log has one entry naming both features
  await page.goto(`/p/${projectId}/audit`);
  const entries = page.getByRole("list", { name: "Audit log" }).getByRole("listitem").filter({ hasText: 'copied from "Development" to "Production"' });
  await expect(entries).toHaveCount(1);
  await expect(entries).toContainText('2 features copied from "Development" to "Production": "banner" (enabled, value "old" → "new"); "search" (segment "beta" added)');
});

test("featurePage__copyOneFeatureWhileTargetChanges__stalePreviewRefusedShownAfreshThenCopied", async ({ page, consoleErrors }) => {
  test.setTimeout(120_000);
  consoleErrors.allowFailedRequest(412, "/api/trpc/promotion.copy", "the stale copy is refused with 412");
  // Given checkout's weights changed in Development
  const { projectId, development, production, checkout } = await projectThatDiffers(page);

  // When "Copy to environment…" is used on its page in Development
  await page.goto(`/p/${projectId}/e/${development}/features`);
  await page.getByRole("link", { name: "checkout" }).click();
  await page.getByRole("button", { name: "Copy to environment…" }).click();
  const dialog = page.getByRole("dialog", { name: "Copy to environment" });

  // Then the preview shows the weights changing
  await expect(dialog.getByTestId("copy-preview-checkout")).toContainText('Weights "green" 30% → 60%');
  await expect(dialog.getByText("1 feature of 1 will change in Production.")).toBeVisible();

  // When Production's checkout is changed by someone else meanwhile, and the previewed copy is confirmed
  await trpcMutation(page, "features.updateState", { featureId: checkout, environmentId: production, value: "blue" });
  await dialog.getByRole("button", { name: "Copy to Production" }).click();
  await page.getByRole("dialog", { name: "Change Production?" }).getByRole("button", { name: "Copy to Production" }).click();
  // Then nothing is copied: the dialog says why and shows the differences as they are now
  await expect(dialog.getByRole("alert")).toContainText("The environments changed since this preview");
  await expect(dialog.getByTestId("copy-preview-checkout")).toContainText('Value "blue" → "control"');

  // When the fresh preview is copied
  await dialog.getByRole("button", { name: "Copy to Production" }).click();
  await page.getByRole("dialog", { name: "Change Production?" }).getByRole("button", { name: "Copy to Production" }).click();
  // Then it applies and the dialog closes
  await expect(page.getByRole("status").filter({ hasText: "Copied 1 feature from Development to Production" })).toBeVisible();
  await expect(dialog).toBeHidden();
});

test("phoneWidth__compareMatrixAndCopyPreview__noSidewaysScroll", async ({ page }) => {
  test.setTimeout(120_000);
  // Given the differing project, on a 390×844 phone
  const { projectId } = await projectThatDiffers(page);
  await page.setViewportSize({ width: 390, height: 844 });

  // When the matrix is opened
  await page.goto(`/p/${projectId}/compare`);
  await expect(page.getByTestId("cell-banner-Production")).toContainText("differs");
  // Then each feature is a card with every environment labelled, and nothing scrolls sideways
  expect(await sidewaysOverflow(page), "compare scrolls sideways").toEqual([]);

  // When features are selected and the copy preview opened
  await page.getByRole("button", { name: "Select all shown" }).click();
  await page.getByRole("button", { name: "Copy to environment…" }).click();
  await expect(page.getByRole("dialog", { name: "Copy to environment" }).getByText("3 features of 4 will change in Production.")).toBeVisible();
  // Then it fits too
  expect(await sidewaysOverflow(page), "the copy dialog scrolls sideways").toEqual([]);
});

test("copyEveryFeature__generatedIdentities__flagsmithSdkReturnsTheSameFlagsInBothEnvironments", async ({ page, baseURL }) => {
  test.setTimeout(150_000);
  // Given the differing project, checkout at 100 % "green" in Development, and the official Node SDK on both environments
  const { projectId, development, production, checkout, greenOptionId } = await projectThatDiffers(page);
  await trpcMutation(page, "features.updateState", { featureId: checkout, environmentId: development, allocations: [{ optionId: greenOptionId, percentageAllocation: 100 }] });
  const environments = await trpcQuery<{ id: number; apiKey: string }[]>(page, "environments.list", { projectId });
  const sdk = (environmentId: number) =>
    new Flagsmith({ environmentKey: environments.find((e) => e.id === environmentId)!.apiKey, apiUrl: `${baseURL}/api/v1/`, requestTimeoutSeconds: 10 });
  const [developmentSdk, productionSdk] = [sdk(development), sdk(production)];
  const identities = generatedIdentities(60);
  const flagsOf = (client: Flagsmith) => Promise.all(identities.map(async (identity) => view(await client.getIdentityFlags(identity.identifier, identity.traits))));
  // (Development's changes published: the SDK sees checkout at 100 %)
  await expect(async () => expect((await flagsOf(developmentSdk)).every((flags) => flags.checkout.value === "green")).toBe(true)).toPass({ timeout: 20_000 });
  expect(await flagsOf(productionSdk)).not.toEqual(await flagsOf(developmentSdk));

  // When every feature is selected on the compare page and copied to Production (confirmed: it is protected)
  await page.goto(`/p/${projectId}/compare`);
  await page.getByRole("button", { name: "Select all shown" }).click();
  await expect(page.getByText("4 features selected")).toBeVisible();
  await page.getByRole("button", { name: "Copy to environment…" }).click();
  const dialog = page.getByRole("dialog", { name: "Copy to environment" });
  await expect(dialog.getByText("3 features of 4 will change in Production.")).toBeVisible();
  await expect(dialog.getByTestId("copy-preview-same")).toContainText("already the same");
  await dialog.getByRole("button", { name: "Copy to Production" }).click();
  await page.getByRole("dialog", { name: "Change Production?" }).getByRole("button", { name: "Copy to Production" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Copied 3 features from Development to Production" })).toBeVisible();

  // Then, within the usual propagation time, the SDK returns the same flags in both environments: without an identity…
  await expect(async () => expect(view(await productionSdk.getEnvironmentFlags())).toEqual(view(await developmentSdk.getEnvironmentFlags()))).toPass({ timeout: 10_000 });
  // …and for every generated identity (beta ones through the copied segment override)
  const [developmentFlags, productionFlags] = await Promise.all([flagsOf(developmentSdk), flagsOf(productionSdk)]);
  expect(productionFlags).toEqual(developmentFlags);
  expect(new Set(productionFlags.map((flags) => flags.search.value))).toEqual(new Set([1, 2]));
  expect(productionFlags.every((flags) => flags.banner.enabled && flags.banner.value === "new" && flags.checkout.value === "green")).toBe(true);
  // …and the matrix shows no difference left
  await page.getByRole("switch", { name: "Only differences" }).click();
  await expect(page.getByRole("heading", { name: "No differences" })).toBeVisible();
});

test("axe__compareMatrixAndCopyPreviewInLightAndDarkThemes__noWcagViolations", async ({ page }) => {
  test.setTimeout(120_000);
  // Given the differing project
  const { projectId } = await projectThatDiffers(page);
  const violations: string[] = [];
  for (const theme of ["light", "dark"] as const) {
    // When the compare page, then the copy preview of every feature, is checked in each theme
    await page.evaluate((choice) => window.localStorage.setItem("flagpost:theme", choice), theme);
    await page.goto(`/p/${projectId}/compare`);
    await expect(page.locator("html")).toHaveAttribute("data-theme", theme);
    await expect(page.getByTestId("cell-banner-Production")).toContainText("differs");
    violations.push(...(await axeViolations(page)).map((line) => `${theme} compare: ${line}`));
    await page.getByRole("button", { name: "Select all shown" }).click();
    await page.getByRole("button", { name: "Copy to environment…" }).click();
    await expect(page.getByRole("dialog", { name: "Copy to environment" }).getByTestId("copy-preview-checkout")).toBeVisible();
    violations.push(...(await axeViolations(page)).map((line) => `${theme} copy preview: ${line}`));
  }
  // Then axe finds nothing (names, roles, colour contrast)
  expect(violations).toEqual([]);
});
