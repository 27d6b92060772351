import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** Liveness and database check. Handlers: src/server/http/api-routes.ts. */
export const GET = apiRoutes.health.GET;
