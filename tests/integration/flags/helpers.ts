/**
 * Helpers shared by the flag-management integration tests: calls over the real tRPC fetch handler,
 * injected audit failures, and deterministic concurrency.
 */
import { sql } from "drizzle-orm";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import pg from "pg";
import { getDb } from "../../../src/server/db/client";
import { createTrpcContext } from "../../../src/server/trpc/context";
import { appRouter } from "../../../src/server/api/trpc-router";
import type { TestUser } from "../support/fixtures";

/** Calls a tRPC mutation through the real fetch handler (so the error formatter runs) as `user`. */
export async function postAs(user: TestUser, path: string, input: unknown) {
  const response = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req: new Request(`http://localhost/api/trpc/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: `flagpost_session=${user.token}` },
      body: JSON.stringify(input),
    }),
    router: appRouter,
    createContext: createTrpcContext,
  });
  return {
    status: response.status,
    body: (await response.json()) as { result?: { data: Record<string, unknown> }; error?: { message: string; data: { code: string; fieldErrors?: Record<string, string> } } },
  };
}

/** Makes the audit insert of `action` fail while `run` runs (a failure after the change's first write). */
export async function failAuditOf<T>(action: string, run: () => Promise<T>): Promise<T> {
  await getDb().execute(
    sql.raw(`create or replace function test_fail_audit() returns trigger language plpgsql as $$
      begin if new.action = '${action}' then raise exception 'injected audit failure'; end if; return new; end $$`),
  );
  await getDb().execute(sql.raw("create trigger test_fail_audit before insert on audit_log for each row execute function test_fail_audit()"));
  try {
    return await run();
  } finally {
    await getDb().execute(sql.raw("drop trigger test_fail_audit on audit_log"));
  }
}

// Deterministic concurrency: another connection (`holder`) opens a transaction and takes locks; the call
// under test runs until it blocks on one of them (or settles without blocking), and only then does the
// holder commit. No sleep decides the outcome: the poll only waits for PostgreSQL to report the wait.

/** A second connection with an open transaction. */
export async function openTransaction(): Promise<pg.Client> {
  const holder = new pg.Client(process.env.DATABASE_URL);
  await holder.connect();
  await holder.query("begin");
  return holder;
}

async function someoneWaitsOnALock(holder: pg.Client): Promise<boolean> {
  const result = await holder.query<{ n: number }>(
    "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
  );
  return result.rows[0].n > 0;
}

/** Commits (and closes) `holder` once `call` waits on a lock or has settled; returns `call`'s outcome. */
export async function commitOnceBlocked<T>(holder: pg.Client, call: Promise<T>): Promise<T> {
  let settled = false;
  const markSettled = () => {
    settled = true;
  };
  call.then(markSettled, markSettled);
  while (!settled && !(await someoneWaitsOnALock(holder))) await new Promise((resolve) => setTimeout(resolve, 10));
  await holder.query("commit");
  await holder.end();
  return call;
}
