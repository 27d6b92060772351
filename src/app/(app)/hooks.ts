"use client";

import { useParams } from "next/navigation";

/** Numeric route params of the admin pages (`/o/[orgId]`, `/p/[projectId]/e/[environmentId]/…`). */
export function useRouteIds(): { orgId?: number; projectId?: number; environmentId?: number; featureId?: number; segmentId?: number; identityId?: number } {
  const params = useParams<Record<string, string>>();
  const num = (value: string | undefined) => (value && /^\d+$/.test(value) ? Number(value) : undefined);
  return {
    orgId: num(params.orgId),
    projectId: num(params.projectId),
    environmentId: num(params.environmentId),
    featureId: num(params.featureId),
    segmentId: num(params.segmentId),
    identityId: num(params.identityId),
  };
}
