/** Shared setup for integration tests: users, callers, projects, log capture. */
import { sql } from "drizzle-orm";
import { randomBytes } from "node:crypto";
import { createCaller } from "../../../src/server/api/trpc-router";
import { createCallerContext } from "../../../src/server/auth/procedures";
import { principalFromApiKey, principalFromSessionToken, type Principal } from "../../../src/server/auth/principal";
import { signUp } from "../../../src/server/auth/service";
import { getDb } from "../../../src/server/db/client";
import { setLogDestination } from "../../../src/server/observability/logger";

export type Caller = ReturnType<typeof createCaller>;

export function callerFor(principal: Principal | null, headers: Record<string, string> = {}): Caller {
  return createCaller(createCallerContext(principal, headers));
}

export function uniqueEmail(prefix = "user"): string {
  return `${prefix}-${randomBytes(5).toString("hex")}@example.com`;
}

export interface TestUser {
  userId: string;
  email: string;
  password: string;
  organisationId: number;
  token: string;
  principal: Principal & { kind: "user" };
  caller: Caller;
}

export async function signUpUser(options: { email?: string; name?: string; organisationName?: string } = {}): Promise<TestUser> {
  const email = options.email ?? uniqueEmail();
  const password = "correct horse battery";
  const session = await signUp({ email, name: options.name ?? "Test User", password, organisationName: options.organisationName });
  const principal = (await principalFromSessionToken(session.token)) as Principal & { kind: "user" };
  return {
    userId: session.userId,
    email,
    password,
    organisationId: session.organisationId,
    token: session.token,
    principal,
    caller: callerFor(principal),
  };
}

export async function apiKeyCaller(user: TestUser): Promise<{ key: string; caller: Caller; principal: Principal }> {
  const created = await user.caller.organisations.createApiKey({ organisationId: user.organisationId, name: `key-${randomBytes(3).toString("hex")}` });
  const principal = (await principalFromApiKey(created.key))!;
  return { key: created.key, caller: callerFor(principal), principal };
}

/** Makes `member` a member of `admin`'s organisation with `role`: invited by the admin, accepted by the member. */
export async function joinOrganisation(admin: TestUser, member: TestUser, role: "ADMIN" | "USER" = "USER", organisationId = admin.organisationId): Promise<void> {
  const { token } = await admin.caller.invitations.create({ organisationId, email: member.email, role });
  await member.caller.invitations.accept({ token });
}

/** A project with exactly these environments (no default ones), created through the API as `user`. */
export async function projectWithEnvironments(user: TestUser, environmentNames: string[] = ["Development", "Production"]) {
  const project = await user.caller.projects.create({ organisationId: user.organisationId, name: `Project ${randomBytes(3).toString("hex")}`, defaultEnvironments: false });
  const environments = [];
  for (const name of environmentNames) environments.push(await user.caller.environments.create({ projectId: project.id, name }));
  return { project, environments };
}

export type LogLine = Record<string, unknown> & { event?: string; logger?: string };

/** Collects every log line (parsed) until `stop()`. */
export function captureLogs(): { lines: LogLine[]; stop: () => void; events: (event: string) => LogLine[] } {
  const lines: LogLine[] = [];
  setLogDestination({
    write(line: string) {
      for (const part of line.split("\n")) if (part.trim()) lines.push(JSON.parse(part) as LogLine);
    },
  });
  return {
    lines,
    stop: () => setLogDestination({ write: () => undefined }),
    events: (event: string) => lines.filter((line) => line.event === event),
  };
}

export async function expectTrpcError(promise: Promise<unknown>, code: string): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const actual = (error as { code?: string }).code;
    if (actual !== code) throw new Error(`expected ${code}, got ${actual}: ${(error as Error).message}`, { cause: error });
    return { code: actual, message: (error as Error).message };
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}


/** Rows per table (a refused or previewed call must leave every count as it was). */
export async function rowCounts(tables: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const result = await getDb().execute<{ n: number }>(sql.raw(`select count(*)::int as n from ${table}`));
    counts[table] = result.rows[0].n;
  }
  return counts;
}
