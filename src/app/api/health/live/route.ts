import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** Liveness. Handlers: src/server/api/routes.ts. */
export const GET = apiRoutes.live.GET;
