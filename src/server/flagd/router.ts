import { z } from "zod";
import { protectedProcedure, requireAdmin, requireScope } from "@/server/auth/procedures";
import { id, router } from "@/server/trpc/init";
import { flagdDiagnostics, flagdStatus, setFlagdEnabled } from "./service";

export const flagdRouter = router({
  /** The project's flagd integration and, per environment, what its latest flagd document looks like. */
  status: protectedProcedure.input(z.object({ projectId: id })).query(({ ctx }) => flagdStatus(requireScope(ctx, "project").projectId)),
  /** Turns the integration on or off (audited); the environments' documents are rewritten. */
  setEnabled: protectedProcedure.input(z.object({ projectId: id, enabled: z.boolean() })).mutation(({ ctx, input }) => {
    requireAdmin(ctx);
    return setFlagdEnabled(ctx.actor, requireScope(ctx, "project"), input.enabled);
  }),
  /** Translation warnings and per-flag fidelity of an environment's latest flagd document. */
  diagnostics: protectedProcedure.input(z.object({ environmentId: id })).query(({ ctx }) => flagdDiagnostics(requireScope(ctx, "environment").environmentId)),
});
