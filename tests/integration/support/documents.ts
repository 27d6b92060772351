import { sql } from "drizzle-orm";
import { getDb } from "../../../src/server/db/client";
import type { EnvironmentDocument } from "../../../src/server/engine/document";

/** Waits until every listed environment's stored document has caught up with its revision. */
export async function waitForDocuments(environmentIds: number[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await getDb().execute<{ behind: number }>(sql`
      select count(*)::int as behind
        from environments e left join environment_documents d on d.environment_id = e.id
       where e.id = any(${`{${environmentIds.join(",")}}`}::int[])
         and (d.revision is null or d.revision < e.revision)`);
    if (result.rows[0].behind === 0) return;
    if (Date.now() > deadline) throw new Error(`documents of ${result.rows[0].behind} environment(s) not written within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function storedDocument(environmentId: number): Promise<{ revision: number; document: EnvironmentDocument } | null> {
  const result = await getDb().execute<{ revision: number; document: string }>(sql`select revision, document from environment_documents where environment_id = ${environmentId}`);
  const row = result.rows[0];
  return row ? { revision: row.revision, document: JSON.parse(row.document) as EnvironmentDocument } : null;
}

/** Records every document write from now on (a trigger copying into `document_history`). */
export async function recordDocumentHistory(): Promise<() => Promise<{ environment_id: number; revision: number; document: string }[]>> {
  await getDb().execute(sql`create table if not exists document_history (id bigserial primary key, environment_id int, revision bigint, document text, written_at timestamptz default clock_timestamp())`);
  await getDb().execute(sql`
    create or replace function record_document_history() returns trigger language plpgsql as $$
    begin
      insert into document_history (environment_id, revision, document) values (new.environment_id, new.revision, new.document);
      return new;
    end $$`);
  await getDb().execute(sql`drop trigger if exists document_history_trigger on environment_documents`);
  await getDb().execute(sql`create trigger document_history_trigger after insert or update on environment_documents for each row execute function record_document_history()`);
  return async () =>
    (await getDb().execute<{ environment_id: number; revision: number; document: string }>(sql`select environment_id, revision, document from document_history order by id`)).rows;
}
