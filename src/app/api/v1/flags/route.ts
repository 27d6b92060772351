import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** Flagsmith SDK API: environment flags (also without the trailing slash). Handlers: src/server/api/routes.ts. */
export const GET = apiRoutes.flags.GET;
export const OPTIONS = apiRoutes.flags.OPTIONS;
