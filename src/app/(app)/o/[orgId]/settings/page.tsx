"use client";

import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "@/app/_components/navigation";
import { Button, ConfirmDialog, DangerZone, Dialog, ErrorState, Loading, PageHeader, SettingRow, Switch, TextInput, useToast } from "@/app/_components/ui";
import { NameForm } from "@/app/_components/name-form";
import { fieldError, formError } from "@/app/_components/errors";
import { SecretKeys } from "@/app/_components/secret-keys";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";
import { InviteForm, PendingInvitations } from "./Invitations";

export default function OrganisationSettingsPage() {
  const { orgId } = useRouteIds();
  const organisationId = orgId ?? 0;
  const trpc = useTRPC();
  const organisations = useQuery(trpc.organisations.list.queryOptions());
  const organisation = organisations.data?.find((o) => o.id === organisationId);
  const isAdmin = organisation?.role === "ADMIN";
  return (
    <>
      <PageHeader title="Organisation settings" subtitle={organisation?.name} />
      {isAdmin && organisation ? <GeneralPanel organisation={organisation} /> : null}
      <MembersPanel organisationId={organisationId} />
      {isAdmin ? <ApiKeysPanel organisationId={organisationId} /> : null}
      {isAdmin && organisation ? <DangerPanel organisation={organisation} /> : null}
    </>
  );
}

interface OrganisationRow {
  id: number;
  name: string;
  persistTraitData: boolean;
  stopServingFlags: boolean;
}

function GeneralPanel({ organisation }: { organisation: OrganisationRow }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const organisationId = organisation.id;
  const [confirmStop, setConfirmStop] = useState(false);
  const update = useMutation(
    trpc.organisations.update.mutationOptions({
      onSuccess: async (_result, variables) => {
        await queryClient.invalidateQueries({ queryKey: trpc.organisations.list.queryKey() });
        setConfirmStop(false);
        toast.success(variables.name !== undefined ? "Organisation renamed" : "Setting saved");
      },
      // The name form shows its errors in place; a toggle has no place but a toast.
      onError: (error, variables) => {
        setConfirmStop(false);
        if (variables.name === undefined) toast.error(error);
      },
    }),
  );
  const renaming = update.variables?.name !== undefined;
  const error = renaming ? formError(update.error) : null;
  return (
    <section className="panel" aria-labelledby="organisation-general">
      <div className="panel-header">
        <h2 id="organisation-general">General</h2>
      </div>
      <div className="panel-body stack">
        <NameForm
          key={organisation.name}
          label="Organisation name"
          initial={organisation.name}
          error={error}
          busy={update.isPending && renaming}
          onEdit={() => {
            if (error) update.reset();
          }}
          onSubmit={(name) => update.mutate({ organisationId, name })}
        />
        <hr className="divider" />
        <SettingRow label="Persist identity traits" help="Traits that SDKs send when they identify a user are stored on the identity. When off, they are used for that evaluation only.">
          <Switch
            label="Persist identity traits"
            checked={organisation.persistTraitData}
            disabled={update.isPending}
            onChange={(persistTraitData) => update.mutate({ organisationId, persistTraitData })}
          />
        </SettingRow>
        <SettingRow
          label="Stop serving flags"
          help="Every SDK and flagd request of every project in this organisation is refused (401) until this is switched off again."
        >
          <Switch
            label="Stop serving flags"
            checked={organisation.stopServingFlags}
            disabled={update.isPending}
            onChange={(stopServingFlags) => (stopServingFlags ? setConfirmStop(true) : update.mutate({ organisationId, stopServingFlags }))}
          />
        </SettingRow>
      </div>
      <ConfirmDialog
        open={confirmStop}
        title="Stop serving flags"
        message={`Every application using "${organisation.name}" flags (Flagsmith SDKs and flagd) will be refused until you switch this off. SDKs fall back to their defaults.`}
        confirmLabel="Stop serving flags"
        busy={update.isPending}
        onClose={() => setConfirmStop(false)}
        onConfirm={() => update.mutate({ organisationId, stopServingFlags: true })}
      />
    </section>
  );
}

/** Deleting the organisation: the admin types its name to confirm (checked again by the server). */
function DangerPanel({ organisation }: { organisation: OrganisationRow }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const remove = useMutation(
    trpc.organisations.delete.mutationOptions({
      onSuccess: async (result) => {
        setOpen(false);
        await queryClient.invalidateQueries({ queryKey: trpc.organisations.list.queryKey() });
        toast.success(`Organisation "${result.name}" deleted`);
        router.push("/");
      },
    }),
  );
  const error = formError(remove.error);
  const matches = typed.trim() === organisation.name;
  const close = () => {
    setOpen(false);
    setTyped("");
    remove.reset();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (matches) remove.mutate({ organisationId: organisation.id, confirmName: typed });
  };
  return (
    <DangerZone
      id="organisation-danger"
      title="Delete this organisation"
      description="Deletes its projects, environments, features, segments, identities, API keys and audit log, and every member loses access. Applications using its keys are refused. This cannot be undone."
      action="Delete organisation"
      onAction={() => setOpen(true)}
    >
      <Dialog
        open={open}
        title="Delete organisation"
        onClose={close}
        footer={
          <>
            <Button type="button" onClick={close}>
              Cancel
            </Button>
            <Button variant="danger" type="submit" form="delete-organisation-form" disabled={!matches} busy={remove.isPending}>
              Delete organisation
            </Button>
          </>
        }
      >
        <form id="delete-organisation-form" className="stack" onSubmit={submit} noValidate>
          <p>
            This deletes <strong>{organisation.name}</strong> and everything in it, for every member.
          </p>
          <TextInput
            label={`Type "${organisation.name}" to confirm`}
            value={typed}
            autoComplete="off"
            spellCheck={false}
            onChange={(event) => {
              setTyped(event.target.value);
              if (remove.error) remove.reset();
            }}
            error={fieldError(error, "confirmName") ?? error?.message}
          />
        </form>
      </Dialog>
    </DangerZone>
  );
}

type Role = "ADMIN" | "USER";

function MembersPanel({ organisationId }: { organisationId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const router = useRouter();
  const me = useQuery(trpc.auth.me.queryOptions());
  const organisations = useQuery(trpc.organisations.list.queryOptions());
  const members = useQuery(trpc.organisations.members.queryOptions({ organisationId }));
  const myId = me.data?.id;
  const isAdmin = organisations.data?.find((o) => o.id === organisationId)?.role === "ADMIN";
  const [removing, setRemoving] = useState<{ userId: string; label: string; self: boolean } | null>(null);
  const invalidateMembers = () => queryClient.invalidateQueries({ queryKey: trpc.organisations.members.queryKey({ organisationId }) });
  const update = useMutation(
    trpc.organisations.updateMember.mutationOptions({
      onSuccess: async (result) => {
        await Promise.all([invalidateMembers(), queryClient.invalidateQueries({ queryKey: trpc.organisations.list.queryKey() })]);
        const who = members.data?.find((m) => m.userId === result.userId);
        toast.success(`${who?.name ?? "Member"} is now ${result.role === "ADMIN" ? "an admin" : "a user"}`);
      },
      onError: (error) => toast.error(error),
    }),
  );
  const remove = useMutation(
    trpc.organisations.removeMember.mutationOptions({
      onSuccess: async (_result, variables) => {
        setRemoving(null);
        if (variables.userId === myId) {
          await queryClient.invalidateQueries({ queryKey: trpc.organisations.list.queryKey() });
          toast.success("You left the organisation");
          router.push("/");
          return;
        }
        await invalidateMembers();
        toast.success("Member removed");
      },
      onError: (error) => {
        setRemoving(null);
        toast.error(error);
      },
    }),
  );
  const adminCount = members.data?.filter((m) => m.role === "ADMIN").length ?? 0;
  return (
    <section className="panel" aria-labelledby="members-heading">
      <div className="panel-header">
        <h2 id="members-heading">Members</h2>
      </div>
      {members.isPending ? (
        <Loading />
      ) : members.isError ? (
        <div className="panel-body">
          <ErrorState error={members.error} retry={() => void members.refetch()} />
        </div>
      ) : (
        <table className="table table-cards" aria-label="Members">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Role</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.data.map((m) => {
              const self = m.userId === myId;
              const lastAdmin = m.role === "ADMIN" && adminCount === 1;
              return (
                <tr key={m.userId}>
                  <td className="cell-main">
                    {m.name}
                    {self ? <span className="muted"> (you)</span> : null}
                  </td>
                  <td data-label="Email">{m.email}</td>
                  <td data-label="Role">
                    {isAdmin ? (
                      <RoleForm
                        key={m.role}
                        name={m.name}
                        role={m.role}
                        disabled={update.isPending}
                        lastAdmin={lastAdmin}
                        onSave={(role) => update.mutate({ organisationId, userId: m.userId, role })}
                      />
                    ) : (
                      <span className={`badge ${m.role === "ADMIN" ? "badge-primary" : ""}`}>{m.role === "ADMIN" ? "Admin" : "User"}</span>
                    )}
                  </td>
                  <td className="cell-end" style={{ textAlign: "right" }}>
                    {isAdmin || self ? (
                      <Button
                        variant="ghost"
                        disabled={lastAdmin}
                        title={lastAdmin ? "The only admin cannot leave or be removed" : undefined}
                        aria-label={self ? "Leave organisation" : `Remove ${m.name}`}
                        onClick={() => setRemoving({ userId: m.userId, label: m.name, self })}
                      >
                        {self ? "Leave" : "Remove"}
                      </Button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <ConfirmDialog
        open={removing !== null}
        title={removing?.self ? "Leave organisation" : "Remove member"}
        message={
          removing?.self
            ? "You will lose access to this organisation's projects at once. An admin can add you back."
            : `Remove ${removing?.label ?? ""} from this organisation? They lose access at once; their account stays.`
        }
        confirmLabel={removing?.self ? "Leave" : "Remove"}
        busy={remove.isPending}
        onClose={() => setRemoving(null)}
        onConfirm={() => removing && remove.mutate({ organisationId, userId: removing.userId })}
      />
      {isAdmin ? (
        <>
          <InviteForm organisationId={organisationId} />
          <PendingInvitations organisationId={organisationId} />
        </>
      ) : (
        <p className="panel-body muted" style={{ margin: 0, borderTop: "1px solid var(--border)" }}>
          Only organisation admins can invite members or change roles.
        </p>
      )}
    </section>
  );
}

/**
 * A member's role: choosing one in the list changes nothing yet (arrow keys on a closed list change
 * its value on some platforms); "Save role" applies it.
 */
function RoleForm({ name, role, disabled, lastAdmin, onSave }: { name: string; role: Role; disabled: boolean; lastAdmin: boolean; onSave: (role: Role) => void }) {
  const [draft, setDraft] = useState<Role>(role);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (draft !== role) onSave(draft);
  };
  return (
    <form className="row" onSubmit={submit}>
      <select
        aria-label={`Role of ${name}`}
        value={draft}
        disabled={disabled || lastAdmin}
        title={lastAdmin ? "The only admin cannot be made a user" : undefined}
        onChange={(e) => setDraft(e.target.value as Role)}
      >
        <option value="USER">User</option>
        <option value="ADMIN">Admin</option>
      </select>
      {lastAdmin ? null : (
        <Button type="submit" className="btn-sm" disabled={disabled || draft === role}>
          Save role<span className="sr-only"> for {name}</span>
        </Button>
      )}
    </form>
  );
}

function ApiKeysPanel({ organisationId }: { organisationId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const keys = useQuery(trpc.organisations.apiKeys.queryOptions({ organisationId }));
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.organisations.apiKeys.queryKey({ organisationId }) });
  const create = useMutation(trpc.organisations.createApiKey.mutationOptions({ onSuccess: () => invalidate() }));
  const revoke = useMutation(
    trpc.organisations.revokeApiKey.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("API key revoked");
      },
      onError: (error) => toast.error(error),
    }),
  );
  return (
    <section className="panel" aria-labelledby="api-keys-heading">
      <div className="panel-header">
        <h2 id="api-keys-heading">API keys</h2>
      </div>
      <div className="panel-body stack">
        <p className="muted" style={{ margin: 0 }}>
          Scripts call the admin API (tRPC at <code>/api/trpc</code>) with <code>Authorization: Api-Key &lt;key&gt;</code>. Keys act as an organisation admin.
        </p>
        <SecretKeys
          noun="API key"
          placeholder="ci-pipeline"
          keys={keys}
          onCreate={async (name) => (await create.mutateAsync({ organisationId, name })).key}
          create={create}
          onRevoke={(apiKeyId) => revoke.mutateAsync({ organisationId, apiKeyId })}
          revoking={revoke.isPending}
          revokeWarning={(name) => `Scripts using "${name}" will lose access.`}
          heading={false}
        />
      </div>
    </section>
  );
}
