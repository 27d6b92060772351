"use client";

import Link from "next/link";
import { useRouter } from "@/app/_components/navigation";
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Button, EmptyState, ErrorState, Loading, PageHeader, formatDate, useToast } from "@/app/_components/ui";
import { NameDialog } from "@/app/_components/name-dialog";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

export default function EnvironmentsPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { projectId: routeProjectId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const project = useQuery(trpc.projects.get.queryOptions({ projectId }));
  const environments = useQuery(
    trpc.environments.list.queryOptions(
      { projectId },
      // While an environment is still being created (seeded in batches), check again until it is ready.
      { refetchInterval: (query) => (query.state.data?.some((env) => env.isCreating) ? 1000 : false) },
    ),
  );
  const [open, setOpen] = useState(false);
  const create = useMutation(
    trpc.environments.create.mutationOptions({
      onSuccess: async (environment) => {
        await queryClient.invalidateQueries({ queryKey: trpc.environments.list.queryKey() });
        toast.success(`Environment "${environment.name}" created`);
        setOpen(false);
        router.push(`/p/${projectId}/e/${environment.id}/settings`);
      },
    }),
  );

  return (
    <>
      <PageHeader
        title="Environments"
        subtitle={project.data ? `Environments of ${project.data.name}. Each has its own SDK keys and flag states.` : undefined}
        actions={
          <Button variant="primary" aria-keyshortcuts="c" onClick={() => setOpen(true)}>
            New environment
          </Button>
        }
      />
      {environments.isPending ? (
        <Loading />
      ) : environments.isError ? (
        <ErrorState error={environments.error} retry={() => environments.refetch()} />
      ) : environments.data.length === 0 ? (
        <div className="panel">
          <EmptyState
            title="No environments yet"
            action={
              <Button variant="primary" onClick={() => setOpen(true)}>
                Create an environment
              </Button>
            }
          >
            Create environments such as Development and Production; each gets a client-side SDK key.
          </EmptyState>
        </div>
      ) : (
        <div className="panel">
          <table className="table table-cards" aria-label="Environments">
            <thead>
              <tr>
                <th>Name</th>
                <th>Client-side key</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {environments.data.map((env) => (
                <tr key={env.id}>
                  <td className="cell-main">
                    <Link href={`/p/${projectId}/e/${env.id}/features`}>{env.name}</Link>{" "}
                    {env.isCreating ? <span className="badge badge-warning">creating…</span> : null}
                    {env.isProtected ? (
                      <span className="badge badge-warning" title="Toggles and value changes ask for confirmation">
                        protected
                      </span>
                    ) : null}
                  </td>
                  <td data-label="Client-side key">
                    <code data-testid="client-key">{env.apiKey}</code>
                  </td>
                  <td className="muted" data-label="Created">
                    {formatDate(env.createdAt)}
                  </td>
                  <td className="cell-end" style={{ textAlign: "right" }}>
                    <Link href={`/p/${projectId}/e/${env.id}/settings`}>Settings &amp; keys</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <NameDialog
        open={open}
        onClose={() => setOpen(false)}
        title="New environment"
        label="Environment name"
        submitLabel="Create environment"
        placeholder="Production"
        mutation={create}
        onSubmit={(name) => create.mutate({ projectId, name })}
      />
    </>
  );
}
