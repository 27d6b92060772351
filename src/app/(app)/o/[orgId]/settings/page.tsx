"use client";

import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Button, ConfirmDialog, CopyField, Dialog, ErrorState, Loading, PageHeader, Select, TextInput, formatDate, useToast } from "@/app/_components/ui";
import { formError } from "@/app/_components/errors";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

export default function OrganisationSettingsPage() {
  const { orgId } = useRouteIds();
  const organisationId = orgId ?? 0;
  return (
    <>
      <PageHeader title="Organisation settings" subtitle="Members and API keys" />
      <MembersPanel organisationId={organisationId} />
      <ApiKeysPanel organisationId={organisationId} />
    </>
  );
}

function MembersPanel({ organisationId }: { organisationId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const members = useQuery(trpc.organisations.members.queryOptions({ organisationId }));
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<"ADMIN" | "USER">("USER");
  const add = useMutation(
    trpc.organisations.addMember.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.organisations.members.queryKey({ organisationId }) });
        toast.success(`${email} added`);
        setEmail("");
      },
    }),
  );
  const error = formError(add.error);
  return (
    <section className="panel" aria-labelledby="members-heading">
      <div className="panel-header">
        <h2 id="members-heading">Members</h2>
      </div>
      {members.isPending ? (
        <Loading />
      ) : members.isError ? (
        <div className="panel-body">
          <ErrorState error={members.error} />
        </div>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Role</th>
            </tr>
          </thead>
          <tbody>
            {members.data.map((m) => (
              <tr key={m.userId}>
                <td>{m.name}</td>
                <td>{m.email}</td>
                <td>
                  <span className={`badge ${m.role === "ADMIN" ? "badge-primary" : ""}`}>{m.role}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        className="panel-body row"
        style={{ alignItems: "flex-end", borderTop: "1px solid var(--border)" }}
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          add.mutate({ organisationId, email, role });
        }}
      >
        <div style={{ flex: 2 }}>
          <TextInput label="Add an existing user by email" name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} error={error?.fieldErrors.email ?? (error && !error.fieldErrors.email ? error.message : undefined)} />
        </div>
        <div style={{ flex: 1 }}>
          <Select label="Role" value={role} onChange={(e) => setRole(e.target.value as "ADMIN" | "USER")}>
            <option value="USER">User</option>
            <option value="ADMIN">Admin</option>
          </Select>
        </div>
        <Button type="submit" busy={add.isPending}>
          Add member
        </Button>
      </form>
    </section>
  );
}

function ApiKeysPanel({ organisationId }: { organisationId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const keys = useQuery(trpc.organisations.apiKeys.queryOptions({ organisationId }));
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<{ id: number; name: string } | null>(null);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.organisations.apiKeys.queryKey({ organisationId }) });
  const create = useMutation(
    trpc.organisations.createApiKey.mutationOptions({
      onSuccess: async (key) => {
        await invalidate();
        setCreated(key.key);
        setName("");
      },
    }),
  );
  const revoke = useMutation(
    trpc.organisations.revokeApiKey.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("API key revoked");
        setRevoking(null);
      },
      onError: (error) => toast.error(error),
    }),
  );
  const error = formError(create.error);
  return (
    <section className="panel" aria-labelledby="api-keys-heading">
      <div className="panel-header">
        <h2 id="api-keys-heading">API keys</h2>
        <Button onClick={() => { setCreated(null); setOpen(true); }}>Create API key</Button>
      </div>
      <div className="panel-body">
        <p className="muted" style={{ marginTop: 0 }}>
          Scripts call the admin API (tRPC at <code>/api/trpc</code>) with <code>Authorization: Api-Key &lt;key&gt;</code>. Keys act as an organisation admin.
        </p>
        {keys.isPending ? (
          <Loading />
        ) : keys.isError ? (
          <ErrorState error={keys.error} />
        ) : keys.data.length === 0 ? (
          <p className="muted">No API keys.</p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.data.map((key) => (
                <tr key={key.id}>
                  <td>{key.name}</td>
                  <td>
                    <code>{key.prefix}…</code>
                  </td>
                  <td className="muted">{formatDate(key.createdAt)}</td>
                  <td style={{ textAlign: "right" }}>
                    <Button className="btn-sm" variant="ghost" onClick={() => setRevoking({ id: key.id, name: key.name })}>
                      Revoke
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <Dialog
        open={open}
        title={created ? "API key created" : "New API key"}
        onClose={() => setOpen(false)}
        footer={
          created ? (
            <Button variant="primary" onClick={() => setOpen(false)}>
              Done
            </Button>
          ) : (
            <>
              <Button onClick={() => setOpen(false)}>Cancel</Button>
              <Button variant="primary" type="submit" form="new-api-key" busy={create.isPending}>
                Create key
              </Button>
            </>
          )
        }
      >
        {created ? (
          <div className="stack">
            <p className="notice">Copy this key now: it is shown only once.</p>
            <CopyField label="API key" value={created} />
          </div>
        ) : (
          <form
            id="new-api-key"
            className="stack"
            onSubmit={(event) => {
              event.preventDefault();
              create.mutate({ organisationId, name });
            }}
          >
            <TextInput label="Key name" name="name" value={name} onChange={(e) => setName(e.target.value)} error={error?.fieldErrors.name ?? (error && !error.fieldErrors.name ? error.message : undefined)} autoFocus placeholder="ci-pipeline" />
          </form>
        )}
      </Dialog>
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke API key"
        message={`Scripts using "${revoking?.name}" will lose access.`}
        confirmLabel="Revoke key"
        busy={revoke.isPending}
        onClose={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate({ organisationId, apiKeyId: revoking.id })}
      />
    </section>
  );
}
