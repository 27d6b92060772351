import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** Flagsmith SDK API: flag evaluation counts. Handlers: src/server/api/routes.ts. */
export const POST = apiRoutes.analytics.POST;
export const OPTIONS = apiRoutes.analytics.OPTIONS;
