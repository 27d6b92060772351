import type { Page, Response } from "@playwright/test";
import { axeViolations, expect, invite, signUp, test, uniqueEmail } from "./fixtures";

async function toOrganisationSettings(page: Page) {
  await page.getByRole("link", { name: "Organisation settings" }).click();
  await expect(page.getByRole("heading", { name: "Organisation settings" })).toBeVisible();
}

test("invitation__newPersonSignsUpWithTheLink__joinsAndSeesTheOrganisation", async ({ page, newContext, consoleErrors }) => {
  consoleErrors.allowFailedRequest(404, "/api/trpc/invitations.lookup", "the used link is opened again and is not found");
  // Given Alice, an admin of "Invite Co", with no pending invitations
  await signUp(page, { name: "Alice Admin", organisation: "Invite Co" });
  await toOrganisationSettings(page);
  await expect(page.getByRole("heading", { name: "No pending invitations" })).toBeVisible();

  // When she submits the form empty, then invites a newcomer with the keyboard
  await page.getByRole("button", { name: "Invite", exact: true }).click();
  await expect(page.getByText("Enter a valid email address")).toBeVisible();
  await expect(page.getByLabel("Invite by email")).toBeFocused();
  const email = uniqueEmail("newcomer");
  await page.getByLabel("Invite by email").fill(email);
  await page.getByLabel("Invite by email").press("Enter");

  // Then the link is shown once and the invitation is pending
  const link = await page.getByRole("region", { name: "New invitation" }).getByLabel("Invitation link").inputValue();
  expect(link).toMatch(/\/invite#fp_inv_/);
  await expect(page.getByRole("table", { name: "Pending invitations" }).getByRole("row", { name: new RegExp(email) })).toBeVisible();
  expect(await axeViolations(page)).toEqual([]);

  // When the newcomer opens the link in another browser and creates an account
  const other = await newContext();
  const newcomer = await other.newPage();
  await newcomer.goto(link);
  await expect(newcomer.getByRole("heading", { name: "Join Invite Co" })).toBeVisible();
  await expect(newcomer.getByLabel("Email")).toHaveValue(email);
  expect(await axeViolations(newcomer)).toEqual([]);
  await newcomer.getByRole("button", { name: "Create account and join" }).click();
  await expect(newcomer.getByText("Name is required")).toBeVisible();
  await newcomer.getByLabel("Your name").fill("Nina Newcomer");
  await newcomer.getByLabel("Password").fill("a long password");
  await newcomer.getByRole("button", { name: "Create account and join" }).click();

  // Then they are in Invite Co (their only organisation), and the link cannot be used again
  await expect(newcomer.getByRole("heading", { name: "Projects", exact: true })).toBeVisible();
  const switcher = newcomer.getByLabel("Organisation", { exact: true });
  await expect(switcher.locator("option:checked")).toHaveText("Invite Co");
  await expect(switcher.locator("option", { hasText: "Nina Newcomer" })).toHaveCount(0);
  await newcomer.goto(link);
  await expect(newcomer.getByRole("alert").filter({ hasText: "not valid" })).toBeVisible();
  await other.close();

  // …and Alice sees the new member, no pending invitation, and the story in the audit log
  await page.reload();
  await expect(page.getByRole("table").first().getByRole("row", { name: /Nina Newcomer/ })).toBeVisible();
  await expect(page.getByRole("heading", { name: "No pending invitations" })).toBeVisible();
  await page.getByRole("link", { name: "Organisation audit log" }).click();
  await page.getByLabel("Change type").selectOption({ label: "Invitations" });
  const log = page.getByRole("list", { name: "Audit log" });
  await expect(log.getByRole("listitem").filter({ hasText: `${email} joined as a user` })).toBeVisible();
  await expect(log.getByRole("listitem").filter({ hasText: `${email} invited as a user` })).toBeVisible();
});

test("invitation__existingAndUnknownEmail__sameAnswerRevealsNothing", async ({ page, newContext }) => {
  // Given Bob, who has an account, and Alice on her organisation's settings
  const bobContext = await newContext();
  const bobPage = await bobContext.newPage();
  const bob = await signUp(bobPage, { name: "Bob Existing", email: uniqueEmail("bob") });
  await signUp(page, { name: "Alice", organisation: "Quiet Co" });
  await toOrganisationSettings(page);

  // When she invites Bob, then an email nobody has used, recording what the server answers
  const answers: unknown[] = [];
  const notices: string[] = [];
  for (const email of [bob.email, uniqueEmail("nobody")]) {
    const response: Promise<Response> = page.waitForResponse((r) => r.url().includes("/api/trpc/invitations.create"));
    await invite(page, email);
    // The UI batches calls: the answer is the first of a list.
    type Answer = { result: { data: { invitation: Record<string, unknown>; token: string } } };
    const body = (await (await response).json()) as Answer | Answer[];
    const { invitation, token } = (Array.isArray(body) ? body[0] : body).result.data;
    answers.push({ status: (await response).status(), keys: Object.keys(invitation).sort(), role: invitation.role, expired: invitation.expired, tokenLength: token.length });
    notices.push(((await page.getByRole("region", { name: "New invitation" }).getByRole("status").textContent()) ?? "").replace(email, "<email>").replace(/until .*, and is shown/, "until <date>, and is shown"));
  }

  // Then the answers and what the page says are the same for both
  expect(answers[1]).toEqual(answers[0]);
  expect(notices[1]).toBe(notices[0]);
  await expect(page.getByRole("table", { name: "Pending invitations" }).getByRole("row")).toHaveCount(3);

  // When Bob, signed out, opens his link and chooses to sign in
  const link = await invite(page, bob.email);
  await bobContext.clearCookies();
  await bobPage.goto(link);
  await bobPage.getByRole("link", { name: "Sign in to accept" }).click();
  await bobPage.getByLabel("Email").fill(bob.email);
  await bobPage.getByLabel("Password").fill(bob.password);
  await bobPage.getByRole("button", { name: "Sign in" }).click();

  // Then he is back on the invitation, joins, and the replaced first link is pending no more
  await bobPage.getByRole("button", { name: "Join Quiet Co" }).click();
  await expect(bobPage.getByLabel("Organisation", { exact: true }).locator("option:checked")).toHaveText("Quiet Co");
  await page.reload();
  await expect(page.getByRole("table", { name: "Pending invitations" }).getByRole("row")).toHaveCount(2);
  await bobContext.close();
});

test("invitation__revoked__linkRefused", async ({ page, newContext, consoleErrors }) => {
  consoleErrors.allowFailedRequest(404, "/api/trpc/invitations.lookup", "the revoked link is opened and is not found");
  // Given a pending invitation
  await signUp(page, { name: "Rita", organisation: "Revoke Co" });
  await toOrganisationSettings(page);
  const email = uniqueEmail("revoked");
  const link = await invite(page, email);

  // When Rita revokes it, cancelling once, then confirming
  await page.getByRole("button", { name: `Revoke invitation of ${email}` }).click();
  const dialog = page.getByRole("dialog", { name: "Revoke invitation" });
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("table", { name: "Pending invitations" }).getByRole("row", { name: new RegExp(email) })).toBeVisible();
  await page.getByRole("button", { name: `Revoke invitation of ${email}` }).click();
  await dialog.getByRole("button", { name: "Revoke" }).click();

  // Then it is gone, and the link tells whoever opens it that it is not valid
  await expect(page.getByRole("status").filter({ hasText: "Invitation revoked" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "No pending invitations" })).toBeVisible();
  const other = await newContext();
  const visitor = await other.newPage();
  await visitor.goto(link);
  await expect(visitor.getByRole("alert").filter({ hasText: "This invitation link is not valid" })).toBeVisible();
  await expect(visitor.getByRole("button", { name: /Create account/ })).toHaveCount(0);
  await other.close();
});
