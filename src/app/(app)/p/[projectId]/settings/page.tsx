"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ConfirmDialog, DangerZone, ErrorState, Loading, PageHeader, SettingRow, Switch, useToast } from "@/app/_components/ui";
import { formError } from "@/app/_components/errors";
import { NameForm } from "@/app/_components/name-form";
import { useLeaveDeleted } from "@/app/_components/use-invalidate";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";
import { FlagdPanel } from "./FlagdPanel";
import { ImportPanel } from "./ImportPanel";

export default function ProjectSettingsPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const leave = useLeaveDeleted();
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
      onSuccess: async (_result, variables) => {
        await invalidate();
        toast.success(variables.name !== undefined ? "Project updated" : "Setting saved");
      },
      // The name form shows its errors in place; a toggle has no place but a toast.
      onError: (error, variables) => {
        if (variables.name === undefined) toast.error(error);
      },
    }),
  );
  const remove = useMutation(
    trpc.projects.delete.mutationOptions({
      onSuccess: async () => {
        const organisationId = project.data?.organisationId;
        toast.success("Project deleted");
        // The project is gone: none of its queries is asked again (they would be "not found").
        await leave({ projectId }, organisationId ? `/o/${organisationId}` : "/", (except) =>
          queryClient.invalidateQueries({ queryKey: trpc.projects.list.queryKey(), predicate: (query) => !except(query) }),
        );
      },
      onError: (error) => toast.error(error),
    }),
  );
  if (project.isPending) return <Loading />;
  if (project.isError) return <ErrorState error={project.error} retry={() => project.refetch()} />;
  const formSubmitted = update.variables?.name !== undefined;
  const error = formSubmitted ? formError(update.error) : null;
  return (
    <>
      <PageHeader title="Project settings" subtitle={project.data.name} />
      <section className="panel" aria-labelledby="project-general">
        <div className="panel-header">
          <h2 id="project-general">General</h2>
        </div>
        <div className="panel-body stack">
          <NameForm
            key={project.data.name}
            label="Project name"
            initial={project.data.name}
            error={error}
            busy={update.isPending && formSubmitted}
            onEdit={() => {
              if (error) update.reset();
            }}
            onSubmit={(name) => update.mutate({ projectId, name })}
          />
          <hr className="divider" />
          <SettingRow label="Hide disabled flags" help="SDKs receive only enabled flags, in every environment that does not override this. Applies as soon as you switch it.">
            <Switch label="Hide disabled flags" checked={project.data.hideDisabledFlags} disabled={update.isPending} onChange={(v) => update.mutate({ projectId, hideDisabledFlags: v })} />
          </SettingRow>
        </div>
      </section>
      <FlagdPanel projectId={projectId} />
      <ImportPanel projectId={projectId} />
      <DangerZone
        id="project-danger"
        title="Delete this project"
        description="Deletes its environments, features, segments and identities. This cannot be undone."
        action="Delete project"
        onAction={() => setConfirmDelete(true)}
      />
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
