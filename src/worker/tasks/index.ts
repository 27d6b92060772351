/** Every task the worker runs (one file per task, named after its id). */
import type { AnyTask } from "@/worker/task";
import { environmentDocumentWrite } from "./environment_document_write";
import { scheduledChangeApply } from "./scheduled_change_apply";
import { sessionsCleanup } from "./sessions_cleanup";

export { environmentDocumentWrite, scheduledChangeApply, sessionsCleanup };

export const TASKS: readonly AnyTask[] = [environmentDocumentWrite, scheduledChangeApply, sessionsCleanup];
