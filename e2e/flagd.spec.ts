import type { APIRequestContext } from "@playwright/test";
import { expect, signUp, test } from "./fixtures";

/** tRPC over HTTP with the browser's session cookie (test set-up only; the UI is exercised below). */
async function trpc<T>(request: APIRequestContext, path: string, input: unknown): Promise<T> {
  const response = await request.post(`/api/trpc/${path}`, { data: input });
  expect(response.status(), `${path}: ${await response.text()}`).toBe(200);
  return (await response.json()).result.data as T;
}

test("flagdIntegration__enableOnProjectWithRegexSegment__diagnosticsPanelListsRegexWarning", async ({ page }) => {
  // Given a project whose feature has a segment override on a REGEX segment flagd cannot express
  await signUp(page);
  const organisationId = Number(new URL(page.url()).pathname.split("/")[2]);
  const project = await trpc<{ id: number }>(page.request, "projects.create", { organisationId, name: "Storefront", defaultEnvironments: false });
  const env = await trpc<{ id: number }>(page.request, "environments.create", { projectId: project.id, name: "Production" });
  const feature = await trpc<{ id: number }>(page.request, "features.create", { projectId: project.id, name: "promo_banner", defaultEnabled: true, initialValue: "off" });
  const segment = await trpc<{ id: number }>(page.request, "segments.create", {
    projectId: project.id,
    name: "staff emails",
    rules: [{ type: "ALL", conditions: [{ operator: "REGEX", property: "email", value: "^[a-z]+\\.[a-z]+@acme\\.(com|io)$" }], rules: [] }],
  });
  await trpc(page.request, "segmentOverrides.create", { featureId: feature.id, environmentId: env.id, segmentId: segment.id, enabled: true, value: "on" });

  // When the integration is enabled from the project settings
  await page.goto(`/p/${project.id}/settings`);
  const toggle = page.getByRole("switch", { name: "Publish to flagd" });
  await expect(toggle).toHaveAttribute("aria-checked", "false");
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-checked", "true");
  await expect(page.getByText("flagd integration enabled")).toBeVisible();

  // Then the diagnostics panel shows the feature as lossy with a regex_unsupported warning
  await expect(page.getByRole("table", { name: "flagd documents per environment" }).getByText("Production")).toBeVisible();
  await expect(async () => {
    await page.reload();
    await page.getByRole("button", { name: "Diagnostics" }).click();
    await expect(page.getByLabel("flagd diagnostics").getByText("regex_unsupported").first()).toBeVisible({ timeout: 10_000 });
  }).toPass({ timeout: 30_000 });
  const diagnostics = page.getByLabel("flagd diagnostics");
  await expect(diagnostics.getByRole("link", { name: "promo_banner" })).toBeVisible();
  await expect(diagnostics.getByText("lossy")).toBeVisible();
});
