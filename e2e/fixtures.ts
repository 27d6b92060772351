import { randomBytes } from "node:crypto";
import { test as base, expect, type Page } from "@playwright/test";

export const test = base.extend({
  // The server's URL is only known once global setup has started it.
  // (`provide` is Playwright's `use`, renamed so that the React hooks lint rule leaves it alone.)
  baseURL: async ({}, provide) => {
    await provide(process.env.E2E_BASE_URL);
  },
});
export { expect };

export function uniqueEmail(prefix = "e2e"): string {
  return `${prefix}-${randomBytes(4).toString("hex")}@example.com`;
}

/** Signs up through the UI and lands on the organisation's projects page. */
export async function signUp(page: Page, options: { email?: string; name?: string; organisation?: string } = {}) {
  const email = options.email ?? uniqueEmail();
  await page.goto("/signup");
  await page.getByLabel("Your name").fill(options.name ?? "E2E User");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a long password");
  if (options.organisation) await page.getByLabel("Organisation name").fill(options.organisation);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Projects", exact: true })).toBeVisible();
  return { email, password: "a long password" };
}
