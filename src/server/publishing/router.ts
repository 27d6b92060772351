import { z } from "zod";
import { protectedProcedure, requireAdmin, requireScope } from "@/server/auth/procedures";
import { documentStatus } from "@/server/documents/store";
import { id, router } from "@/server/trpc/init";
import { requestRebuild } from "./rebuild";

export const documentsRouter = router({
  /** The stored document's revision against the environment's, for the settings page. */
  status: protectedProcedure.input(z.object({ environmentId: id })).query(({ ctx }) => documentStatus(requireScope(ctx, "environment").environmentId)),
  /** Operators' repair action: enqueue a fresh document write through the normal path (audited). */
  rebuild: protectedProcedure.input(z.object({ environmentId: id })).mutation(async ({ ctx }) => {
    requireAdmin(ctx);
    const count = await requestRebuild(ctx.actor, { environmentIds: [requireScope(ctx, "environment").environmentId] });
    return { environments: count };
  }),
});
