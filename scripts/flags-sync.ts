/**
 * `npm run flags:sync [-- --api-url URL --server-key ser.KEY --file PATH]`: downloads the environment
 * document of Flagpost's own flags from a Flagsmith-compatible API (default FLAGPOST_FLAGS_API_URL and
 * FLAGPOST_FLAGS_SERVER_KEY) into the shipped file (default FLAGPOST_FLAGS_FILE, else
 * config/flagpost-flags.json), and prints what changed. docs/rollouts.md.
 */
import fs from "node:fs";
import path from "node:path";
import { settings } from "../src/server/config";
import type { EnvironmentDocument } from "../src/server/engine/document";
import { describeDiff, diffFlags } from "../src/server/rollouts/sync";

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<void> {
  const apiUrl = option("api-url") ?? settings().flagsApiUrl;
  const serverKey = option("server-key") ?? settings().flagsServerKey;
  const file = path.resolve(option("file") ?? settings().flagsFile);
  if (!apiUrl || !serverKey) {
    process.stderr.write("flags:sync needs --api-url and --server-key (or FLAGPOST_FLAGS_API_URL and FLAGPOST_FLAGS_SERVER_KEY)\n");
    process.exit(2);
  }
  const url = new URL("environment-document/", apiUrl.endsWith("/") ? apiUrl : `${apiUrl}/`);
  const response = await fetch(url, { headers: { "x-environment-key": serverKey } });
  if (!response.ok) {
    process.stderr.write(`GET ${url.origin}${url.pathname}: ${response.status} ${(await response.text()).slice(0, 200)}\n`);
    process.exit(1);
  }
  const document = (await response.json()) as EnvironmentDocument;
  if (!Array.isArray(document.feature_states) || !document.project) {
    process.stderr.write("the answer is not an environment document\n");
    process.exit(1);
  }
  const before = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as EnvironmentDocument) : null;
  const diff = diffFlags(before, document);
  fs.writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  process.stdout.write(`${path.relative(process.cwd(), file)} updated from ${url.origin}${url.pathname}\n`);
  for (const line of describeDiff(diff)) process.stdout.write(`  ${line}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`flags:sync failed: ${(error as Error).message}\n`);
  process.exit(1);
});
