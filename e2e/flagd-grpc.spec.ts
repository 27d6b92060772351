import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { expect, routeIds, setUpProject, test, trpcMutation } from "./fixtures";

const run = promisify(execFile);

test("flagdGrpcSync__flagdPanelAndConnectSnippet__copiedProviderSnippetSyncsOverGrpcAndPrintsTheValue", async ({ page, baseURL }) => {
  test.setTimeout(120_000);
  // Given an environment with a flag, a server-side key, the project's flagd integration on, and the clipboard allowed
  await setUpProject(page, ["Development"]);
  const { projectId, environmentId } = routeIds(page);
  await trpcMutation(page, "features.create", { projectId, name: "checkout_theme", initialValue: "midnight", defaultEnabled: true });
  const { key } = await trpcMutation<{ key: string }>(page, "environments.createServerKey", { environmentId, name: "in-process" });
  await trpcMutation(page, "flagd.setEnabled", { projectId, enabled: true });
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });

  // When the project's flagd settings are opened
  await page.goto(`/p/${projectId}/settings`);

  // Then the flagd panel says where this web process serves gRPC sync, with the provider snippet and flagd's command
  const section = page.getByRole("region", { name: "In-process providers (gRPC sync)" });
  await expect(section).toContainText("flagd.sync.v1.FlagSyncService on 127.0.0.1:");
  await expect(section.getByRole("group", { name: "Node.js in-process provider" })).toContainText('resolverType: "in-process"');
  await expect(section.getByRole("group", { name: "flagd gRPC sync command" })).toContainText('"provider":"grpc","selector":"ser.YOUR_SERVER_KEY"');
  const port = /127\.0\.0\.1:(\d+)/.exec((await section.textContent()) ?? "")?.[1];
  expect(Number(port)).toBeGreaterThan(0);

  // When the environment's Connect page is opened and the in-process provider snippet copied
  await page.goto(`/p/${projectId}/e/${environmentId}/connect`);
  const connect = page.getByRole("region", { name: "flagd in-process (gRPC sync)" });
  await connect.getByRole("button", { name: "Copy flagd in-process (gRPC sync) snippet (node.js provider)" }).click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());

  // Then it names this instance's host and gRPC sync port, and the key only as a placeholder
  expect(copied).toContain(`port: ${port},`);
  expect(copied).toContain('host: "127.0.0.1"');
  expect(copied).toContain('selector: "ser.YOUR_SERVER_KEY"');
  expect(copied).toContain('getStringDetails("checkout_theme"');
  expect(copied).not.toContain(key);

  // When it is saved with the real key and run with node (the official provider from this repository)
  const directory = path.join(process.cwd(), "test-results", `flagd-grpc-${Date.now()}`);
  fs.mkdirSync(directory, { recursive: true });
  const file = path.join(directory, "in-process.mjs");
  fs.writeFileSync(file, copied.replace("ser.YOUR_SERVER_KEY", key));
  // Then the provider syncs the environment over gRPC and evaluates the flag in-process
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.FORCE_COLOR;
  const { stdout } = await run(process.execPath, [file], { timeout: 30_000, env });
  expect(stdout.trim()).toMatch(/^midnight (STATIC|TARGETING_MATCH)$/);
  fs.rmSync(directory, { recursive: true, force: true });
});
