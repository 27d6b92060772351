import { route } from "@/server/http/route";
import { flagAnalytics, preflight } from "@/server/sdk/service";

export const dynamic = "force-dynamic";

/** Flagsmith SDK API: flag evaluation counts. */
export const POST = route("/api/v1/analytics/flags/", (request) => flagAnalytics(request));
export const OPTIONS = route("/api/v1/analytics/flags/", async (request) => preflight(request));
