/** `npm run db:migrate`: apply drizzle migrations and graphile-worker's schema to DATABASE_URL. */
import { migrateDatabase } from "../src/server/db/migrate";

const url = process.env.DATABASE_URL;
if (!url) {
  process.stderr.write("DATABASE_URL is not set\n");
  process.exit(2);
}
migrateDatabase(url).then(
  () => process.stdout.write("migrations applied\n"),
  (error) => {
    process.stderr.write(`migration failed: ${(error as Error).stack}\n`);
    process.exit(1);
  },
);
