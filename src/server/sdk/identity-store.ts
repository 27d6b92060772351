/**
 * The one identity read the SDK API needs that identities/service.ts does not export: find an
 * identity without creating it (`"transient": true` requests must never create one).
 * Everything else goes through the identities service's store functions.
 */
import { and, eq } from "drizzle-orm";
import { getDb, type Executor } from "../db/client";
import { identities } from "../db/schema";
import type { IdentityRow } from "../identities/service";

/** The identity with this identifier in the environment, or null (never creates one). */
export async function findIdentity(environmentId: number, identifier: string, executor: Executor = getDb()): Promise<IdentityRow | null> {
  const [row] = await executor
    .select()
    .from(identities)
    .where(and(eq(identities.environmentId, environmentId), eq(identities.identifier, identifier)))
    .limit(1);
  return row ?? null;
}
