import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** OFREP: one flag's evaluation. Handlers: src/server/api/routes.ts. */
export const POST = apiRoutes.ofrepFlag.POST;
export const OPTIONS = apiRoutes.ofrepFlag.OPTIONS;
