/** Hourly (and at worker start): delete expired sessions and ended sign-in throttle windows. */
import { lt } from "drizzle-orm";
import { getDb } from "@/server/db/client";
import { sessions } from "@/server/db/schema";
import { getLogger } from "@/server/observability/logger";
import { deleteEndedSignInWindows } from "@/server/auth/throttle";
import type { TaskHandler } from "../job-context";

const log = getLogger("auth");

export const sessionsCleanup: TaskHandler = async () => {
  const deleted = await getDb().delete(sessions).where(lt(sessions.expiresAt, new Date())).returning({ id: sessions.id });
  log.info("sessions.expired_deleted", { sessions__count: deleted.length });
  const windows = await deleteEndedSignInWindows();
  log.info("sign_in_throttles.ended_deleted", { sign_in_throttles__count: windows });
};
