/** Writes an environment's document (src/server/publishing/write-document.ts). */
import { z } from "zod";
import { writeEnvironmentDocument } from "@/server/publishing/write-document";
import { defineTask } from "@/worker/task";

const payload = z.object({
  environmentId: z.number().int().positive(),
  /** Revision of the change that enqueued the job (informational: the build reads the current one). */
  revision: z.number().int().optional(),
  cause: z.string().optional(),
  /** When the change was made (ISO), for the write-lag histogram. */
  changedAt: z.string().optional(),
  /** Creation-guard deferrals so far. */
  guardAttempt: z.number().int().min(0).optional(),
});

declare global {
  namespace GraphileWorker {
    interface Tasks {
      environment_document_write: z.infer<typeof payload>;
    }
  }
}

export const environmentDocumentWrite = defineTask({
  id: "environment_document_write",
  payload,
  handler: async (job) => {
    await writeEnvironmentDocument(job);
  },
});
