import { sql } from "drizzle-orm";
import { getDb } from "@/server/db/client";
import { route } from "@/server/http/route";

export const dynamic = "force-dynamic";

export const GET = route("/api/health", async () => {
  await getDb().execute(sql`select 1`);
  return Response.json({ status: "ok" }, { headers: { "cache-control": "no-store" } });
});
