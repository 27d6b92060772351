import { route } from "@/server/http/route";
import { environmentFlags, preflight } from "@/server/sdk/service";

export const dynamic = "force-dynamic";

/** Flagsmith SDK API: environment flags (also without the trailing slash). */
export const GET = route("/api/v1/flags/", (request) => environmentFlags(request));
export const OPTIONS = route("/api/v1/flags/", async (request) => preflight(request));
