import { route } from "@/server/http/route";
import { environmentDocument, preflight } from "@/server/sdk/service";

export const dynamic = "force-dynamic";

/** Flagsmith SDK API: the environment document for local evaluation (server keys only). */
export const GET = route("/api/v1/environment-document/", (request) => environmentDocument(request));
export const OPTIONS = route("/api/v1/environment-document/", async (request) => preflight(request));
