"use client";

import Link from "next/link";
import { useEffect } from "react";
import { useQuery } from "@tanstack/react-query";
import { useRouter } from "@/app/_components/navigation";
import { EmptyState, ErrorState, Loading, PageHeader } from "@/app/_components/ui";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

/** Features of a project: its first environment's list, or, without environments, how to get one. */
export default function ProjectFeatures() {
  const trpc = useTRPC();
  const router = useRouter();
  const { projectId } = useRouteIds();
  const environments = useQuery(trpc.environments.list.queryOptions({ projectId: projectId ?? 0 }));
  const first = environments.data?.[0];
  useEffect(() => {
    if (first) router.replace(`/p/${projectId}/e/${first.id}/features`);
  }, [first, projectId, router]);

  if (environments.isError) return <ErrorState error={environments.error} retry={() => environments.refetch()} />;
  if (!environments.data || first) return <Loading />;
  return (
    <>
      <PageHeader title="Features" subtitle="Flags and remote config, toggled per environment." />
      <div className="panel">
        <EmptyState
          title="Create an environment first"
          action={
            <Link className="btn btn-primary" href={`/p/${projectId}/environments`}>
              Go to Environments
            </Link>
          }
        >
          This project has no environments. Features are defined once per project but switched on, valued and targeted per environment (Development, Production…), and each environment
          has its own SDK keys.
        </EmptyState>
      </div>
    </>
  );
}
