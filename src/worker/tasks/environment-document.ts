/** Writes an environment's document (src/server/documents/pipeline.ts). */
import { writeEnvironmentDocument } from "@/server/documents/pipeline";
import type { TaskHandler } from "../job-context";

export const environmentDocumentWrite: TaskHandler = async (payload) => {
  const environmentId = Number(payload.environmentId);
  if (!Number.isSafeInteger(environmentId) || environmentId <= 0) return;
  await writeEnvironmentDocument({
    environmentId,
    revision: typeof payload.revision === "number" ? payload.revision : undefined,
    cause: typeof payload.cause === "string" ? payload.cause : undefined,
    changedAt: typeof payload.changedAt === "string" ? payload.changedAt : undefined,
    guardAttempt: typeof payload.guardAttempt === "number" ? payload.guardAttempt : undefined,
  });
};
