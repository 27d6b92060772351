/**
 * npm run bootstrap:flagd -- --api-key ser.KEY --admin-email EMAIL --admin-password PASSWORD
 *                           [--organisation NAME] [--project NAME] [--environment NAME]
 *
 * Idempotent set-up for a local flagd stack (docker-compose.yml): an organisation, project and
 * environment; a server-side key with the given fixed value (what flagd's `authHeader` sends); an
 * admin user (created, or added to the organisation); and the project's flagd integration enabled.
 * Running it again changes nothing that already exists. Prints one JSON line.
 */
import { openToolDatabase } from "../src/server/db/local";

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run bootstrap:flagd -- --api-key ser.KEY --admin-email EMAIL --admin-password PASSWORD [--organisation NAME] [--project NAME] [--environment NAME]\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = (flag: string, fallback?: string) => {
    const index = args.indexOf(flag);
    return index >= 0 && args[index + 1] !== undefined ? args[index + 1] : fallback;
  };
  const apiKey = value("--api-key", process.env.FLAGD_SERVER_KEY);
  const adminEmail = value("--admin-email", process.env.ADMIN_EMAIL);
  const adminPassword = value("--admin-password", process.env.ADMIN_PASSWORD);
  if (!apiKey || !apiKey.startsWith("ser.") || apiKey.length < 12) usage("--api-key must be a server-side key: ser. followed by at least 8 characters");
  if (!adminEmail || !/^\S+@\S+\.\S+$/.test(adminEmail)) usage("--admin-email is required");
  if (!adminPassword || adminPassword.length < 8) usage("--admin-password must have at least 8 characters");

  const database = await openToolDatabase();
  process.env.DATABASE_URL = database.url;
  const { bootstrapFlagd } = await import("../src/server/flagd/bootstrap");
  const { closeDb } = await import("../src/server/db/client");
  try {
    const result = await bootstrapFlagd({
      apiKey,
      adminEmail,
      adminPassword,
      organisation: value("--organisation", "Local")!,
      project: value("--project", "flagd")!,
      environment: value("--environment", "Development")!,
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await closeDb();
    await database.close();
  }
}

main().catch((error) => {
  process.stderr.write(`bootstrap failed: ${(error as Error).message}\n`);
  process.exit(1);
});
