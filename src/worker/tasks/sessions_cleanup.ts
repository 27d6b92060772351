/** Hourly (and at worker start): delete expired sessions and ended sign-in throttle windows. */
import { lt } from "drizzle-orm";
import { z } from "zod";
import { deleteEndedSignInWindows } from "@/server/auth/throttle";
import { getDb } from "@/server/db/client";
import { sessions } from "@/server/db/schema";
import { getLogger } from "@/server/observability/logger";
import { defineTask } from "@/worker/task";

const log = getLogger("auth");

const payload = z.object({});

declare global {
  namespace GraphileWorker {
    interface Tasks {
      sessions_cleanup: z.infer<typeof payload>;
    }
  }
}

export const sessionsCleanup = defineTask({
  id: "sessions_cleanup",
  payload,
  // Hourly; `fill=1h` runs a slot missed while no worker ran (within the hour).
  schedule: { cron: "0 * * * *", options: "?fill=1h" },
  handler: async () => {
    const deleted = await getDb().delete(sessions).where(lt(sessions.expiresAt, new Date())).returning({ id: sessions.id });
    log.info("sessions.expired_deleted", { sessions__count: deleted.length });
    const windows = await deleteEndedSignInWindows();
    log.info("sign_in_throttles.ended_deleted", { sign_in_throttles__count: windows });
  },
});
