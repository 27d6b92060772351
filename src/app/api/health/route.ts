import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** The old health check: an alias of readiness (/api/health/ready). Handlers: src/server/api/routes.ts. */
export const GET = apiRoutes.health.GET;
