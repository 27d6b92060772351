/**
 * Logs carry no secrets and no personal data (issue 14): the integration flows — sign-up and
 * sign-in (also wrong), API and server keys, features, identities with traits through tRPC and the
 * SDK, an import, malformed SDK bodies, and database inserts forced to fail (a trigger raises, as a
 * failed insert would) — run in this process (every line captured) and against the running system
 * (every line of its web process and worker, tests/support/system.ts). Every line is then scanned
 * for each secret, email, identifier and trait value the flows used.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { handleTrpcRequest } from "../../../src/server/api/trpc-handler";
import { getDb } from "../../../src/server/db/client";
import { generateDocument } from "../../support/flagsmith-documents";
import { callerFor, captureLogs, expectTrpcError, signUpUser } from "../support/fixtures";

const base = inject("systemUrl");
const logDir = inject("systemLogDir");
const marker = () => randomBytes(6).toString("hex");

/** Everything the flows used that must never appear in a log line. */
const secrets = new Set<string>();
const keep = <T extends string>(value: T): T => {
  if (typeof value !== "string" || value.length < 8) throw new Error(`not a value worth scanning for: ${JSON.stringify(value)}`);
  secrets.add(value);
  return value;
};
const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

/** A `traceparent` whose trace id marks the log lines of one request. */
function traced(): { traceId: string; header: string } {
  const traceId = randomBytes(16).toString("hex");
  return { traceId, header: `00-${traceId}-${randomBytes(8).toString("hex")}-01` };
}

const FAIL_MARK = "forced-fail";

/** A trigger that fails inserts into `table` whose `column` starts with FAIL_MARK (a failed insert, on demand). */
async function installFailingInsert(run: (statement: string) => Promise<unknown>, table: string, column: string): Promise<void> {
  await run(`create or replace function fail_marked_${table}() returns trigger language plpgsql as $$
    begin
      if new.${column} like '${FAIL_MARK}%' then raise exception 'forced failure for the log test'; end if;
      return new;
    end $$`);
  await run(`drop trigger if exists fail_marked_${table} on ${table}`);
  await run(`create trigger fail_marked_${table} before insert on ${table} for each row execute function fail_marked_${table}()`);
}

let system: pg.Client;
const systemLines = (): string[] =>
  ["web.log", "worker.log"].flatMap((file) => {
    const full = path.join(logDir, file);
    return fs.existsSync(full) ? fs.readFileSync(full, "utf8").split("\n") : [];
  });

async function eventuallyLogged(predicate: (line: string) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!systemLines().some(predicate)) {
    if (Date.now() > deadline) throw new Error(`not logged within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  system = new pg.Client({ connectionString: inject("systemDatabaseUrl") });
  await system.connect();
  await installFailingInsert((statement) => system.query(statement), "users", "email");
  await installFailingInsert((statement) => system.query(statement), "traits", "key");
  await installFailingInsert((statement) => getDb().execute(sql.raw(statement)), "users", "email");
});

afterAll(async () => {
  for (const table of ["users", "traits"]) await system.query(`drop trigger if exists fail_marked_${table} on ${table}`);
  await system.end();
});

describe("log lines", () => {
  it("logs__integrationFlowsInProcessAndInTheRunningSystem__noSecretEmailIdentifierOrTraitValue", { timeout: 120_000 }, async () => {
    // Given every log line of this process captured
    const capture = captureLogs();
    let inProcess: string[];
    try {
      // When the flows run in this process: sign-up, sign-in (right and wrong), keys, features, identities and traits, an import
      const user = await signUpUser({ email: keep(`scan-${marker()}@example.com`) });
      keep(user.password);
      keep(user.token);
      await callerFor(null).auth.signIn({ email: user.email, password: user.password });
      await expectTrpcError(callerFor(null).auth.signIn({ email: user.email, password: keep(`wrong-${marker()}`) }), "UNAUTHORIZED");
      const apiKey = keep((await user.caller.organisations.createApiKey({ organisationId: user.organisationId, name: "scan" })).key);
      keep(sha256(apiKey));
      const project = await user.caller.projects.create({ organisationId: user.organisationId, name: "Scan" });
      const environment = await user.caller.environments.create({ projectId: project.id, name: "Scan env" });
      const serverKey = keep((await user.caller.environments.createServerKey({ environmentId: environment.id, name: "scan" })).key);
      keep(sha256(serverKey));
      const feature = await user.caller.features.create({ projectId: project.id, name: "scan_flag", initialValue: "v" });
      const identity = await user.caller.identities.create({ environmentId: environment.id, identifier: keep(`scan-identifier-${marker()}`) });
      await user.caller.identities.setTrait({ identityId: identity.id, key: "email", value: keep(`trait-${marker()}@example.com`) });
      await user.caller.identities.createOverride({ identityId: identity.id, featureId: feature.id, enabled: true, value: "override" });
      const document = generateDocument({ apiKey: `scan${marker()}` }) as unknown as { identity_overrides: { identifier: string; identity_traits?: unknown[] }[] };
      document.identity_overrides[0].identifier = keep(`imported-identifier-${marker()}`);
      document.identity_overrides[0].identity_traits = [{ trait_key: "plan", trait_value: keep(`imported-trait-${marker()}`) }];
      const imported = await user.caller.imports.flagsmith({ projectId: project.id, document });
      keep(imported.serverKey);
      // …and a sign-up whose insert fails in the database (its parameters: the email, the name, the password hash)
      const failing = traced();
      const failedEmail = keep(`${FAIL_MARK}-${marker()}@example.com`);
      const failedName = keep(`Name ${marker()}`);
      const response = await handleTrpcRequest(
        new Request("http://flagpost.local/api/trpc/auth.signUp", {
          method: "POST",
          headers: { "content-type": "application/json", traceparent: failing.header },
          body: JSON.stringify({ email: failedEmail, name: failedName, password: keep(`pw-${marker()}-long`) }),
        }),
      );
      expect(response.status).toBe(500);
      inProcess = capture.lines.map((line) => JSON.stringify(line));
      // (the failure was logged, with the query but without its parameters)
      const failure = capture.lines.find((line) => line.event === "procedure.failed" && line.trace_id === failing.traceId) as { error: { message: string } } | undefined;
      expect(failure?.error.message).toMatch(/^Failed query: insert into "users".*\nparams: \[REDACTED\]$/s);
    } finally {
      capture.stop();
    }

    // When the flows run against the running system over HTTP: sign-up, a failed sign-in, keys, SDK identities with traits, malformed bodies, failing inserts
    const email = keep(`http-scan-${marker()}@example.com`);
    const password = keep(`http-pw-${marker()}`);
    const signUp = await fetch(`${base}/api/trpc/auth.signUp`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": `198.51.100.${1 + (Date.now() % 200)}` },
      body: JSON.stringify({ email, name: "Http Scan", password }),
    });
    const cookie = (signUp.headers.get("set-cookie") ?? "").split(";")[0];
    keep(cookie.split("=")[1]);
    const { organisationId } = ((await signUp.json()) as { result: { data: { organisationId: number } } }).result.data;
    await fetch(`${base}/api/trpc/auth.signIn`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: keep(`http-wrong-${marker()}`) }) });
    const post = async (procedure: string, input: unknown) =>
      ((await (await fetch(`${base}/api/trpc/${procedure}`, { method: "POST", headers: { "content-type": "application/json", cookie }, body: JSON.stringify(input) })).json()) as { result: { data: Record<string, unknown> } }).result.data;
    keep((await post("organisations.createApiKey", { organisationId, name: "scan" })).key as string);
    const project = await post("projects.create", { organisationId, name: "Http scan" });
    const environment = await post("environments.create", { projectId: project.id, name: "Http env" });
    const serverKey = keep((await post("environments.createServerKey", { environmentId: environment.id, name: "scan" })).key as string);
    await post("features.create", { projectId: project.id, name: "http_flag", initialValue: "v" });
    await waitForDocumentsOver(environment.id as number);
    const sdk = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${base}/api/v1/identities/`, { method: "POST", headers: { "content-type": "application/json", "x-environment-key": serverKey, ...headers }, body });
    const identifier = keep(`sdk-identifier-${marker()}`);
    const traitValue = keep(`sdk-trait-${marker()}`);
    expect((await sdk(JSON.stringify({ identifier, traits: [{ trait_key: "plan", trait_value: traitValue }] }))).status).toBe(200);
    expect((await fetch(`${base}/api/v1/identities/?identifier=${keep(`get-identifier-${marker()}`)}`, { headers: { "x-environment-key": serverKey } })).status).toBe(200);
    expect((await fetch(`${base}/api/v1/flags/${keep(`flags-identifier-${marker()}`)}/`, { headers: { "x-environment-key": serverKey } })).status).toBe(200);
    // (malformed bodies: the parser's message quotes them; invalid values are named, not echoed)
    expect((await sdk(`{"identifier":"${keep(`malformed-${marker()}`)}", oops}`)).status).toBe(400);
    expect((await sdk(JSON.stringify({ identifier: keep(`bad-trait-${marker()}`), traits: [{ trait_key: "k", trait_value: `${keep(`nul-${marker()}`)}\u0000` }] }))).status).toBe(400);
    // (OFREP: a context's targeting key and attribute values, and a malformed body that quotes them, whose
    // parser message is answered to the client but must not be logged)
    const ofrep = (body: string, path = "") =>
      fetch(`${base}/ofrep/v1/evaluate/flags${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${serverKey}` }, body });
    const ofrepContext = JSON.stringify({ context: { targetingKey: keep(`ofrep-key-${marker()}`), email: keep(`ofrep-${marker()}@example.com`) } });
    expect((await ofrep(ofrepContext)).status).toBe(200);
    expect((await ofrep(ofrepContext, "/http_flag")).status).toBe(200);
    // (short ones: V8 quotes at most about 10 characters of a body around the error, in full when it is short)
    const quotedEmail = keep(`q${marker().slice(0, 6)}@x.io`);
    const quoted = await ofrep(quotedEmail);
    expect(quoted.status).toBe(400);
    expect(((await quoted.json()) as { errorDetails: string }).errorDetails).toContain(quotedEmail);
    expect((await ofrep(`{"context":{"a":${keep(`q${marker().slice(0, 7)}`)}}}`)).status).toBe(400);
    // (inserts that fail: a trait write on the SDK path, a sign-up over HTTP)
    const sdkFailure = traced();
    const failedIdentifier = keep(`failing-identifier-${marker()}`);
    const failedTrait = keep(`failing-trait-${marker()}`);
    const failedSdk = await sdk(JSON.stringify({ identifier: failedIdentifier, traits: [{ trait_key: `${FAIL_MARK}-${marker()}`, trait_value: failedTrait }] }), { traceparent: sdkFailure.header });
    expect(failedSdk.status).toBe(500);
    const signUpFailure = traced();
    const failedSignUp = await fetch(`${base}/api/trpc/auth.signUp`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: signUpFailure.header, "x-forwarded-for": `198.51.100.${1 + ((Date.now() + 7) % 200)}` },
      body: JSON.stringify({ email: keep(`${FAIL_MARK}-http-${marker()}@example.com`), name: "Failing", password: keep(`failing-pw-${marker()}`) }),
    });
    expect(failedSignUp.status).toBe(500);
    await eventuallyLogged((line) => line.includes(sdkFailure.traceId) && line.includes('"request.failed"'), "the SDK's failed trait write");
    await eventuallyLogged((line) => line.includes(signUpFailure.traceId) && line.includes('"procedure.failed"'), "the failed sign-up");

    // Then no line, here or in the system's processes, contains any of them (nor a password hash)
    const lines = [...inProcess, ...systemLines()];
    const leaks = [...secrets].flatMap((secret) => lines.filter((line) => line.includes(secret)).map((line) => `${secret}: ${line.slice(0, 300)}`));
    expect(leaks).toEqual([]);
    expect(lines.filter((line) => line.includes("scrypt$"))).toEqual([]);
    // …while the failures themselves were logged, without their parameters
    const failureLines = systemLines().filter((line) => line.includes(sdkFailure.traceId) || line.includes(signUpFailure.traceId));
    expect(failureLines.some((line) => line.includes("params: [REDACTED]"))).toBe(true);
  });
});

/** Waits for an environment's document through the system's database. */
async function waitForDocumentsOver(environmentId: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { rows } = await system.query<{ behind: number }>(
      "select count(*)::int as behind from environments e left join environment_documents d on d.environment_id = e.id where e.id = $1 and (d.revision is null or d.revision < e.revision)",
      [environmentId],
    );
    if (rows[0].behind === 0) return;
    if (Date.now() > deadline) throw new Error("document not written");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
