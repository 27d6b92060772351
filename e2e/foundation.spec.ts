import { expect, signUp, test } from "./fixtures";

test("signUp__createProject__defaultEnvironmentsWithClientAndServerKeys", async ({ page }) => {
  // Given a new user signed up through the UI
  await signUp(page, { organisation: "Acme" });
  await expect(page.getByRole("heading", { name: "No projects yet" })).toBeVisible();

  // When they create a project
  await page.getByRole("button", { name: "Create your first project" }).click();
  await page.getByLabel("Project name").fill("Web shop");
  await page.getByRole("button", { name: "Create project" }).click();

  // Then it comes with Development and Production, Production protected
  await expect(page.getByRole("heading", { name: "Environments", exact: true })).toBeVisible();
  const table = page.getByRole("table", { name: "Environments" });
  await expect(table.getByRole("row").filter({ hasText: "Development" })).not.toContainText("protected");
  await expect(table.getByRole("row").filter({ hasText: "Production" })).toContainText("protected");

  // When Production's settings are opened
  await table.getByRole("row").filter({ hasText: "Production" }).getByRole("link", { name: "Settings & keys" }).click();

  // Then they show its client-side key and protection, and a server-side key can be created once
  await expect(page.getByRole("heading", { name: "Environment settings" })).toBeVisible();
  const clientKey = page.getByLabel("Client-side environment key");
  await expect(clientKey).toHaveValue(/^[A-Za-z0-9]{22}$/);
  await expect(page.getByRole("switch", { name: "Protected environment" })).toHaveAttribute("aria-checked", "true");
  await page.getByRole("button", { name: "Create server-side key" }).click();
  await page.getByLabel("Key name").fill("backend");
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByLabel("Server-side key", { exact: true })).toHaveValue(/^ser\./);
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByRole("cell", { name: "backend" })).toBeVisible();
});

test("createProject__duplicateName__showsErrorNextToField", async ({ page, consoleErrors }) => {
  consoleErrors.allowFailedRequest(409, "/api/trpc/projects.create", "the duplicate name is refused with 409");
  // Given a user with a project
  await signUp(page);
  await page.getByRole("button", { name: "Create your first project" }).click();
  await page.getByLabel("Project name").fill("Mobile");
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page.getByRole("heading", { name: "Environments", exact: true })).toBeVisible();

  // When they try to create another project with the same name
  await page.getByRole("link", { name: "Projects" }).click();
  await page.getByRole("button", { name: "New project" }).click();
  await page.getByLabel("Project name").fill("mobile");
  await page.getByRole("button", { name: "Create project" }).click();

  // Then the dialog stays open with the error next to the field
  await expect(page.getByRole("alert").filter({ hasText: "already exists" })).toBeVisible();
});

test("signIn__wrongPasswordThenRight__errorThenProjects", async ({ page, consoleErrors }) => {
  consoleErrors.allowFailedRequest(401, "/api/trpc/auth.signIn", "the wrong password is refused with 401");
  // Given an existing account, signed out
  const { email, password } = await signUp(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();

  // When signing in with a wrong password, then the right one
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("wrong password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("Email or password is incorrect")).toBeVisible();
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();

  // Then the projects page opens
  await expect(page.getByRole("heading", { name: "Projects", exact: true })).toBeVisible();
});

test("protectedPage__signedOut__redirectsToSignIn", async ({ page }) => {
  // Given no session
  // When opening an admin page
  await page.goto("/o/1");

  // Then the sign-in page is shown
  await expect(page).toHaveURL(/\/login$/);
});

test("changePassword__fromAccountSettings__otherBrowserSignedOutNewPasswordSignsIn", async ({ page, newContext, consoleErrors }) => {
  consoleErrors.allowFailedRequest(400, "/api/trpc/auth.changePassword", "the wrong current password is refused with 400");
  consoleErrors.allowFailedRequest(401, "/api/trpc/auth.signIn", "the old password no longer signs in (401)");
  // Given an account signed in here and in another browser
  const { email, password } = await signUp(page, { name: "Grace" });
  const otherContext = await newContext();
  const other = await otherContext.newPage();
  await other.goto("/login");
  await other.getByLabel("Email").fill(email);
  await other.getByLabel("Password").fill(password);
  await other.getByRole("button", { name: "Sign in" }).click();
  await expect(other.getByRole("heading", { name: "Projects", exact: true })).toBeVisible();

  // When Grace opens her account settings and submits with mismatched, then wrong, then right entries
  await page.getByRole("link", { name: "Account settings" }).click();
  await expect(page.getByRole("heading", { name: "Account" })).toBeVisible();
  await page.getByLabel("Current password").fill(password);
  await page.getByLabel("New password", { exact: true }).fill("a much better one");
  await page.getByLabel("Confirm new password").fill("a much better onE");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("The two new passwords differ")).toBeVisible();
  await page.getByLabel("Confirm new password").fill("a much better one");
  await page.getByLabel("Current password").fill("not it at all");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Current password is incorrect")).toBeVisible();
  await page.getByLabel("Current password").fill(password);
  await page.getByLabel("Current password").press("Enter");

  // Then it is confirmed, the form is cleared, and the other browser is signed out
  await expect(page.getByRole("status").filter({ hasText: "Password changed. 1 other session was signed out." })).toBeVisible();
  await expect(page.getByLabel("Current password")).toHaveValue("");
  await other.reload();
  await expect(other).toHaveURL(/\/login$/);
  await otherContext.close();

  // …and after signing out here, only the new password signs in
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("Email or password is incorrect")).toBeVisible();
  await page.getByLabel("Password").fill("a much better one");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Projects", exact: true })).toBeVisible();
});
