/**
 * The document store (table `environment_documents`): monotonic writes, and reads for the SDK and
 * flagd endpoints. A write only replaces the stored document when its revision is newer, so an
 * out-of-order job can never put an older document back. Each stored write is announced with
 * NOTIFY `environment_documents` (payload `<environment id>:<revision>`) so web processes drop
 * their cached copy at once.
 */
import { eq, sql } from "drizzle-orm";
import { getDb, type Executor } from "@/server/db/client";
import { environmentDocuments, environments } from "@/server/db/schema";
import type { SdkExtras } from "./types";

export const DOCUMENT_CHANNEL = "environment_documents";

export interface DocumentWrite {
  environmentId: number;
  revision: number;
  document: string;
  sdkExtras: SdkExtras;
  environmentUpdatedAt: string;
  featureStatesCount: number;
  flagd?: { document: string; etag: string; diagnostics: unknown; translatorVersion: string } | null;
}

/** Stores the document unless a newer (or the same) revision is already stored. True when stored. */
export async function storeDocument(executor: Executor, write: DocumentWrite): Promise<boolean> {
  const bytes = Buffer.byteLength(write.document);
  const result = await executor.execute<{ revision: number }>(sql`
    insert into environment_documents as d
      (environment_id, revision, document, sdk_extras, flagd_document, flagd_etag, flagd_diagnostics, translator_version,
       environment_updated_at, written_at, bytes, feature_states_count)
    values (${write.environmentId}, ${write.revision}, ${write.document}, ${JSON.stringify(write.sdkExtras)}::jsonb,
            ${write.flagd?.document ?? null}, ${write.flagd?.etag ?? null}, ${write.flagd ? JSON.stringify(write.flagd.diagnostics) : null}::jsonb,
            ${write.flagd?.translatorVersion ?? null}, ${write.environmentUpdatedAt}::timestamptz, clock_timestamp(), ${bytes}, ${write.featureStatesCount})
    on conflict (environment_id) do update set
      revision = excluded.revision, document = excluded.document, sdk_extras = excluded.sdk_extras,
      flagd_document = excluded.flagd_document, flagd_etag = excluded.flagd_etag, flagd_diagnostics = excluded.flagd_diagnostics,
      translator_version = excluded.translator_version, environment_updated_at = excluded.environment_updated_at,
      written_at = excluded.written_at, bytes = excluded.bytes, feature_states_count = excluded.feature_states_count
    where d.revision < excluded.revision
    returning d.revision`);
  if (result.rows.length === 0) return false;
  await executor.execute(sql`select pg_notify(${DOCUMENT_CHANNEL}, ${`${write.environmentId}:${write.revision}`})`);
  return true;
}

export async function storedRevision(executor: Executor, environmentId: number): Promise<number | null> {
  const [row] = await executor
    .select({ revision: environmentDocuments.revision })
    .from(environmentDocuments)
    .where(eq(environmentDocuments.environmentId, environmentId));
  return row?.revision ?? null;
}

export async function readStoredDocument(executor: Executor, environmentId: number) {
  const [row] = await executor.select().from(environmentDocuments).where(eq(environmentDocuments.environmentId, environmentId));
  return row ?? null;
}

/** The stored document's revision against the environment's (the settings page). */
export async function documentStatus(environmentId: number, executor: Executor = getDb()) {
  const [environment] = await executor.select({ revision: environments.revision, updatedAt: environments.updatedAt }).from(environments).where(eq(environments.id, environmentId));
  const [stored] = await executor
    .select({
      revision: environmentDocuments.revision,
      writtenAt: environmentDocuments.writtenAt,
      bytes: environmentDocuments.bytes,
      featureStatesCount: environmentDocuments.featureStatesCount,
    })
    .from(environmentDocuments)
    .where(eq(environmentDocuments.environmentId, environmentId));
  return { environmentRevision: environment?.revision ?? null, stored: stored ?? null, upToDate: !!stored && stored.revision >= (environment?.revision ?? 0) };
}
