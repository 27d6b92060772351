/**
 * npm run import:flagsmith -- --file DOCUMENT.json [--organisation NAME | --organisation-id ID]
 *                              [--project NAME] [--admin-email EMAIL] [--server-key-name NAME]
 * npm run import:flagsmith -- --organisation-id ID --admin-email EMAIL      (only add an admin)
 *
 * Imports one Flagsmith environment from its environment document (the JSON of Flagsmith's
 * `GET /api/v1/environment-document/`, or a file shaped `{"environment": {...}}`), keeping its client
 * key, segment ids and hashing seeds, so SDKs can switch to Flagpost without any user changing bucket.
 *
 * - Organisation: `--organisation-id`, else the one called `--organisation` (default: the document's
 *   organisation name), created when missing — without members: pass `--admin-email` (an existing
 *   user, e.g. the one who signed up) to make that user its ADMIN.
 * - Project: `--project` (default: the document's project name), found in the organisation or created.
 * - Acts as the "import CLI" actor in the audit log.
 *
 * Database: DATABASE_URL; else the embedded PostgreSQL of `.data/` (FLAGPOST_DATA_DIR), which is
 *   - the running `npm start`'s, when one is running (its launcher records the URL in `.data/runtime.json`):
 *     its worker publishes the imported environment at once;
 *   - else started for the duration of the command (the document is written by the worker at the next
 *     `npm start`).
 *   A PostgreSQL running on `.data/postgres` without a live `npm start` record is refused (two postmasters
 *   cannot share a data directory, and this command will not stop someone else's server).
 *
 * Output: progress on stderr; on success exactly one JSON line on stdout:
 *   {"environmentKey": "<the document's api_key>", "serverKey": "ser.…"}   (the server key is shown once)
 * Exit codes: 0 imported; 1 document invalid (message with its JSON path) or rejected (conflict);
 *   2 usage (arguments, unreadable file, unknown admin user, ambiguous organisation);
 *   3 database unavailable or unexpected failure.
 */
import fs from "node:fs";
import path from "node:path";
import { plural } from "../src/server/text";

const USAGE = `usage: npm run import:flagsmith -- --file DOCUMENT.json [--organisation NAME | --organisation-id ID]
                                    [--project NAME] [--admin-email EMAIL] [--server-key-name NAME]
       npm run import:flagsmith -- (--organisation NAME | --organisation-id ID) --admin-email EMAIL
`;

const FLAGS = ["--file", "--organisation", "--organisation-id", "--project", "--admin-email", "--server-key-name"] as const;
type Flag = (typeof FLAGS)[number];

/** Ends the command with `code` after the database is closed. */
class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function say(message: string): void {
  process.stderr.write(`[import] ${message}\n`);
}

function exit(code: number, message?: string): never {
  if (message) process.stderr.write(`${message}\n`);
  process.exit(code);
}

function usage(message: string): never {
  exit(2, `${message}\n${USAGE}`);
}

function parseArgs(argv: string[]): Partial<Record<Flag, string>> {
  const out: Partial<Record<Flag, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (!(FLAGS as readonly string[]).includes(flag)) usage(`unknown argument: ${arg}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === "" || (inline === undefined && value.startsWith("--"))) usage(`${flag} needs a value`);
    if (out[flag as Flag] !== undefined) usage(`${flag} given twice`);
    out[flag as Flag] = value;
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args["--organisation"] !== undefined && args["--organisation-id"] !== undefined) usage("choose one of --organisation and --organisation-id");
  if (args["--organisation-id"] !== undefined && !/^\d+$/.test(args["--organisation-id"])) usage("--organisation-id takes a numeric id");
  const adminOnly = args["--file"] === undefined;
  if (adminOnly && (args["--admin-email"] === undefined || (args["--organisation"] ?? args["--organisation-id"]) === undefined)) {
    usage("--file is required (or --admin-email with --organisation / --organisation-id to add an admin only)");
  }
  if (adminOnly && (args["--project"] !== undefined || args["--server-key-name"] !== undefined)) usage("--project and --server-key-name need --file");

  // Logs go to stderr (stdout carries only the result line), quiet unless LOG_LEVEL says otherwise.
  process.env.LOG_LEVEL ??= "warn";

  // 1. The document, validated before any database is touched.
  let raw: unknown;
  let parsed: import("../src/server/imports/validation").ParsedDocument | null = null;
  if (!adminOnly) {
    const file = path.resolve(args["--file"]!);
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (error) {
      usage(`cannot read ${file}: ${(error as Error).message}`);
    }
    try {
      raw = JSON.parse(text);
    } catch (error) {
      exit(1, `invalid document: $: not valid JSON (${(error as Error).message})`);
    }
    const { validateFlagsmithDocument } = await import("../src/server/imports/validation");
    const validation = validateFlagsmithDocument(raw);
    if (!validation.ok) exit(1, `invalid document: ${validation.message}`);
    parsed = validation.document;
    say(`document valid: environment ${validation.document.api_key}, ${plural(validation.document.feature_states.length, "feature")}, ${plural(validation.document.project.segments.length, "segment")}, ${plural(validation.document.identity_overrides.length, "identity override")}`);
  }

  // 2. The database.
  const local = await import("../src/server/db/local");
  let source: "url" | "launcher" | "embedded";
  try {
    // Refuses when some PostgreSQL runs on the data directory without a live `npm start` record.
    source = local.toolDatabase().source;
  } catch (error) {
    exit(3, (error as Error).message);
  }
  const startsOwn = source === "embedded";
  if (source !== "url") say(startsOwn ? `starting the embedded database in ${local.dataDir()}` : "using the database of the running `npm start`");
  let database: { url: string; close: () => Promise<void> };
  try {
    database = await local.openToolDatabase();
  } catch (error) {
    exit(3, `cannot open the database: ${(error as Error).message}`);
  }
  process.env.DATABASE_URL = database.url;

  const { setLogDestination } = await import("../src/server/observability/logger");
  setLogDestination({ write: (line: string) => void process.stderr.write(line) });
  const { getDb, closeDb } = await import("../src/server/db/client");
  const { DomainError } = await import("../src/server/errors");
  const { findOrCreateOrganisation, importFlagsmithEnvironment } = await import("../src/server/imports/flagsmith");
  const { addMember } = await import("../src/server/organisations/service");
  const schema = await import("../src/server/db/schema");
  const { eq, sql } = await import("drizzle-orm");
  const actor = { label: "import CLI" };

  let code = 0;
  try {
    // 3. The admin to add (checked before importing, so a typo does not leave an orphan organisation).
    const adminEmail = args["--admin-email"]?.trim();
    if (adminEmail) {
      const [user] = await getDb().select({ id: schema.users.id }).from(schema.users).where(sql`lower(${schema.users.email}) = ${adminEmail.toLowerCase()}`).limit(1);
      if (!user) throw new CliExit(2, `no user with the email ${adminEmail}: sign up in the web UI first, then retry`);
    }

    // 4. The organisation.
    let organisationId: number;
    let organisationCreated = false;
    if (args["--organisation-id"] !== undefined) {
      organisationId = Number(args["--organisation-id"]);
      const [row] = await getDb().select({ id: schema.organisations.id }).from(schema.organisations).where(eq(schema.organisations.id, organisationId));
      if (!row) throw new CliExit(2, `no organisation with id ${organisationId}`);
    } else {
      const name = args["--organisation"]?.trim() || parsed?.project.organisation?.name || "Flagsmith import";
      const choice = await findOrCreateOrganisation(actor, name, {
        persistTraitData: parsed?.project.organisation?.persist_trait_data,
        featureAnalytics: parsed?.project.organisation?.feature_analytics,
        stopServingFlags: parsed?.project.organisation?.stop_serving_flags,
      });
      if (choice.kind === "ambiguous") throw new CliExit(2, `several organisations are called "${name}" (ids ${choice.ids.join(", ")}): choose one with --organisation-id`);
      organisationId = choice.id;
      organisationCreated = choice.kind === "created";
      say(`${organisationCreated ? "created" : "using"} organisation "${choice.name}" (id ${organisationId})`);
    }

    // 5. The import.
    if (!adminOnly) {
      const result = await importFlagsmithEnvironment(
        actor,
        raw,
        { organisationId, projectName: args["--project"] },
        {
          serverKeyName: args["--server-key-name"],
          onProgress: (progress) => {
            if (progress.stage === "identities") say(`identity overrides: ${progress.done}/${progress.total}`);
            else if (progress.stage !== "validated") say(`${progress.stage.replace("_", " ")} done`);
          },
        },
      );
      say(
        `imported environment "${result.environmentName}" (id ${result.environmentId}) into ${result.projectCreated ? "new " : ""}project ${result.projectId}: ` +
          `${plural(result.counts.features, "feature")} (${result.counts.featuresCreated} new), ${plural(result.counts.segments, "segment")} (${result.counts.segmentsCreated} new), ` +
          `${plural(result.counts.segmentOverrides, "segment override")}, ${plural(result.counts.identityOverrides, "identity override")}`,
      );
      if (startsOwn) say("no worker is running: the environment document is written when Flagpost next starts (npm start)");
      const line = `${JSON.stringify({ environmentKey: result.environmentKey, serverKey: result.serverKey })}\n`;
      // Flushed before exiting (stdout may be an asynchronous pipe).
      await new Promise<void>((resolve) => process.stdout.write(line, () => resolve()));
    }

    // 6. The admin.
    if (adminEmail) {
      try {
        await addMember(actor, organisationId, adminEmail, "ADMIN");
        say(`${adminEmail} is now an ADMIN of organisation ${organisationId}`);
      } catch (error) {
        if (!(error instanceof DomainError && error.code === "CONFLICT")) throw error;
        say(`${adminEmail} is already a member of organisation ${organisationId} (role unchanged)`);
      }
    } else if (organisationCreated) {
      say(
        `organisation ${organisationId} has no members yet: to give someone access, sign up in the web UI and run\n` +
          `  npm run import:flagsmith -- --organisation-id ${organisationId} --admin-email <their email>`,
      );
    }
  } catch (error) {
    if (error instanceof CliExit) {
      process.stderr.write(`${error.message}\n`);
      code = error.code;
    } else if (error instanceof DomainError && (error.code === "BAD_REQUEST" || error.code === "CONFLICT")) {
      process.stderr.write(`${error.code === "CONFLICT" ? "import rejected" : "invalid document"}: ${error.message}\n`);
      code = 1;
    } else if (error instanceof DomainError && error.code === "NOT_FOUND") {
      process.stderr.write(`${error.message}\n`);
      code = 2;
    } else {
      process.stderr.write(`import failed: ${(error as Error).stack ?? error}\n`);
      code = 3;
    }
  } finally {
    await closeDb();
    await database.close();
  }
  process.exit(code);
}

main().catch((error) => {
  process.stderr.write(`import failed: ${(error as Error).stack ?? error}\n`);
  process.exit(3);
});
