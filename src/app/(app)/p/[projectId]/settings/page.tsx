"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Button, ConfirmDialog, ErrorState, Loading, PageHeader, SettingRow, Switch, TextInput, useToast } from "@/app/_components/ui";
import { formError } from "@/app/_components/errors";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";
import { FlagdPanel } from "./FlagdPanel";
import { ImportPanel } from "./ImportPanel";

export default function ProjectSettingsPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const toast = useToast();
  const { projectId: routeProjectId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const project = useQuery(trpc.projects.get.queryOptions({ projectId }));
  const [confirmDelete, setConfirmDelete] = useState(false);
  const invalidate = async () => {
    await queryClient.invalidateQueries({ queryKey: trpc.projects.get.queryKey({ projectId }) });
    await queryClient.invalidateQueries({ queryKey: trpc.projects.list.queryKey() });
  };
  const update = useMutation(
    trpc.projects.update.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("Project updated");
      },
      onError: (error) => toast.error(error),
    }),
  );
  const remove = useMutation(
    trpc.projects.delete.mutationOptions({
      onSuccess: async () => {
        const organisationId = project.data?.organisationId;
        await invalidate();
        toast.success("Project deleted");
        router.push(organisationId ? `/o/${organisationId}` : "/");
      },
      onError: (error) => toast.error(error),
    }),
  );
  if (project.isPending) return <Loading />;
  if (project.isError) return <ErrorState error={project.error} retry={() => project.refetch()} />;
  const error = formError(update.error);
  return (
    <>
      <PageHeader title="Project settings" subtitle={project.data.name} />
      <section className="panel" aria-labelledby="project-general">
        <div className="panel-header">
          <h2 id="project-general">General</h2>
        </div>
        <form
          className="panel-body stack"
          onSubmit={(event) => {
            event.preventDefault();
            const name = new FormData(event.currentTarget).get("name");
            update.mutate({ projectId, name: String(name ?? "") });
          }}
        >
          <NameInput key={project.data.name} initial={project.data.name} error={error?.fieldErrors.name} />
          <div>
            <Button type="submit" variant="primary" busy={update.isPending}>
              Save
            </Button>
          </div>
          <SettingRow label="Hide disabled flags" help="SDKs receive only enabled flags, in every environment that does not override this.">
            <Switch label="Hide disabled flags" checked={project.data.hideDisabledFlags} onChange={(v) => update.mutate({ projectId, hideDisabledFlags: v })} />
          </SettingRow>
        </form>
      </section>
      <FlagdPanel projectId={projectId} />
      <ImportPanel projectId={projectId} />
      <section className="panel" aria-labelledby="project-danger">
        <div className="panel-header">
          <h2 id="project-danger">Danger zone</h2>
        </div>
        <div className="panel-body row-between">
          <div>
            <strong>Delete this project</strong>
            <div className="muted small">Deletes its environments, features, segments and identities. This cannot be undone.</div>
          </div>
          <Button variant="danger" onClick={() => setConfirmDelete(true)}>
            Delete project
          </Button>
        </div>
      </section>
      <ConfirmDialog
        open={confirmDelete}
        title="Delete project"
        message={`Delete "${project.data.name}" and everything in it?`}
        confirmLabel="Delete project"
        busy={remove.isPending}
        onClose={() => setConfirmDelete(false)}
        onConfirm={() => remove.mutate({ projectId })}
      />
    </>
  );
}

function NameInput({ initial, error }: { initial: string; error?: string }) {
  const [name, setName] = useState(initial);
  return <TextInput label="Project name" name="name" value={name} onChange={(e) => setName(e.target.value)} error={error} />;
}
