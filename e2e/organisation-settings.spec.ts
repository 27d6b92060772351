import { acceptInvitation, expect, invite, signUp, test, uniqueEmail } from "./fixtures";

test("members__addPromoteLeaveRemove__rolesAndAccessFollowTheAdmin", async ({ page, newContext }) => {
  // Given Bob, who has an account, and Alice on her organisation's settings
  const bobContext = await newContext();
  const bobPage = await bobContext.newPage();
  const bob = await signUp(bobPage, { name: "Bob Builder", email: uniqueEmail("bob") });
  await signUp(page, { name: "Alice Admin", organisation: "Alice Co" });
  await page.getByRole("link", { name: "Organisation settings" }).click();
  await expect(page.getByRole("heading", { name: "Organisation settings" })).toBeVisible();
  const settingsUrl = new URL(page.url()).pathname;
  // …where she, the only admin, can neither leave nor make herself a user
  await expect(page.getByRole("button", { name: "Leave organisation" })).toBeDisabled();
  await expect(page.getByLabel("Role of Alice Admin")).toBeDisabled();

  // When she invites Bob as a user and he opens the link, signed in, and joins
  const link = await invite(page, bob.email);
  await acceptInvitation(bobPage, link, "Alice Co");

  // Then he is listed; on the same page Bob sees the members but cannot manage them or API keys
  const members = page.getByRole("table").first();
  await page.reload();
  await expect(members.getByRole("row", { name: /Bob Builder/ })).toBeVisible();
  await expect(page.getByLabel("Role of Bob Builder")).toHaveValue("USER");
  await bobPage.goto(settingsUrl);
  await expect(bobPage.getByRole("row", { name: /Alice Admin/ })).toBeVisible();
  await expect(bobPage.getByText("Only organisation admins can invite members or change roles.")).toBeVisible();
  await expect(bobPage.getByRole("heading", { name: "API keys" })).toHaveCount(0);
  await expect(bobPage.getByRole("button", { name: "Remove Alice Admin" })).toHaveCount(0);

  // When Alice chooses "Admin" in his role list (with the keyboard: arrow keys change a closed list at once on some platforms)
  const role = page.getByLabel("Role of Bob Builder");
  await role.focus();
  await role.press("ArrowDown");
  await expect(role).toHaveValue("ADMIN");
  // Then nothing is changed yet: the role is saved only with "Save role"
  const saveRole = page.getByRole("button", { name: "Save role for Bob Builder" });
  await expect(saveRole).toBeEnabled();
  await expect(page.getByRole("status").filter({ hasText: "is now an admin" })).toHaveCount(0);
  // When she tabs to "Save role" and presses Enter
  await page.keyboard.press("Tab");
  await expect(saveRole).toBeFocused();
  await page.keyboard.press("Enter");

  // Then it is confirmed, survives a reload, and Bob can now manage the organisation
  await expect(page.getByRole("status").filter({ hasText: "Bob Builder is now an admin" })).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("Role of Bob Builder")).toHaveValue("ADMIN");
  await expect(page.getByRole("button", { name: "Leave organisation" })).toBeEnabled();
  await bobPage.reload();
  await expect(bobPage.getByRole("heading", { name: "API keys" })).toBeVisible();

  // When Bob leaves, confirming in the dialog
  await bobPage.getByRole("button", { name: "Leave organisation" }).click();
  const leave = bobPage.getByRole("dialog", { name: "Leave organisation" });
  await expect(leave.getByRole("button", { name: "Cancel" })).toBeFocused();
  await leave.getByRole("button", { name: "Leave" }).click();

  // Then he is back in his own organisation, and Alice's is gone from his switcher
  await expect(bobPage.getByRole("heading", { name: "Projects", exact: true })).toBeVisible();
  await expect(bobPage.getByLabel("Organisation", { exact: true }).locator("option", { hasText: "Alice Co" })).toHaveCount(0);
  await page.reload();
  await expect(members.getByRole("row", { name: /Bob Builder/ })).toHaveCount(0);

  // When Alice invites him again, he joins, and she then removes him
  await acceptInvitation(bobPage, await invite(page, bob.email), "Alice Co");
  await page.reload();
  await page.getByRole("button", { name: "Remove Bob Builder" }).click();
  await page.getByRole("dialog", { name: "Remove member" }).getByRole("button", { name: "Remove" }).click();

  // Then he is gone, and the page he had open now refuses him
  await expect(page.getByRole("status").filter({ hasText: "Member removed" })).toBeVisible();
  await expect(members.getByRole("row", { name: /Bob Builder/ })).toHaveCount(0);
  await bobPage.goto(settingsUrl);
  await expect(bobPage.getByRole("alert").first()).toBeVisible();
  await bobContext.close();

  // …and the organisation's audit log tells the story, filterable to member changes
  await page.getByRole("link", { name: "Organisation audit log" }).click();
  await page.getByLabel("Change type").selectOption({ label: "Members" });
  const log = page.getByRole("list", { name: "Audit log" });
  await expect(log.getByRole("listitem").filter({ hasText: `${bob.email} removed` })).toBeVisible();
  await expect(log.getByRole("listitem").filter({ hasText: `${bob.email} left the organisation` })).toBeVisible();
  await expect(log.getByRole("listitem").filter({ hasText: `${bob.email} is now an admin` })).toContainText("organisation-wide");
  await expect(log.getByRole("listitem")).toHaveCount(3);
  // …and the invitations filter shows both invitations and both acceptances
  await page.getByLabel("Change type").selectOption({ label: "Invitations" });
  await expect(log.getByRole("listitem").filter({ hasText: `${bob.email} joined as a user` })).toHaveCount(2);
  await expect(log.getByRole("listitem")).toHaveCount(4);
});

test("noOrganisation__lastOneLeft__emptyStateCreatesANewOne", async ({ page, newContext }) => {
  // Given Carol, the only admin of her organisation, who makes Dan an admin of it too
  const dan = uniqueEmail("dan");
  await signUp(page, { name: "Dan", email: dan });
  const carolContext = await newContext();
  const carolPage = await carolContext.newPage();
  await signUp(carolPage, { name: "Carol", organisation: "Carol's first" });
  await carolPage.getByRole("link", { name: "Organisation settings" }).click();
  await acceptInvitation(page, await invite(carolPage, dan, "ADMIN"), "Carol's first");
  await carolPage.reload();
  await expect(carolPage.getByLabel("Role of Dan")).toHaveValue("ADMIN");

  // When she leaves it, her last organisation
  await carolPage.getByRole("button", { name: "Leave organisation" }).click();
  await carolPage.getByRole("dialog", { name: "Leave organisation" }).getByRole("button", { name: "Leave" }).click();

  // Then she is told she belongs to none, and is offered to create one
  await expect(carolPage.getByRole("heading", { name: "You are not a member of any organisation" })).toBeVisible();
  await carolPage.getByRole("button", { name: "Create an organisation" }).click();
  const dialog = carolPage.getByRole("dialog", { name: "New organisation" });
  await dialog.getByRole("button", { name: "Create organisation" }).click();
  await expect(dialog.getByRole("alert")).toHaveText("Organisation name is required");
  await dialog.getByLabel("Organisation name").fill("Carol's second");
  await dialog.getByRole("button", { name: "Create organisation" }).click();

  // Then she lands on its projects, with only the new organisation in the switcher
  await expect(carolPage.getByRole("heading", { name: "Projects", exact: true })).toBeVisible();
  const switcher = carolPage.getByLabel("Organisation", { exact: true });
  await expect(switcher.locator("option:checked")).toHaveText("Carol's second");
  await expect(switcher.locator("option", { hasText: "Carol's first" })).toHaveCount(0);

  // …and the switcher's "New organisation…" opens the same dialog, which Escape closes
  await switcher.selectOption({ label: "New organisation…" });
  await expect(dialog).toBeVisible();
  await carolPage.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(switcher.locator("option:checked")).toHaveText("Carol's second");
  await carolContext.close();
});

test("organisationSettings__renameAndStopServing__confirmedSavedAndUndoable", async ({ page }) => {
  // Given an admin on the organisation settings
  await signUp(page, { name: "Erin", organisation: "Erin Inc" });
  await page.getByRole("link", { name: "Organisation settings" }).click();
  const name = page.getByLabel("Organisation name");
  await expect(name).toHaveValue("Erin Inc");

  // When the name is cleared and saved, then set and saved
  await name.fill("");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Organisation name is required")).toBeVisible();
  await name.fill("Erin Group");
  await name.press("Enter");

  // Then the new name shows in the switcher
  await expect(page.getByRole("status").filter({ hasText: "Organisation renamed" })).toBeVisible();
  await expect(page.getByLabel("Organisation", { exact: true }).locator("option:checked")).toHaveText("Erin Group");

  // When "Stop serving flags" is switched on, it asks first; Cancel leaves it off
  const stop = page.getByRole("switch", { name: "Stop serving flags" });
  await stop.click();
  const confirm = page.getByRole("dialog", { name: "Stop serving flags" });
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await expect(stop).toHaveAttribute("aria-checked", "false");
  await stop.click();
  await confirm.getByRole("button", { name: "Stop serving flags" }).click();

  // Then it is on after a reload, and switching it off needs no confirmation
  await page.reload();
  await expect(stop).toHaveAttribute("aria-checked", "true");
  await stop.click();
  await expect(page.getByRole("status").filter({ hasText: "Setting saved" })).toBeVisible();
  await expect(stop).toHaveAttribute("aria-checked", "false");
  await expect(page.getByRole("switch", { name: "Persist identity traits" })).toHaveAttribute("aria-checked", "true");
});

test("deleteOrganisation__typeNameToConfirm__goneAndBackInTheOtherOne", async ({ page }) => {
  // Given Frank with two organisations, on the settings of the second
  await signUp(page, { name: "Frank", organisation: "Frank Ltd" });
  const switcher = page.getByLabel("Organisation", { exact: true });
  await switcher.selectOption({ label: "New organisation…" });
  const create = page.getByRole("dialog", { name: "New organisation" });
  await create.getByLabel("Organisation name").fill("Frank Temp");
  await create.getByRole("button", { name: "Create organisation" }).click();
  await expect(switcher.locator("option:checked")).toHaveText("Frank Temp");
  await page.getByRole("link", { name: "Organisation settings" }).click();

  // When he starts deleting it, the name field has focus and the button waits for the exact name
  await page.getByRole("button", { name: "Delete organisation" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete organisation" });
  const confirmName = dialog.getByLabel('Type "Frank Temp" to confirm');
  await expect(confirmName).toBeFocused();
  const remove = dialog.getByRole("button", { name: "Delete organisation" });
  await expect(remove).toBeDisabled();
  await page.keyboard.type("Frank Ltd");
  await expect(remove).toBeDisabled();
  // Escape closes it and forgets what was typed
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await page.getByRole("button", { name: "Delete organisation" }).click();
  await expect(confirmName).toHaveValue("");

  // When he types the name and presses Enter
  await page.keyboard.type("Frank Temp");
  await expect(remove).toBeEnabled();
  await page.keyboard.press("Enter");

  // Then it is gone and he is on the projects of the one he has left
  await expect(page.getByRole("status").filter({ hasText: 'Organisation "Frank Temp" deleted' })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Projects", exact: true })).toBeVisible();
  await expect(switcher.locator("option:checked")).toHaveText("Frank Ltd");
  await expect(switcher.locator("option", { hasText: "Frank Temp" })).toHaveCount(0);
});
