/**
 * npm run documents:rebuild -- [--environment KEY | --project ID | --all]
 *
 * Enqueues fresh environment-document writes (audited) through the normal path; the worker writes
 * them. Uses DATABASE_URL, else the embedded database of a running `npm start`, else starts it.
 */
import { openToolDatabase } from "../src/server/db/local";

function usage(message?: string): never {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write("usage: npm run documents:rebuild -- [--environment CLIENT_KEY | --project ID | --all]\n");
  process.exit(2);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const index = args.indexOf(flag);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const environment = value("--environment");
  const project = value("--project");
  const all = args.includes("--all");
  if ([environment !== undefined, project !== undefined, all].filter(Boolean).length !== 1) usage("choose exactly one of --environment, --project, --all");
  if (project !== undefined && !/^\d+$/.test(project)) usage("--project takes a numeric project id");

  const database = await openToolDatabase();
  process.env.DATABASE_URL = database.url;
  const { requestRebuild } = await import("../src/server/publishing/rebuild");
  const { closeDb } = await import("../src/server/db/client");
  try {
    const count = await requestRebuild(
      { label: "documents:rebuild CLI" },
      environment !== undefined ? { environmentKey: environment } : project !== undefined ? { projectId: Number(project) } : { all: true },
    );
    if (count === 0) {
      process.stderr.write("no matching environment\n");
      process.exitCode = 1;
    } else {
      process.stdout.write(`${JSON.stringify({ enqueued: count })}\n`);
      process.stderr.write("The worker writes the documents (npm start or npm run start:worker must be running).\n");
    }
  } finally {
    await closeDb();
    await database.close();
  }
}

main().catch((error) => {
  process.stderr.write(`rebuild failed: ${(error as Error).message}\n`);
  process.exit(1);
});
