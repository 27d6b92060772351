import { auditRouter } from "../audit/router";
import { authRouter } from "../auth/router";
import { documentsRouter } from "../documents/router";
import { environmentsRouter } from "../environments/router";
import { featuresRouter } from "../features/router";
import { flagdRouter } from "../flagd/router";
import { identitiesRouter } from "../identities/router";
import { importsRouter } from "../imports/router";
import { organisationsRouter } from "../organisations/router";
import { projectsRouter } from "../projects/router";
import { segmentOverridesRouter, segmentsRouter } from "../segments/router";
import { sdkRouter } from "../sdk/router";
import { createCallerFactory, router } from "./init";

export const appRouter = router({
  auth: authRouter,
  organisations: organisationsRouter,
  projects: projectsRouter,
  environments: environmentsRouter,
  features: featuresRouter,
  segments: segmentsRouter,
  segmentOverrides: segmentOverridesRouter,
  identities: identitiesRouter,
  audit: auditRouter,
  documents: documentsRouter,
  flagd: flagdRouter,
  imports: importsRouter,
  sdk: sdkRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
