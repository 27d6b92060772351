/** Helpers for the SDK API tests: waiting for documents, calling the SDK endpoints, settings the UI does not expose yet. */
import { sql } from "drizzle-orm";
import { getDb } from "../../../src/server/db/client";
import { environmentsChanged } from "../../../src/server/documents/changes";

/** Waits until every environment's stored document is at least at its current revision. */
export async function waitForDocuments(environmentIds: number[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await getDb().execute<{ id: number; revision: number; stored: number | null }>(sql`
      select e.id, e.revision, d.revision as stored
        from environments e left join environment_documents d on d.environment_id = e.id
       where e.id in (${sql.join(environmentIds.map((id) => sql`${id}`), sql`, `)})`);
    const pending = result.rows.filter((row) => row.stored === null || Number(row.stored) < Number(row.revision));
    if (result.rows.length === environmentIds.length && pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`documents not written in time: ${JSON.stringify(pending)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Polls `check` until it returns true (or throws after `timeoutMs`); returns how long it took. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sets organisation flags the admin API does not expose yet, and rewrites the project's documents. */
export async function setOrganisationFlags(
  organisationId: number,
  projectId: number,
  flags: { stopServingFlags?: boolean; persistTraitData?: boolean },
): Promise<void> {
  await getDb().transaction(async (tx) => {
    if (flags.stopServingFlags !== undefined) await tx.execute(sql`update organisations set stop_serving_flags = ${flags.stopServingFlags} where id = ${organisationId}`);
    if (flags.persistTraitData !== undefined) await tx.execute(sql`update organisations set persist_trait_data = ${flags.persistTraitData} where id = ${organisationId}`);
    await environmentsChanged(tx, { projectId }, "test.organisation_flags");
  });
}

export interface SdkClient {
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
}

/** Fetches `${base}/api/v1/<path>` with `X-Environment-Key: key`. */
export function sdkClient(base: string, key: string | null): SdkClient {
  const headers = (extra: Record<string, string> = {}) => ({ ...(key !== null ? { "x-environment-key": key } : {}), ...extra });
  return {
    get: (path, extra) => fetch(`${base}/api/v1/${path}`, { headers: headers(extra) }),
    post: (path, body, extra) =>
      fetch(`${base}/api/v1/${path}`, {
        method: "POST",
        headers: headers({ "content-type": "application/json", ...extra }),
        body: typeof body === "string" ? body : body instanceof Uint8Array ? Buffer.from(body) : JSON.stringify(body),
      }),
  };
}
