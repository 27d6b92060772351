import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** Flagsmith SDK API: the environment document for local evaluation (server keys only). Handlers: src/server/api/routes.ts. */
export const GET = apiRoutes.environmentDocument.GET;
export const OPTIONS = apiRoutes.environmentDocument.OPTIONS;
