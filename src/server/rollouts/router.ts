import { z } from "zod";
import { protectedProcedure, requireScope } from "@/server/auth/procedures";
import { id, router } from "@/server/trpc/init";
import { actingUserId, gatesFor } from "./gates";

export const rolloutsRouter = router({
  /**
   * The state of every gate of Flagpost itself for the organisation (named directly or through a
   * project): the UI hides what is off. No SDK key reaches the browser.
   */
  gates: protectedProcedure
    .input(z.object({ organisationId: id.optional(), projectId: id.optional() }))
    .query(({ ctx }) => gatesFor(requireScope(ctx, "organisation").organisationId, actingUserId(ctx.principal))),
});
