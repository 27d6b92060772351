"use client";

import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Button, ErrorState, Loading, PageHeader, Select, TextInput, useToast } from "@/app/_components/ui";
import { formError } from "@/app/_components/errors";
import { SecretKeys } from "@/app/_components/secret-keys";
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
  const [submitted, setSubmitted] = useState(false);
  const add = useMutation(
    trpc.organisations.addMember.mutationOptions({
      onSuccess: async (_result, variables) => {
        await queryClient.invalidateQueries({ queryKey: trpc.organisations.members.queryKey({ organisationId }) });
        toast.success(`${variables.email} added`);
        setEmail("");
        setSubmitted(false);
      },
    }),
  );
  const error = formError(add.error);
  const emailError = !/^\S+@\S+\.\S+$/.test(email.trim()) ? "Enter the email address of a registered user" : undefined;
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
                  <span className={`badge ${m.role === "ADMIN" ? "badge-primary" : ""}`}>{m.role === "ADMIN" ? "Admin" : "User"}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        className="panel-body row"
        style={{ alignItems: "flex-end", borderTop: "1px solid var(--border)" }}
        noValidate
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          setSubmitted(true);
          if (emailError || add.isPending) return;
          add.mutate({ organisationId, email: email.trim(), role });
        }}
      >
        <div style={{ flex: 2 }}>
          <TextInput
            label="Add an existing user by email"
            name="email"
            type="email"
            value={email}
            onChange={(e) => {
              if (add.error) add.reset();
              setEmail(e.target.value);
            }}
            error={(submitted ? emailError : undefined) ?? error?.fieldErrors.email ?? (error && !error.fieldErrors.email ? error.message : undefined)}
          />
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
