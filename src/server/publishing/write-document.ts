/**
 * The document write (run by the worker for job `environment_document_write`):
 *
 * 1. build the environment's document from one consistent snapshot (build.ts);
 * 2. creation guard: if the environment or any feature of its project is still being created,
 *    re-enqueue with exponential backoff (1 s, 2 s, 4 s …; DOCUMENT_GUARD_*), and past the bound log
 *    `environment_document.gave_up` and stop — the final clearing of `is_creating` enqueues a fresh
 *    write, so the environment still converges;
 * 3. translate it for flagd (same snapshot, so both documents agree);
 * 4. store it only if its revision is newer than the stored one (store.ts);
 * 5. metrics and the `environment_document.written` event.
 */
import { settings } from "@/server/config";
import { getDb } from "@/server/db/client";
import { DomainError } from "@/server/errors";
import { enqueueJob } from "@/server/jobs/enqueue";
import { getLogger } from "@/server/observability/logger";
import { buildInSnapshot, type BuiltDocument } from "@/server/documents/build";
import { documentJobKey } from "@/server/documents/changes";
import { documentBytes, documentDeferrals, documentWriteLag, documentWrites } from "@/server/documents/metrics";
import { storeDocument } from "@/server/documents/store";
import { translateForFlagd } from "@/server/flagd/publish";

const log = getLogger("environments");

/** The job's payload (schema: src/worker/tasks/environment_document_write.ts). */
export type DocumentJobPayload = GraphileWorker.Tasks["environment_document_write"];

export type WriteOutcome = "written" | "stale" | "deferred" | "gave_up" | "missing";

async function defer(payload: DocumentJobPayload, built: BuiltDocument): Promise<WriteOutcome> {
  const attempt = payload.guardAttempt ?? 0;
  const { documentGuardMaxAttempts: maxAttempts, documentGuardBaseDelayMs: baseDelay } = settings();
  const reason = built.isCreating ? "environment_creating" : "feature_creating";
  if (attempt + 1 >= maxAttempts) {
    documentDeferrals.inc({ outcome: "gave_up" });
    log.warn("environment_document.gave_up", { environment__id: built.environmentId, reason, guard__attempts: attempt + 1 });
    return "gave_up";
  }
  const delayMs = baseDelay * 2 ** attempt;
  await enqueueJob(
    getDb(),
    "environment_document_write",
    { ...payload, guardAttempt: attempt + 1 },
    // Same key: a later change replaces this deferred job (and runs at once, re-checking the guard);
    // preserve_run_at keeps a change queued while this job ran from being pushed back by the delay.
    { jobKey: documentJobKey(built.environmentId), jobKeyMode: "preserve_run_at", runAt: new Date(Date.now() + delayMs), maxAttempts: 25 },
  );
  documentDeferrals.inc({ outcome: "deferred" });
  log.warn("environment_document.deferred", { environment__id: built.environmentId, reason, guard__attempt: attempt + 1, delay__ms: delayMs });
  return "deferred";
}

export async function writeEnvironmentDocument(payload: DocumentJobPayload): Promise<WriteOutcome> {
  const environmentId = payload.environmentId;
  try {
    let built: BuiltDocument;
    try {
      built = await buildInSnapshot(environmentId);
    } catch (error) {
      if (error instanceof DomainError && error.code === "NOT_FOUND") {
        log.debug("environment_document.skipped", { environment__id: environmentId, reason: "environment_deleted" });
        return "missing";
      }
      throw error;
    }
    if (built.isCreating || built.featuresCreating > 0) return await defer(payload, built);

    const document = JSON.stringify(built.document);
    const flagd = translateForFlagd(built.document);
    const faultDelay = settings().faultDocumentWriteDelayMs;
    if (faultDelay > 0) await new Promise((resolve) => setTimeout(resolve, faultDelay));
    const stored = await storeDocument(getDb(), {
      environmentId,
      revision: built.revision,
      document,
      sdkExtras: built.sdkExtras,
      environmentUpdatedAt: built.updatedAt,
      featureStatesCount: built.featureStatesCount,
      flagd,
    });
    if (!stored) {
      documentWrites.inc({ result: "stale" });
      log.info("environment_document.discarded", { environment__id: environmentId, revision: built.revision, reason: "newer_revision_stored" });
      return "stale";
    }
    const bytes = Buffer.byteLength(document);
    documentWrites.inc({ result: "success" });
    documentBytes.observe(bytes);
    if (payload.changedAt) {
      const lag = (Date.now() - Date.parse(payload.changedAt)) / 1000;
      if (Number.isFinite(lag) && lag >= 0) documentWriteLag.observe(lag);
    }
    log.info("environment_document.written", {
      environment__id: environmentId,
      revision: built.revision,
      feature_states__count: built.featureStatesCount,
      document__bytes: bytes,
      cause: payload.cause,
    });
    return "written";
  } catch (error) {
    documentWrites.inc({ result: "failure" });
    log.error("environment_document.failed", { environment__id: environmentId, error });
    throw error;
  }
}
