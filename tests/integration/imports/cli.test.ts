import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { environments, memberships, organisations, projects } from "../../../src/server/db/schema";
import { clone, generateDocument, LEGACY_FILE } from "../../support/flagsmith-documents";
import { signUpUser } from "../support/fixtures";

const ROOT = path.resolve(__dirname, "../../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-import-cli-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeDocument(document: unknown): string {
  const file = path.join(tmp, `${randomBytes(4).toString("hex")}.json`);
  fs.writeFileSync(file, JSON.stringify(document));
  return file;
}

/** Runs `npm run import:flagsmith -- …` (its tsx command) against this file's database. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/import-flagsmith.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL, LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

async function tableCount(table: string): Promise<number> {
  const result = await getDb().execute<{ n: number }>(sql.raw(`select count(*)::int as n from ${table}`));
  return result.rows[0].n;
}

describe("npm run import:flagsmith", () => {
  it("importCli__validDocument__oneJsonLineOnStdoutAndMemberlessOrganisationHint", async () => {
    // Given a document file and an organisation name nobody uses yet
    const document = generateDocument({ projectName: "Shop" });
    const organisationName = `Imported ${randomBytes(3).toString("hex")}`;
    const file = writeDocument(document);

    // When the CLI imports it
    const run = await runCli(["--file", file, "--organisation", organisationName]);

    // Then it exits 0 and prints exactly one JSON line: the document's key and a new server key
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split("\n").filter((line) => line.length > 0);
    expect(lines).toHaveLength(1);
    const output = JSON.parse(lines[0]) as { environmentKey: string; serverKey: string };
    expect(Object.keys(output)).toEqual(["environmentKey", "serverKey"]);
    expect(output.environmentKey).toBe(document.api_key);
    expect(output.serverKey).toMatch(/^ser\./);
    // … the organisation, project and environment exist; the organisation has no members, and stderr says how to add one
    const [organisation] = await getDb().select().from(organisations).where(eq(organisations.name, organisationName));
    expect(await getDb().select().from(memberships).where(eq(memberships.organisationId, organisation.id))).toEqual([]);
    const [project] = await getDb().select().from(projects).where(and(eq(projects.organisationId, organisation.id), eq(projects.name, "Shop")));
    const [environment] = await getDb().select().from(environments).where(eq(environments.apiKey, document.api_key));
    expect(environment.projectId).toBe(project.id);
    expect(run.stderr).toContain(`--organisation-id ${organisation.id} --admin-email`);
    expect(run.stderr).toContain("identity overrides: 25/25");
    expect(run.stderr).not.toContain(output.serverKey);
  });

  it("importCli__adminEmailAndProject__userBecomesAdminOfTheOrganisation", async () => {
    // Given a signed-up user and a legacy-shaped file ({"environment": {...}})
    const user = await signUpUser();
    const organisationName = `Team ${randomBytes(3).toString("hex")}`;
    const file = writeDocument({ environment: generateDocument() });

    // When the CLI imports it into a named project, naming the user as admin
    const run = await runCli(["--file", file, "--organisation", organisationName, "--project", "Mobile", "--admin-email", user.email.toUpperCase()]);

    // Then the user administers the new organisation and sees the imported environment
    expect(run.code, run.stderr).toBe(0);
    const { environmentKey } = JSON.parse(run.stdout) as { environmentKey: string };
    const [organisation] = await getDb().select().from(organisations).where(eq(organisations.name, organisationName));
    const [membership] = await getDb().select().from(memberships).where(eq(memberships.organisationId, organisation.id));
    expect(membership).toMatchObject({ userId: user.userId, role: "ADMIN" });
    const [project] = await user.caller.projects.list({ organisationId: organisation.id });
    expect(project.name).toBe("Mobile");
    const listed = await user.caller.environments.list({ projectId: project.id });
    expect(listed.map((e) => e.apiKey)).toEqual([environmentKey]);
  });

  it("importCli__legacyTestDataFile__imported", async () => {
    // Given the engine test data's legacy file, as it is on disk
    const organisationName = `Legacy ${randomBytes(3).toString("hex")}`;

    // When the CLI imports it
    const run = await runCli(["--file", LEGACY_FILE, "--organisation", organisationName]);

    // Then it exits 0 with the legacy client key
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ environmentKey: "n9fbf9h3v4fFgH3U3ngWhb" });

    // And importing it a second time is a conflict (exit 1) naming the key
    const again = await runCli(["--file", LEGACY_FILE, "--organisation", organisationName]);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr).toMatch(/import rejected: \$\.api_key: an environment with the client key "n9fbf9h3v4fFgH3U3ngWhb" already exists/);
  });

  it("importCli__invalidDocument__exit1WithPathAndNothingWritten", async () => {
    // Given a document with a bad rule type, and the row counts
    const document = clone(generateDocument()) as ReturnType<typeof generateDocument> & { project: { segments: { rules: { type: string }[] }[] } };
    document.project.segments[2].rules[0].type = "SOME";
    const file = writeDocument(document);
    const before = { organisations: await tableCount("organisations"), environments: await tableCount("environments") };

    // When the CLI imports it
    const run = await runCli(["--file", file]);

    // Then it exits 1 with the path on stderr, prints nothing on stdout and writes nothing
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("invalid document: $.project.segments[2].rules[0].type: expected ALL, ANY or NONE");
    expect({ organisations: await tableCount("organisations"), environments: await tableCount("environments") }).toEqual(before);
  });

  it("importCli__notJson__exit1AtRoot", async () => {
    // Given a file that is not JSON
    const file = path.join(tmp, "broken.json");
    fs.writeFileSync(file, "{ nope");

    // When the CLI imports it
    const run = await runCli(["--file", file]);

    // Then it exits 1, blaming the root
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^invalid document: \$: not valid JSON/m);
  });

  it("importCli__badUsage__exit2WithUsage", async () => {
    // Given bad invocations: no arguments, an unknown flag, a missing file, an unknown admin
    // When each is run
    const none = await runCli([]);
    const unknown = await runCli(["--file", "x.json", "--colour", "blue"]);
    const missing = await runCli(["--file", path.join(tmp, "does-not-exist.json")]);
    const noUser = await runCli(["--file", writeDocument(generateDocument()), "--admin-email", "nobody-here@example.com"]);

    // Then each exits 2 with a message (and the usage where arguments are wrong)
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("usage: npm run import:flagsmith -- --file DOCUMENT.json");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown argument: --colour");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read");
    expect(noUser.code).toBe(2);
    expect(noUser.stderr).toContain("no user with the email nobody-here@example.com");
    for (const run of [none, unknown, missing, noUser]) expect(run.stdout).toBe("");
  });
});
