import { route } from "@/server/http/route";
import { deprecatedIdentityFlags, preflight } from "@/server/sdk/service";

export const dynamic = "force-dynamic";

/** Flagsmith SDK API (deprecated): an identity's flags as a list. */
export const GET = route<{ identifier: string }>("/api/v1/flags/:identifier/", (request, params) =>
  deprecatedIdentityFlags(request, params.identifier),
);
export const OPTIONS = route("/api/v1/flags/:identifier/", async (request) => preflight(request));
