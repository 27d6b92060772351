import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** Flagsmith's real-time event stream (server-sent events). Handlers: src/server/api/routes.ts. */
export const GET = apiRoutes.flagsmithStream.GET;
