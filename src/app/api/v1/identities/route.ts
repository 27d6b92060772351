import { route } from "@/server/http/route";
import { identityFlagsGet, identityFlagsPost, preflight } from "@/server/sdk/service";

export const dynamic = "force-dynamic";

/** Flagsmith SDK API: identity flags and traits. */
export const GET = route("/api/v1/identities/", (request) => identityFlagsGet(request));
export const POST = route("/api/v1/identities/", (request) => identityFlagsPost(request));
export const OPTIONS = route("/api/v1/identities/", async (request) => preflight(request));
