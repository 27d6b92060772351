import { expect, signUp, test } from "./fixtures";

test("signUp__createProjectAndEnvironment__seesClientAndServerKeys", async ({ page }) => {
  // Given a new user signed up through the UI
  await signUp(page, { organisation: "Acme" });
  await expect(page.getByRole("heading", { name: "No projects yet" })).toBeVisible();

  // When they create a project and an environment
  await page.getByRole("button", { name: "Create your first project" }).click();
  await page.getByLabel("Project name").fill("Web shop");
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page.getByRole("heading", { name: "Environments", exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Create an environment" }).click();
  await page.getByLabel("Environment name").fill("Production");
  await page.getByRole("button", { name: "Create environment" }).click();

  // Then the environment's settings show its client-side key, and a server-side key can be created once
  await expect(page.getByRole("heading", { name: "Environment settings" })).toBeVisible();
  const clientKey = page.getByLabel("Client-side environment key");
  await expect(clientKey).toHaveValue(/^[A-Za-z0-9]{22}$/);
  await page.getByRole("button", { name: "Create server-side key" }).click();
  await page.getByLabel("Key name").fill("backend");
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByLabel("Server-side key", { exact: true })).toHaveValue(/^ser\./);
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByRole("cell", { name: "backend" })).toBeVisible();
});

test("createProject__duplicateName__showsErrorNextToField", async ({ page }) => {
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

test("signIn__wrongPasswordThenRight__errorThenProjects", async ({ page }) => {
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
