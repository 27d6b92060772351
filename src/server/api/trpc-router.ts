/**
 * The tRPC root router: every domain's procedures under their namespace (the admin UI and API
 * scripts call them as `<namespace>.<procedure>`).
 */
import { auditRouter } from "@/server/audit/router";
import { authRouter } from "@/server/auth/router";
import { projectCreationRouter } from "@/server/environments/project-router";
import { environmentsRouter } from "@/server/environments/router";
import { featuresRouter, identityOverridesRouter, segmentOverridesRouter } from "@/server/features/router";
import { promotionRouter } from "@/server/features/promotion-router";
import { flagdRouter } from "@/server/flagd/router";
import { identitiesRouter } from "@/server/identities/router";
import { importsRouter } from "@/server/imports/router";
import { invitationsRouter, organisationsRouter } from "@/server/organisations/router";
import { projectsRouter } from "@/server/projects/router";
import { documentsRouter } from "@/server/publishing/router";
import { rolloutsRouter } from "@/server/rollouts/router";
import { sdkRouter } from "@/server/sdk/router";
import { segmentsRouter } from "@/server/segments/router";
import { createCallerFactory, mergeRouters, router } from "@/server/trpc/init";

export const appRouter = router({
  auth: authRouter,
  organisations: organisationsRouter,
  invitations: invitationsRouter,
  // Project creation lives with environments (it creates the default ones).
  projects: mergeRouters(projectsRouter, projectCreationRouter),
  environments: environmentsRouter,
  features: featuresRouter,
  segments: segmentsRouter,
  segmentOverrides: segmentOverridesRouter,
  // Compare environments and copy features between them.
  promotion: promotionRouter,
  // Identities and their traits; the identity page's view and identity overrides are feature states.
  identities: mergeRouters(identitiesRouter, identityOverridesRouter),
  audit: auditRouter,
  documents: documentsRouter,
  flagd: flagdRouter,
  imports: importsRouter,
  sdk: sdkRouter,
  rollouts: rolloutsRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
