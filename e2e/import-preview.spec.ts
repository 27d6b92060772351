import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateDocument } from "../tests/support/flagsmith-documents";
import { axeViolations, expect, setUpProject, test } from "./fixtures";

/** Writes a Flagsmith environment document to a temporary .json file. */
function documentFile(name: string, document: unknown): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-import-")), name);
  fs.writeFileSync(file, JSON.stringify(document));
  return file;
}

test("importPreview__pickFile__countsShownNothingImportedUntilImportThenApplied", async ({ page }) => {
  // Given project "Shop" with a Production environment, on its settings, and a Flagsmith document for "Development"
  await setUpProject(page, ["Production"]);
  await page.getByRole("link", { name: "Project settings" }).click();
  await expect(page.getByRole("heading", { name: "Project settings" })).toBeVisible();
  const document = generateDocument({ name: "Development", identityOverrides: 3 }) as unknown as { feature_states: unknown[]; project: { segments: unknown[] } };
  const file = documentFile("development.json", document);
  const chooser = page.getByLabel("Flagsmith environment document", { exact: true });

  // When the file is picked
  await chooser.setInputFiles(file);

  // Then a preview shows the counts, lists and warnings, and offers Cancel (focused) and Import
  const preview = page.getByRole("region", { name: "Preview: importing development.json" });
  await expect(preview).toBeVisible();
  const counts = preview.getByRole("table", { name: "Import counts" });
  await expect(preview.getByRole("button", { name: "Cancel" })).toBeFocused();
  const featureCount = document.feature_states.length;
  await expect(counts.getByRole("row", { name: `Features ${featureCount} ${featureCount} 0` })).toBeVisible();
  await expect(counts.getByRole("row", { name: /^Identities with overrides 3 3 0$/ })).toBeVisible();
  await expect(preview.getByRole("note", { name: "Warnings" })).toContainText("switched off, to 1 other environment (Production)");
  await preview.getByText(`Features (${featureCount})`).click();
  await expect(preview.getByRole("list", { name: `Features (${featureCount})` }).getByRole("listitem").first()).toContainText("New");
  expect(await axeViolations(page)).toEqual([]);

  // When the preview is cancelled (with the keyboard)
  await preview.getByRole("button", { name: "Cancel" }).press("Enter");

  // Then nothing was imported: the project still has only Production
  await expect(preview).toBeHidden();
  await page.getByRole("link", { name: "Environments", exact: true }).click();
  const environments = page.getByRole("table", { name: "Environments" });
  await expect(environments.getByRole("link", { name: "Production", exact: true })).toBeVisible();
  await expect(environments.getByRole("link", { name: "Development", exact: true })).toHaveCount(0);

  // When the file is picked again and imported
  await page.getByRole("link", { name: "Project settings" }).click();
  await chooser.setInputFiles(file);
  await expect(preview).toBeVisible();
  await preview.getByRole("button", { name: "Import" }).click();

  // Then the environment exists with the previewed counts, its keys are shown, and the preview is gone
  const done = page.getByRole("status").filter({ hasText: "Imported environment" });
  await expect(done).toContainText(`Development (${featureCount} features, ${document.project.segments.length} segments, 3 identity overrides)`);
  await expect(page.getByLabel("Server-side key")).toHaveValue(/^ser\./);
  await expect(preview).toBeHidden();
  await done.getByRole("link", { name: "Development" }).click();
  await expect(page.getByRole("heading", { name: "Features", exact: true })).toBeVisible();
});

test("importPreview__keyAlreadyImported__previewRefusesWithTheReason", async ({ page, consoleErrors }) => {
  consoleErrors.allowFailedRequest(409, "/api/trpc/imports.previewFlagsmith", "the second preview of the same key is refused with 409");
  // Given a project into which a document was imported
  await setUpProject(page, ["Production"]);
  await page.getByRole("link", { name: "Project settings" }).click();
  const file = documentFile("staging.json", generateDocument({ name: "Staging" }));
  const chooser = page.getByLabel("Flagsmith environment document", { exact: true });
  await chooser.setInputFiles(file);
  await page.getByRole("region", { name: "Preview: importing staging.json" }).getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Imported environment" })).toBeVisible();

  // When the same document is picked again
  await chooser.setInputFiles(file);

  // Then the preview says why it cannot be imported, and offers no Import button
  const problem = page.getByRole("alert").filter({ hasText: "staging.json was not imported" });
  await expect(problem).toContainText("$.api_key");
  await expect(problem).toContainText("already exists");
  await expect(page.getByRole("button", { name: "Import", exact: true })).toHaveCount(0);
});
