"use client";

import { useRouter } from "@/app/_components/navigation";
import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Badge, Button, ConfirmDialog, CopyField, DangerZone, ErrorState, FormAlert, Loading, PageHeader, SettingRow, Switch, TextArea, TextInput, formatDate, useToast } from "@/app/_components/ui";
import { fieldError, formError, unplacedError } from "@/app/_components/errors";
import { SecretKeys } from "@/app/_components/secret-keys";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";
import { plural } from "@/server/text";

export default function EnvironmentSettingsPage() {
  const trpc = useTRPC();
  const { projectId, environmentId: routeEnvironmentId } = useRouteIds();
  const environmentId = routeEnvironmentId ?? 0;
  const environment = useQuery(trpc.environments.get.queryOptions({ environmentId }));

  if (environment.isPending) return <Loading />;
  if (environment.isError) return <ErrorState error={environment.error} retry={() => environment.refetch()} />;
  const env = environment.data;
  return (
    <>
      <PageHeader title="Environment settings" subtitle={`${env.name} — SDK keys and evaluation settings`} />
      <KeysPanel environmentId={environmentId} clientKey={env.apiKey} />
      <GeneralPanel key={`${env.name}\u0000${env.description ?? ""}`} env={env} />
      <ClonePanel environmentId={environmentId} projectId={projectId ?? 0} name={env.name} />
      <DocumentPanel environmentId={environmentId} />
      <DangerPanel environmentId={environmentId} projectId={projectId ?? 0} name={env.name} />
    </>
  );
}

function KeysPanel({ environmentId, clientKey }: { environmentId: number; clientKey: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const keys = useQuery(trpc.environments.serverKeys.queryOptions({ environmentId }));
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.environments.serverKeys.queryKey({ environmentId }) });
  const create = useMutation(trpc.environments.createServerKey.mutationOptions({ onSuccess: () => invalidate() }));
  const revoke = useMutation(
    trpc.environments.revokeServerKey.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("Server-side key revoked");
      },
      onError: (error) => toast.error(error),
    }),
  );
  return (
    <section className="panel" aria-labelledby="keys-heading">
      <div className="panel-header">
        <h2 id="keys-heading">SDK keys</h2>
      </div>
      <div className="panel-body stack">
        <CopyField label="Client-side environment key" value={clientKey} />
        <p className="muted small" style={{ margin: 0 }}>
          Safe to ship in browsers and apps. Server-side keys (<code>ser.…</code>) also unlock the environment document for local evaluation and flagd; keep them secret.
        </p>
        <SecretKeys
          noun="Server-side key"
          placeholder="backend-service"
          keys={keys}
          onCreate={async (name) => (await create.mutateAsync({ environmentId, name })).key}
          create={create}
          onRevoke={(serverKeyId) => revoke.mutateAsync({ environmentId, serverKeyId })}
          revoking={revoke.isPending}
          revokeWarning={(name) => `Applications using "${name}" will stop receiving flags.`}
        />
      </div>
    </section>
  );
}

type Env = {
  id: number;
  name: string;
  description: string | null;
  allowClientTraits: boolean;
  hideDisabledFlags: boolean | null;
  useIdentityCompositeKeyForHashing: boolean;
  useIdentityOverridesInLocalEval: boolean;
  hideSensitiveData: boolean;
  isProtected: boolean;
};

function GeneralPanel({ env }: { env: Env }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [name, setName] = useState(env.name);
  const [description, setDescription] = useState(env.description ?? "");
  const [submitted, setSubmitted] = useState(false);
  const update = useMutation(
    trpc.environments.update.mutationOptions({
      onSuccess: async (_result, variables) => {
        await queryClient.invalidateQueries({ queryKey: trpc.environments.get.queryKey({ environmentId: env.id }) });
        await queryClient.invalidateQueries({ queryKey: trpc.environments.list.queryKey() });
        await queryClient.invalidateQueries({ queryKey: trpc.documents.pathKey() });
        toast.success(variables.name !== undefined ? "Environment updated" : "Setting saved");
      },
      // The name form shows its errors in place; a toggle has no place but a toast.
      onError: (error, variables) => {
        if (variables.name === undefined) toast.error(error);
      },
    }),
  );
  const formSubmitted = update.variables?.name !== undefined;
  const error = formSubmitted ? formError(update.error) : null;
  const nameError = name.trim() === "" ? "Name is required" : undefined;
  const toggle = (field: keyof Env, value: boolean | null) => update.mutate({ environmentId: env.id, [field]: value });
  const edit = (set: (value: string) => void) => (value: string) => {
    if (error) update.reset();
    set(value);
  };
  return (
    <section className="panel" aria-labelledby="general-heading">
      <div className="panel-header">
        <h2 id="general-heading">General</h2>
      </div>
      <div className="panel-body stack">
        <form
          className="stack"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            setSubmitted(true);
            if (nameError) return;
            update.mutate({ environmentId: env.id, name: name.trim(), description: description.trim() || null });
          }}
        >
          <FormAlert message={unplacedError(error, "name", "description")} />
          <div className="grid-2">
            <TextInput label="Name" name="name" value={name} onChange={(e) => edit(setName)(e.target.value)} error={(submitted ? nameError : undefined) ?? fieldError(error, "name")} />
            <TextArea label="Description" name="description" value={description} onChange={(e) => edit(setDescription)(e.target.value)} rows={2} error={fieldError(error, "description")} />
          </div>
          <div>
            <Button type="submit" variant="primary" busy={update.isPending && formSubmitted}>
              Save
            </Button>
          </div>
        </form>
        <hr className="divider" />
        <p className="muted small" style={{ margin: 0 }}>
          These settings apply as soon as you switch them.
        </p>
        <SettingRow
          label="Protected environment"
          help="Toggles and value changes here ask for confirmation first (for Production, say). Every change is still audited; SDKs are not affected."
        >
          <Switch label="Protected environment" checked={env.isProtected} disabled={update.isPending} onChange={(v) => toggle("isProtected", v)} />
        </SettingRow>
        <SettingRow label="Hide disabled flags" help="SDKs receive only enabled flags from this environment. Unless set here, the project's setting applies.">
          <select
            className="input"
            style={{ width: "auto" }}
            aria-label="Hide disabled flags"
            value={env.hideDisabledFlags === null ? "project" : env.hideDisabledFlags ? "hide" : "show"}
            disabled={update.isPending}
            onChange={(e) => toggle("hideDisabledFlags", e.target.value === "project" ? null : e.target.value === "hide")}
          >
            <option value="project">Use the project setting</option>
            <option value="hide">Hide</option>
            <option value="show">Show</option>
          </select>
        </SettingRow>
        <SettingRow label="Allow client-side traits" help="Client-side keys may set identity traits. Turn off to accept traits only from server-side keys.">
          <Switch label="Allow client-side traits" checked={env.allowClientTraits} disabled={update.isPending} onChange={(v) => toggle("allowClientTraits", v)} />
        </SettingRow>
        <SettingRow label="Use identity composite key for hashing" help="Percentage splits hash the environment key and identifier (the same in every SDK). Off: the identity's internal id.">
          <Switch
            label="Use identity composite key for hashing"
            checked={env.useIdentityCompositeKeyForHashing}
            disabled={update.isPending}
            onChange={(v) => toggle("useIdentityCompositeKeyForHashing", v)}
          />
        </SettingRow>
        <SettingRow label="Identity overrides in local evaluation" help="Include identity overrides in the environment document served to local-evaluation SDKs.">
          <Switch
            label="Identity overrides in local evaluation"
            checked={env.useIdentityOverridesInLocalEval}
            disabled={update.isPending}
            onChange={(v) => toggle("useIdentityOverridesInLocalEval", v)}
          />
        </SettingRow>
        <SettingRow label="Hide sensitive data" help="SDK responses omit ids, descriptions and traits.">
          <Switch label="Hide sensitive data" checked={env.hideSensitiveData} disabled={update.isPending} onChange={(v) => toggle("hideSensitiveData", v)} />
        </SettingRow>
      </div>
    </section>
  );
}

function DangerPanel({ environmentId, projectId, name }: { environmentId: number; projectId: number; name: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [open, setOpen] = useState(false);
  const remove = useMutation(
    trpc.environments.delete.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.environments.list.queryKey() });
        toast.success(`Environment "${name}" deleted`);
        router.push(`/p/${projectId}/environments`);
      },
      onError: (error) => toast.error(error),
    }),
  );
  return (
    <DangerZone
      id="danger-heading"
      title="Delete this environment"
      description="Its SDK keys stop working within seconds (each web process remembers a key briefly). This cannot be undone."
      action="Delete environment"
      onAction={() => setOpen(true)}
    >
      <ConfirmDialog
        open={open}
        title="Delete environment"
        message={`Delete "${name}" with all its flag states, identities and keys?`}
        confirmLabel="Delete environment"
        busy={remove.isPending}
        onClose={() => setOpen(false)}
        onConfirm={() => remove.mutate({ environmentId })}
      />
    </DangerZone>
  );
}

/** Copies this environment (settings, flag states, segment overrides) into a new one, then opens it. */
function ClonePanel({ environmentId, projectId, name }: { environmentId: number; projectId: number; name: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [cloneName, setCloneName] = useState("");
  const [submitted, setSubmitted] = useState(false);
  const clone = useMutation(
    trpc.environments.clone.mutationOptions({
      onSuccess: async (created) => {
        await queryClient.invalidateQueries({ queryKey: trpc.environments.list.queryKey() });
        await queryClient.invalidateQueries({ queryKey: trpc.audit.pathKey() });
        toast.success(`Environment "${created.name}" created from "${name}"`);
        router.push(`/p/${projectId}/e/${created.id}/features`);
      },
    }),
  );
  const server = formError(clone.error);
  const nameError = cloneName.trim() === "" ? "Name the new environment" : undefined;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (nameError) return;
    clone.mutate({ environmentId, name: cloneName.trim() });
  };
  return (
    <section className="panel" aria-labelledby="clone-heading">
      <div className="panel-header">
        <h2 id="clone-heading">Clone environment</h2>
      </div>
      <form className="panel-body stack" onSubmit={submit} noValidate>
        <p className="muted small" style={{ margin: 0 }}>
          Creates a new environment with this one&apos;s settings, flag values, segment overrides and identity overrides (with those identities), and new SDK keys.
        </p>
        <FormAlert message={unplacedError(server, "name")} />
        <div className="row" style={{ alignItems: "flex-start" }}>
          <div style={{ flex: "1 1 260px" }}>
            <TextInput
              label="New environment name"
              value={cloneName}
              placeholder={`${name} copy`}
              autoComplete="off"
              onChange={(e) => {
                clone.reset();
                setCloneName(e.target.value);
              }}
              error={(submitted ? nameError : undefined) ?? fieldError(server, "name")}
            />
          </div>
          <Button type="submit" variant="primary" busy={clone.isPending} style={{ marginTop: 24 }}>
            Clone environment
          </Button>
        </div>
      </form>
    </section>
  );
}

/** The published environment document: its revision, and the operators' "rebuild" repair action. */
function DocumentPanel({ environmentId }: { environmentId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [open, setOpen] = useState(false);
  const status = useQuery(trpc.documents.status.queryOptions({ environmentId }));
  const rebuild = useMutation(
    trpc.documents.rebuild.mutationOptions({
      onSuccess: async () => {
        setOpen(false);
        toast.success("Rebuild requested: a fresh document is being written");
        await queryClient.invalidateQueries({ queryKey: trpc.documents.pathKey() });
        await queryClient.invalidateQueries({ queryKey: trpc.audit.pathKey() });
        // The worker writes it shortly; look again in a moment.
        setTimeout(() => void queryClient.invalidateQueries({ queryKey: trpc.documents.pathKey() }), 2000);
      },
      onError: (error) => toast.error(error),
    }),
  );
  return (
    <section className="panel" aria-labelledby="document-heading">
      <div className="panel-header">
        <h2 id="document-heading">Environment document</h2>
      </div>
      <div className="panel-body stack">
        <div className="small">
          {status.isPending ? (
            <span className="muted">Checking the published document…</span>
          ) : status.isError ? (
            <span className="field-error">{status.error.message}</span>
          ) : status.data.stored ? (
            <span className="row">
              {status.data.upToDate ? <Badge tone="success">up to date</Badge> : <Badge tone="warning">update pending</Badge>}
              <span className="muted">
                revision {status.data.stored.revision} of {status.data.environmentRevision ?? "?"} · written {formatDate(status.data.stored.writtenAt)} · {plural(status.data.stored.featureStatesCount, "flag")} ·{" "}
                {Math.round(status.data.stored.bytes / 102.4) / 10} KB
              </span>
            </span>
          ) : (
            <span className="row">
              <Badge tone="warning">not written yet</Badge>
            </span>
          )}
        </div>
        <SettingRow label="Rebuild environment document" help="Repair action: rewrites the document SDKs and flagd read, from the current flags. Safe to run; changes nothing else.">
          <Button onClick={() => setOpen(true)}>Rebuild document</Button>
        </SettingRow>
      </div>
      <ConfirmDialog
        open={open}
        title="Rebuild environment document"
        message="Write a fresh environment document from the current flags? SDKs pick it up on their next poll."
        confirmLabel="Rebuild document"
        busy={rebuild.isPending}
        onClose={() => setOpen(false)}
        onConfirm={() => rebuild.mutate({ environmentId })}
      />
    </section>
  );
}
