import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** Readiness (ready / degraded / unavailable). Handlers: src/server/api/routes.ts. */
export const GET = apiRoutes.ready.GET;
