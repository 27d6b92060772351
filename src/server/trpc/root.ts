import { authRouter } from "../auth/router";
import { environmentsRouter } from "../environments/router";
import { organisationsRouter } from "../organisations/router";
import { projectsRouter } from "../projects/router";
import { createCallerFactory, router } from "./init";

export const appRouter = router({
  auth: authRouter,
  organisations: organisationsRouter,
  projects: projectsRouter,
  environments: environmentsRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
