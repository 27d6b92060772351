import { apiRoutes } from "@/server/api/routes";

export const dynamic = "force-dynamic";

/** flagd HTTP sync source (see src/server/flagd/sync.ts and docs/flagd.md). Handlers: src/server/api/routes.ts. */
export const GET = apiRoutes.flagdFlags.GET;
