import { z } from "zod";
import { id, name, router } from "@/server/trpc/init";
import { protectedProcedure, requireAdmin, requireScope } from "@/server/auth/procedures";
import { createProjectWithEnvironments } from "./defaults";

/**
 * `projects.create` (merged into the `projects` namespace by the root router): a project with its
 * default environments, Development and Production (protected). `defaultEnvironments: false`
 * creates the project alone, for scripts that create their own environments.
 */
export const projectCreationRouter = router({
  create: protectedProcedure.input(z.object({ organisationId: id, name, defaultEnvironments: z.boolean().optional() })).mutation(({ ctx, input }) => {
    requireAdmin(ctx);
    return createProjectWithEnvironments(ctx.actor, requireScope(ctx, "organisation").organisationId, input.name, { defaultEnvironments: input.defaultEnvironments });
  }),
});
