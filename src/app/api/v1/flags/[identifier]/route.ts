import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** Flagsmith SDK API (deprecated): an identity's flags as a list. Handlers: src/server/api/routes.ts. */
export const GET = apiRoutes.deprecatedIdentityFlags.GET;
export const OPTIONS = apiRoutes.deprecatedIdentityFlags.OPTIONS;
