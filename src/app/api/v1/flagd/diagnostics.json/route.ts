import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** Translation warnings and per-flag fidelity of the environment's flagd document. Handlers: src/server/api/routes.ts. */
export const GET = apiRoutes.flagdDiagnostics.GET;
