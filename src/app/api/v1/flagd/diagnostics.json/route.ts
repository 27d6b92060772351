import { handleFlagdDiagnostics } from "@/server/flagd/sync";
import { route } from "@/server/http/route";

export const dynamic = "force-dynamic";

/** Translation warnings and per-flag fidelity of the environment's flagd document. */
export const GET = route("/api/v1/flagd/diagnostics.json", handleFlagdDiagnostics);
