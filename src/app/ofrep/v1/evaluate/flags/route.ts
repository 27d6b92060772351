import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** OFREP: bulk evaluation. Handlers: src/server/api/routes.ts. */
export const POST = apiRoutes.ofrepFlags.POST;
export const OPTIONS = apiRoutes.ofrepFlags.OPTIONS;
