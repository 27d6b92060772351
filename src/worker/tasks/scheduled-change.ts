/** At `live_from`: apply a scheduled change (src/server/features/scheduled.ts). */
import { applyScheduledChange } from "@/server/features/scheduled";
import { getLogger } from "@/server/observability/logger";
import type { TaskHandler } from "../job-context";

const log = getLogger("features");

export const scheduledChangeApply: TaskHandler = async (payload) => {
  const id = Number(payload.scheduledChangeId);
  if (!Number.isSafeInteger(id)) return;
  const outcome = await applyScheduledChange(id);
  if (outcome === "applied") log.info("scheduled_change.applied", { scheduled_change__id: id });
  else if (outcome === "failed") log.warn("scheduled_change.failed", { scheduled_change__id: id });
};
