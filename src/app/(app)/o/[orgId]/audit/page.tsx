"use client";

import { useQuery } from "@tanstack/react-query";
import { AuditLog } from "@/app/_components/audit-log";
import { PageHeader } from "@/app/_components/ui";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

/** The audit log of an organisation: members, API keys, settings, and every project's changes. */
export default function OrganisationAuditPage() {
  const trpc = useTRPC();
  const { orgId } = useRouteIds();
  const organisation = useQuery(trpc.organisations.list.queryOptions()).data?.find((o) => o.id === orgId);
  return (
    <>
      <PageHeader
        title="Organisation audit log"
        subtitle={organisation ? `Every change in ${organisation.name}: members, API keys, settings and all projects, newest first.` : "Newest first."}
      />
      <AuditLog key={orgId} organisationId={orgId ?? 0} />
    </>
  );
}
