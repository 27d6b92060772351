import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** OFREP's event stream (server-sent events, `refetchEvaluation`). Handlers: src/server/api/routes.ts. */
export const GET = apiRoutes.ofrepStream.GET;
