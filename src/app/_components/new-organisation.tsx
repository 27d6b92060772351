"use client";

/** Creating an organisation: the dialog, and the page shown to a user who belongs to none. */
import { useRouter } from "./navigation";
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { NameDialog } from "./name-dialog";
import { Button, EmptyState, PageHeader, useToast } from "./ui";
import { useTRPC } from "@/app/_trpc/client";

export function NewOrganisationDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const toast = useToast();
  const create = useMutation(
    trpc.organisations.create.mutationOptions({
      onSuccess: async (organisation) => {
        await queryClient.invalidateQueries({ queryKey: trpc.organisations.list.queryKey() });
        toast.success(`Organisation "${organisation.name}" created`);
        onClose();
        router.push(`/o/${organisation.id}`);
      },
    }),
  );
  return (
    <NameDialog
      open={open}
      onClose={onClose}
      title="New organisation"
      label="Organisation name"
      submitLabel="Create organisation"
      placeholder="Acme Inc."
      mutation={create}
      onSubmit={(name) => create.mutate({ name })}
    />
  );
}

export function NoOrganisation() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <PageHeader title="No organisation" />
      <div className="panel">
        <EmptyState
          title="You are not a member of any organisation"
          action={
            <Button variant="primary" onClick={() => setOpen(true)}>
              Create an organisation
            </Button>
          }
        >
          Create one to start managing flags, or ask an admin of an existing organisation to add you with the email you signed in with.
        </EmptyState>
      </div>
      <NewOrganisationDialog open={open} onClose={() => setOpen(false)} />
    </>
  );
}
