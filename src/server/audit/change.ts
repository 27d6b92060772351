/**
 * The tail of every mutation, inside its transaction: the audit row, and — when the change affects
 * what environments serve — the revision bump and document-write jobs of those environments.
 */
import type { Executor } from "../db/client";
import type { Actor } from "../auth/principal";
import { environmentsChanged, type ChangeTarget } from "../documents/changes";
import { recordAudit, type AuditEntry } from "./service";

export async function commitChange(tx: Executor, actor: Actor, entry: AuditEntry, affects: ChangeTarget | null): Promise<void> {
  await recordAudit(tx, actor, entry);
  if (affects) await environmentsChanged(tx, affects, entry.action);
}
