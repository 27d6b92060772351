/** At `live_from`: apply a scheduled change (src/server/features/scheduled.ts). */
import { z } from "zod";
import { applyScheduledChange } from "@/server/features/scheduled";
import { getLogger } from "@/server/observability/logger";
import { defineTask } from "@/worker/task";

const log = getLogger("features");

const payload = z.object({ scheduledChangeId: z.number().int().positive() });

declare global {
  namespace GraphileWorker {
    interface Tasks {
      scheduled_change_apply: z.infer<typeof payload>;
    }
  }
}

export const scheduledChangeApply = defineTask({
  id: "scheduled_change_apply",
  payload,
  handler: async ({ scheduledChangeId }) => {
    const outcome = await applyScheduledChange(scheduledChangeId);
    if (outcome === "applied") log.info("scheduled_change.applied", { scheduled_change__id: scheduledChangeId });
    else if (outcome === "failed") log.warn("scheduled_change.failed", { scheduled_change__id: scheduledChangeId });
  },
});
