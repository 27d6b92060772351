import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** Flagsmith SDK API: identity flags and traits. Handlers: src/server/api/routes.ts. */
export const GET = apiRoutes.identities.GET;
export const POST = apiRoutes.identities.POST;
export const OPTIONS = apiRoutes.identities.OPTIONS;
