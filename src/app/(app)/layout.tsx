import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { principalFromSessionToken, SESSION_COOKIE } from "@/server/auth/principal";
import { AppShell } from "./AppShell";

export const dynamic = "force-dynamic";

export default async function AppLayout({ children }: { children: ReactNode }) {
  const principal = await principalFromSessionToken((await cookies()).get(SESSION_COOKIE)?.value);
  if (!principal || principal.kind !== "user") redirect("/login");
  return <AppShell user={{ email: principal.email, name: principal.name }}>{children}</AppShell>;
}
