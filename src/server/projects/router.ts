import { z } from "zod";
import { id, name, router } from "@/server/trpc/init";
import { protectedProcedure, requireAdmin, requireScope } from "@/server/auth/procedures";
import { deleteProject, getProject, listProjects, updateProject } from "./service";

export const projectsRouter = router({
  list: protectedProcedure.input(z.object({ organisationId: id })).query(({ ctx }) => listProjects(requireScope(ctx, "organisation").organisationId)),
  get: protectedProcedure.input(z.object({ projectId: id })).query(({ ctx }) => getProject(requireScope(ctx, "project").projectId)),
  // `create` (a project with its default environments) is wired by environments/project-router.ts,
  // merged into this namespace by the root router: environments sit above projects.
  update: protectedProcedure
    .input(z.object({ projectId: id, name: name.optional(), hideDisabledFlags: z.boolean().optional() }))
    .mutation(({ ctx, input }) => {
      requireAdmin(ctx);
      const { projectId: _projectId, ...changes } = input;
      return updateProject(ctx.actor, requireScope(ctx, "project").projectId, changes);
    }),
  delete: protectedProcedure.input(z.object({ projectId: id })).mutation(({ ctx }) => {
    requireAdmin(ctx);
    return deleteProject(ctx.actor, requireScope(ctx, "project").projectId);
  }),
});
