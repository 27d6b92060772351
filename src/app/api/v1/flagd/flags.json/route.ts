import { handleFlagdSync } from "@/server/flagd/sync";
import { route } from "@/server/http/route";

export const dynamic = "force-dynamic";

/** flagd HTTP sync source (see src/server/flagd/sync.ts and docs/flagd.md). */
export const GET = route("/api/v1/flagd/flags.json", handleFlagdSync);
