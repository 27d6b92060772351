/**
 * Evaluation contexts for Flagpost's own flags. Flagsmith's provider takes the OpenFeature
 * `targetingKey` as the identity and `traits` as its traits, so a gate can be targeted with
 * Flagsmith segments on these traits (docs/rollouts.md):
 *
 * - organisation: `organisation:<id>`; traits `organisation_id`, `organisation_name`,
 *   `member_count`, `created_at` (ISO), `persist_trait_data`;
 * - user: `user:<uuid>`; traits `user_id` (never an email); a user acting in an organisation is
 *   evaluated as the organisation with the user's traits added (`subjectEvaluationContext`).
 *
 * Organisation attributes are read once and cached per process for ORGANISATION_TTL_MS; while the
 * database cannot answer, the last ones (or just the id) are used.
 */
import type { EvaluationContext } from "@openfeature/server-sdk";
import { sql } from "drizzle-orm";
import { getDb } from "@/server/db/client";
import { processSlot } from "@/server/singleton";

export const ORGANISATION_TTL_MS = 60_000;

interface CachedOrganisation {
  context: EvaluationContext;
  at: number;
  pending: Promise<EvaluationContext> | null;
}

const slot = processSlot<Map<number, CachedOrganisation>>("rolloutOrganisationContexts");
const cache = () => slot.getOrCreate(() => new Map());

async function loadOrganisation(organisationId: number): Promise<EvaluationContext> {
  const result = await getDb().execute<{ name: string; created_at: string | Date; persist_trait_data: boolean; member_count: number }>(sql`
    select o.name, o.created_at, o.persist_trait_data, (select count(*)::int from memberships m where m.organisation_id = o.id) as member_count
      from organisations o where o.id = ${organisationId}`);
  const row = result.rows[0];
  const traits: Record<string, string | number | boolean> = { organisation_id: organisationId };
  if (row) {
    traits.organisation_name = row.name;
    traits.member_count = Number(row.member_count);
    traits.created_at = new Date(row.created_at).toISOString();
    traits.persist_trait_data = row.persist_trait_data;
  }
  return { targetingKey: `organisation:${organisationId}`, traits };
}

function minimal(organisationId: number): EvaluationContext {
  return { targetingKey: `organisation:${organisationId}`, traits: { organisation_id: organisationId } };
}

/** The organisation's evaluation context: synchronous when cached and fresh. */
export function organisationEvaluationContext(organisationId: number): EvaluationContext | Promise<EvaluationContext> {
  const contexts = cache();
  const cached = contexts.get(organisationId);
  const now = Date.now();
  if (cached && now - cached.at < ORGANISATION_TTL_MS) return cached.context;
  if (cached?.pending) return cached.context;
  const entry: CachedOrganisation = cached ?? { context: minimal(organisationId), at: 0, pending: null };
  const pending = loadOrganisation(organisationId).then(
    (context) => {
      entry.context = context;
      entry.at = Date.now();
      entry.pending = null;
      return context;
    },
    () => {
      // Unreadable now: keep what we had (or the id alone), try again after a while.
      entry.at = Date.now() - ORGANISATION_TTL_MS + 5_000;
      entry.pending = null;
      return entry.context;
    },
  );
  entry.pending = pending;
  contexts.set(organisationId, entry);
  if (contexts.size > 10_000) contexts.delete(contexts.keys().next().value as number);
  // A stale entry is answered at once (refreshed in the background); a new one waits for its read.
  return cached ? cached.context : pending;
}

/** A user's evaluation context (ids only). */
export function userEvaluationContext(userId: string): EvaluationContext {
  return { targetingKey: `user:${userId}`, traits: { user_id: userId } };
}

/**
 * The context a gate is evaluated in for a user acting in an organisation: the organisation is the
 * identity (so a percentage rollout splits by organisation, and every member sees the same), and the
 * user's traits are added to the organisation's (`user_id`), so a gate can also be opened for some
 * users first (a segment on `user_id`). Without a user (API keys, the data plane): the organisation's.
 */
export function subjectEvaluationContext(organisation: EvaluationContext, userId: string | undefined): EvaluationContext {
  if (userId === undefined) return organisation;
  const user = userEvaluationContext(userId);
  return { ...organisation, traits: { ...(organisation.traits as Record<string, unknown>), ...(user.traits as Record<string, unknown>) } } as EvaluationContext;
}

/** Tests: forgets cached organisation attributes. */
export function clearEvaluationContexts(): void {
  cache().clear();
}
