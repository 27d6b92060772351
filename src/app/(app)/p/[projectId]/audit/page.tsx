"use client";

import { useQuery } from "@tanstack/react-query";
import { AuditLog } from "@/app/_components/audit-log";
import { PageHeader } from "@/app/_components/ui";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

/** The audit log of a project: every environment's changes, newest first. */
export default function ProjectAuditPage() {
  const trpc = useTRPC();
  const { projectId } = useRouteIds();
  const project = useQuery(trpc.projects.get.queryOptions({ projectId: projectId ?? 0 }));
  return (
    <>
      <PageHeader title="Project audit log" subtitle={project.data ? `Every change in ${project.data.name}, across its environments, newest first.` : "Newest first."} />
      <AuditLog key={projectId} projectId={projectId ?? 0} />
    </>
  );
}
