/**
 * `/api/v1/identities/` while the database is unreachable: the answer is evaluated from the
 * request's traits over what this process's identity cache holds for the identity (however old),
 * with the identity's overrides from the document, and nothing is written — the identity is not
 * created and its traits are not stored (an SDK sends them again with its next identify). Counted
 * by `flagsmith_sdk_identity_writes_skipped_total`, and logged at most once per LOG_INTERVAL_MS
 * (`identity.persist_skipped`, with how many were skipped since the last line), never per request.
 */
import { getLogger } from "@/server/observability/logger";
import { processSlot } from "@/server/singleton";
import { identityWritesSkipped } from "./metrics";

const log = getLogger("sdk");

export const LOG_INTERVAL_MS = 60_000;

interface SkippedState {
  lastLoggedAt: number;
  unlogged: number;
}

const slot = processSlot<SkippedState>("identityWritesSkipped");

/** Records an identify request whose writes (`plan`: traits to upsert or delete, or a new identity) were skipped. */
export function skippedPersisting(environmentId: number, plan: { upserts: readonly unknown[]; deletes: readonly unknown[] }): void {
  identityWritesSkipped.inc();
  const current = slot.getOrCreate(() => ({ lastLoggedAt: 0, unlogged: 0 }));
  current.unlogged += 1;
  const now = Date.now();
  if (now - current.lastLoggedAt < LOG_INTERVAL_MS) return;
  log.warn("identity.persist_skipped", {
    environment__id: environmentId,
    traits__count: plan.upserts.length + plan.deletes.length,
    requests__count: current.unlogged,
    reason: "database_unavailable",
  });
  current.lastLoggedAt = now;
  current.unlogged = 0;
}
