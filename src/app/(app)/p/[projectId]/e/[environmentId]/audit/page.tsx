"use client";

import { useQuery } from "@tanstack/react-query";
import { AuditLog } from "@/app/_components/audit-log";
import { PageHeader } from "@/app/_components/ui";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

/** The audit log of one environment (with the project-wide changes that affect it). */
export default function EnvironmentAuditPage() {
  const trpc = useTRPC();
  const { projectId, environmentId } = useRouteIds();
  const environment = useQuery(trpc.environments.get.queryOptions({ environmentId: environmentId ?? 0 }));
  return (
    <>
      <PageHeader title="Audit log" subtitle={environment.data ? `Changes in ${environment.data.name}, and project-wide changes, newest first.` : "Newest first."} />
      <AuditLog key={environmentId} projectId={projectId ?? 0} environmentId={environmentId ?? 0} />
    </>
  );
}
