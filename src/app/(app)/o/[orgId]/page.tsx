"use client";

import Link from "next/link";
import { useRouter } from "@/app/_components/navigation";
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Button, EmptyState, ErrorState, Loading, PageHeader, formatDate, useToast } from "@/app/_components/ui";
import { NameDialog } from "@/app/_components/name-dialog";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

export default function ProjectsPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { orgId } = useRouteIds();
  const organisationId = orgId ?? 0;
  const projects = useQuery(trpc.projects.list.queryOptions({ organisationId }));
  const [open, setOpen] = useState(false);
  const create = useMutation(
    trpc.projects.create.mutationOptions({
      onSuccess: async (project) => {
        await queryClient.invalidateQueries({ queryKey: trpc.projects.list.queryKey() });
        toast.success(`Project "${project.name}" created`);
        setOpen(false);
        router.push(`/p/${project.id}/environments`);
      },
    }),
  );

  return (
    <>
      <PageHeader
        title="Projects"
        subtitle="Each project holds features, segments and environments."
        actions={
          <Button variant="primary" aria-keyshortcuts="c" onClick={() => setOpen(true)}>
            New project
          </Button>
        }
      />
      {projects.isPending ? (
        <Loading />
      ) : projects.isError ? (
        <ErrorState error={projects.error} retry={() => projects.refetch()} />
      ) : projects.data.length === 0 ? (
        <div className="panel">
          <EmptyState
            title="No projects yet"
            action={
              <Button variant="primary" onClick={() => setOpen(true)}>
                Create your first project
              </Button>
            }
          >
            A project groups the flags of one application across its environments (development, staging, production…).
          </EmptyState>
        </div>
      ) : (
        <div className="panel">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {projects.data.map((project) => (
                <tr key={project.id} className="clickable" onClick={() => router.push(`/p/${project.id}`)}>
                  <td>
                    <Link href={`/p/${project.id}`}>{project.name}</Link>
                  </td>
                  <td className="muted">{formatDate(project.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <NameDialog
        open={open}
        onClose={() => setOpen(false)}
        title="New project"
        label="Project name"
        submitLabel="Create project"
        mutation={create}
        onSubmit={(name) => create.mutate({ organisationId, name })}
      />
    </>
  );
}
