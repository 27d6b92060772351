"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { SegmentForm } from "@/app/_components/segment-form";
import { PageHeader } from "@/app/_components/ui";
import { useRouteIds } from "@/app/(app)/hooks";

export default function NewSegmentPage() {
  const router = useRouter();
  const { projectId: routeProjectId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const listHref = `/p/${projectId}/segments`;
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link href={listHref}>Segments</Link> <span aria-hidden>/</span> <span aria-current="page">New segment</span>
      </nav>
      <PageHeader title="New segment" subtitle="Define who is in the segment; then override features for it per environment." />
      <div className="panel">
        <div className="panel-body">
          <SegmentForm projectId={projectId} onSaved={(segment) => router.push(`/p/${projectId}/segments/${segment.id}`)} onCancel={() => router.push(listHref)} />
        </div>
      </div>
    </>
  );
}
