import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { principalFromSessionToken, SESSION_COOKIE } from "@/server/auth/principal";
import { firstOrganisationOf } from "@/server/auth/scope";
import { NoOrganisation } from "@/app/_components/new-organisation";

export const dynamic = "force-dynamic";

export default async function Home() {
  const principal = await principalFromSessionToken((await cookies()).get(SESSION_COOKIE)?.value);
  if (!principal) redirect("/login");
  const organisationId = await firstOrganisationOf(principal);
  if (organisationId === undefined) return <NoOrganisation />;
  redirect(`/o/${organisationId}`);
}
