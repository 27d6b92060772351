/** Database errors are logged without their query parameters (observability/logger.ts). */
import { afterEach, describe, expect, it } from "vitest";
import { DrizzleQueryError } from "drizzle-orm";
import { getLogger, setLogDestination } from "@/server/observability/logger";

function collect(): string[] {
  const lines: string[] = [];
  setLogDestination({ write: (line: string) => lines.push(line) });
  return lines;
}

afterEach(() => setLogDestination({ write: () => undefined }));

const EMAIL = "victim@example.com";
const HASH = "scrypt$131072$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNo";

describe("database errors in logs", () => {
  it("errorSerializer__failedInsertWithParameters__queryKeptParametersGone", () => {
    // Given drizzle's error for a failed insert, whose parameters (one spanning lines) hold an email and a password hash
    const cause = Object.assign(new Error('duplicate key value violates unique constraint "users_email_lower_uq"'), { code: "23505", detail: `Key (lower(email))=(${EMAIL}) already exists.` });
    const error = new DrizzleQueryError('insert into "users" ("email", "name", "password_hash") values ($1, $2, $3)', [EMAIL, "line one\n    at fake (frame.js:1:1)\nline two", HASH], cause);
    const lines = collect();

    // When it is logged as an event's error
    getLogger("api").error("procedure.failed", { procedure: "auth.signUp", error });

    // Then the line keeps the SQL, the stack frames and the cause's code, but no parameter and no pg detail
    const text = lines.join("\n");
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain("c2FsdHNhbHRz");
    expect(text).not.toContain("line two");
    const logged = JSON.parse(lines[0]) as { error: { message: string; stack: string; cause: { code: string; message: string } } };
    expect(logged.error.message).toBe('Failed query: insert into "users" ("email", "name", "password_hash") values ($1, $2, $3)\nparams: [REDACTED]');
    expect(logged.error.stack).toMatch(/^Error: Failed query: insert into "users".*\nparams: \[REDACTED\]\n\s+at /s);
    expect(logged.error.cause).toMatchObject({ code: "23505", message: 'duplicate key value violates unique constraint "users_email_lower_uq"' });
  });

  it("logger__stringMessageQuotingAFailedQuery__parametersGone", () => {
    // Given a library's log message that quotes a failed query's error (as graphile-worker's do)
    const lines = collect();

    // When it is logged as an attribute
    getLogger("worker").error("runner.error", { message: `Failed task 7 with error 'Failed query: update traits set value = $1\nparams: ${EMAIL},42'` });

    // Then the parameters are cut off
    expect(lines.join("\n")).not.toContain(EMAIL);
    expect(JSON.parse(lines[0]).message).toBe("Failed task 7 with error 'Failed query: update traits set value = $1\nparams: [REDACTED]");
  });
});
