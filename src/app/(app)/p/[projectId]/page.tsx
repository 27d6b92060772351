"use client";

import { useRouter } from "@/app/_components/navigation";
import { useEffect } from "react";
import { useQuery } from "@tanstack/react-query";
import { ErrorState, Loading } from "@/app/_components/ui";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

/** A project opens on its first environment's features (or its environments page when it has none). */
export default function ProjectHome() {
  const trpc = useTRPC();
  const router = useRouter();
  const { projectId } = useRouteIds();
  const environments = useQuery(trpc.environments.list.queryOptions({ projectId: projectId ?? 0 }));
  useEffect(() => {
    if (!environments.data) return;
    const first = environments.data[0];
    router.replace(first ? `/p/${projectId}/e/${first.id}/features` : `/p/${projectId}/environments`);
  }, [environments.data, projectId, router]);
  return environments.isError ? <ErrorState error={environments.error} /> : <Loading />;
}
