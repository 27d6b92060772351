"use client";

import { useRouter } from "@/app/_components/navigation";
import { SegmentForm } from "@/app/_components/segment-form";
import { Breadcrumb, PageHeader } from "@/app/_components/ui";
import { useRouteIds } from "@/app/(app)/hooks";

export default function NewSegmentPage() {
  const router = useRouter();
  const { projectId: routeProjectId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const listHref = `/p/${projectId}/segments`;
  return (
    <>
      <Breadcrumb parent={{ href: listHref, label: "Segments" }} current="New segment" />
      <PageHeader title="New segment" subtitle="Define who is in the segment; then override features for it per environment." />
      <div className="panel">
        <div className="panel-body">
          <SegmentForm projectId={projectId} onSaved={(segment) => router.push(`/p/${projectId}/segments/${segment.id}`)} onCancel={() => router.push(listHref)} />
        </div>
      </div>
    </>
  );
}
