"use client";

import Link from "next/link";
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { fieldError, formError, unplacedError } from "@/app/_components/errors";
import { EvaluationTable, refetchWhilePublishing } from "@/app/_components/evaluation";
import { useGate } from "@/app/_components/gates";
import { useRemoveIdentityOverride } from "@/app/_components/identity-override-form";
import { OverrideRow } from "@/app/_components/override-row";
import { useEnvironmentProtection, useProtectedChange, type EnvironmentProtection } from "@/app/_components/protected-change";
import type { RouterOutputs } from "@/app/_components/types";
import { Badge, Breadcrumb, Button, Checkbox, ConfirmDialog, ErrorState, FormAlert, Loading, PageHeader, Select, TextInput, formatDate, useToast } from "@/app/_components/ui";
import { useInvalidateFlags, useLeaveDeleted } from "@/app/_components/use-invalidate";
import { EMPTY_DRAFT, ValueEditor, draftOf, parseTraitValue, parseValue, type ValueDraft } from "@/app/_components/values";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";
import { plural } from "@/server/text";

type Identity = RouterOutputs["identities"]["get"];
type Trait = Identity["traits"][number];

/** Flagsmith's trait type names, as people read them. */
const TRAIT_TYPE_LABELS: Record<string, string> = { unicode: "text", int: "whole number", float: "number", bool: "boolean", none: "none" };

export default function IdentityPage() {
  const trpc = useTRPC();
  const toast = useToast();
  const leave = useLeaveDeleted();
  const { projectId: routeProjectId, environmentId: routeEnvironmentId, identityId: routeIdentityId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const environmentId = routeEnvironmentId ?? 0;
  const identityId = routeIdentityId ?? 0;
  const listHref = `/p/${projectId}/e/${environmentId}/identities`;
  const identity = useQuery(trpc.identities.get.queryOptions({ identityId }));
  const contextEvaluation = useGate("context_evaluation", { projectId });
  const [confirmDelete, setConfirmDelete] = useState(false);
  const remove = useMutation(
    trpc.identities.delete.mutationOptions({
      onSuccess: async () => {
        toast.success("Identity deleted");
        await leave({ identityId }, listHref);
      },
      onError: (error) => toast.error(error),
    }),
  );

  const breadcrumb = (name: string) => <Breadcrumb parent={{ href: listHref, label: "Identities" }} current={name} />;
  if (identity.isPending) return <Loading />;
  if (identity.isError) {
    return (
      <>
        {breadcrumb("Identity")}
        <ErrorState error={identity.error} retry={() => identity.refetch()} />
      </>
    );
  }
  const i = identity.data;
  return (
    <>
      {breadcrumb(i.identifier)}
      <PageHeader
        title={i.identifier}
        subtitle={`First seen ${formatDate(i.createdAt)}`}
        actions={
          <Button variant="danger" onClick={() => setConfirmDelete(true)}>
            Delete identity
          </Button>
        }
      />
      {contextEvaluation ? <EvaluationPanel identityId={identityId} projectId={projectId} environmentId={environmentId} /> : null}
      <TraitsPanel identity={i} />
      <OverridesPanel identity={i} projectId={projectId} environmentId={environmentId} />
      <ConfirmDialog
        open={confirmDelete}
        title="Delete identity"
        message={`Delete "${i.identifier}" with its traits and ${plural(i.overrides.length, "override")}? It is created again the next time an SDK identifies this user.`}
        confirmLabel="Delete identity"
        busy={remove.isPending}
        onClose={() => setConfirmDelete(false)}
        onConfirm={() => remove.mutate({ identityId })}
      />
    </>
  );
}

/** Every flag as SDKs receive it for this identity, with why, and its segments (computed by the server's engine). */
function EvaluationPanel({ identityId, projectId, environmentId }: { identityId: number; projectId: number; environmentId: number }) {
  const trpc = useTRPC();
  const evaluation = useQuery(trpc.sdk.evaluateIdentity.queryOptions({ identityId }, { refetchInterval: refetchWhilePublishing }));
  return (
    <section className="panel" aria-labelledby="evaluation-heading">
      <div className="panel-header">
        <h2 id="evaluation-heading">Flags for this identity</h2>
        <span className="muted small">What SDKs receive for it now (stored traits and overrides), and why.</span>
      </div>
      <div className="panel-body">
        {evaluation.isPending ? (
          <Loading label="Evaluating…" />
        ) : evaluation.isError ? (
          <ErrorState error={evaluation.error} retry={() => evaluation.refetch()} />
        ) : (
          <EvaluationTable view={evaluation.data} projectId={projectId} environmentId={environmentId} label="Flags for this identity" />
        )}
      </div>
    </section>
  );
}

function TraitsPanel({ identity }: { identity: Identity }) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const [deleting, setDeleting] = useState<Trait | null>(null);
  const remove = useMutation(
    trpc.identities.deleteTrait.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success(`Trait "${deleting?.key}" deleted`);
        setDeleting(null);
      },
      onError: (error) => toast.error(error),
    }),
  );
  return (
    <section className="panel" aria-labelledby="traits-heading">
      <div className="panel-header">
        <h2 id="traits-heading">Traits</h2>
        <span className="muted small">Segment rules compare these values.</span>
      </div>
      {identity.traits.length === 0 ? (
        <p className="panel-body muted" style={{ margin: 0 }}>
          No traits yet.
        </p>
      ) : (
        <table className="table table-cards" aria-label="Traits">
          <thead>
            <tr>
              <th>Trait</th>
              <th>Value</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {identity.traits.map((trait) => (
              <tr key={trait.key} data-testid={`trait-${trait.key}`}>
                <td className="cell-main">
                  <code>{trait.key}</code> <Badge title={`Flagsmith type: ${trait.type}`}>{TRAIT_TYPE_LABELS[trait.type] ?? trait.type}</Badge>
                </td>
                <td>
                  <TraitForm key={JSON.stringify(trait.value)} identityId={identity.id} trait={trait} />
                </td>
                <td className="cell-end" style={{ textAlign: "right" }}>
                  <Button variant="ghost" className="btn-sm" aria-label={`Delete trait ${trait.key}`} onClick={() => setDeleting(trait)}>
                    Delete
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="panel-body">
        <AddTrait identityId={identity.id} />
      </div>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete trait"
        message={`Delete the trait "${deleting?.key}"? Segments using it may stop matching this identity.`}
        confirmLabel="Delete trait"
        busy={remove.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() => deleting && remove.mutate({ identityId: identity.id, key: deleting.key })}
      />
    </section>
  );
}

function TraitForm({ identityId, trait }: { identityId: number; trait: Trait }) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const [value, setValue] = useState<ValueDraft>(draftOf(trait.value));
  const [submitted, setSubmitted] = useState(false);
  const save = useMutation(
    trpc.identities.setTrait.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success(`Trait "${trait.key}" saved`);
      },
    }),
  );
  const server = formError(save.error);
  const parsed = parseTraitValue(value);
  const dirty = !parsed.ok || JSON.stringify(parsed.value) !== JSON.stringify(trait.value);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (!parsed.ok) return;
    save.mutate({ identityId, key: trait.key, value: parsed.value });
  };
  return (
    <form className="inline-override" onSubmit={submit} noValidate aria-label={`Trait ${trait.key}`}>
      <ValueEditor
        label={`Value of ${trait.key}`}
        draft={value}
        multiline={false}
        onChange={(draft) => {
          save.reset();
          setValue(draft);
        }}
        error={(submitted && !parsed.ok ? parsed.error : undefined) ?? fieldError(server, "value") ?? unplacedError(server, "value")}
        hint={value.kind === "none" ? "Saving no value removes the trait." : undefined}
      />
      <Button type="submit" className="btn-sm" disabled={!dirty} busy={save.isPending}>
        Save
      </Button>
    </form>
  );
}

function AddTrait({ identityId }: { identityId: number }) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const [key, setKey] = useState("");
  const [value, setValue] = useState<ValueDraft>({ ...EMPTY_DRAFT });
  const [submitted, setSubmitted] = useState(false);
  const save = useMutation(
    trpc.identities.setTrait.mutationOptions({
      onSuccess: async (_traits, variables) => {
        await invalidate();
        toast.success(`Trait "${variables.key}" saved`);
        setKey("");
        setValue({ ...EMPTY_DRAFT });
        setSubmitted(false);
      },
    }),
  );
  const server = formError(save.error);
  const parsed = parseTraitValue(value);
  const keyError = key.trim() === "" ? "Trait key is required" : undefined;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (keyError || !parsed.ok) return;
    save.mutate({ identityId, key: key.trim(), value: parsed.value });
  };
  const top = unplacedError(server, "key", "value");
  return (
    <form className="panel-inset stack" onSubmit={submit} noValidate aria-labelledby="add-trait-heading">
      <h3 id="add-trait-heading">Add or update a trait</h3>
      <FormAlert message={top} />
      <div className="grid-2">
        <TextInput
          label="Trait key"
          value={key}
          placeholder="plan"
          autoComplete="off"
          onChange={(e) => {
            save.reset();
            setKey(e.target.value);
          }}
          error={(submitted ? keyError : undefined) ?? fieldError(server, "key")}
        />
        <ValueEditor
          label="Trait value"
          draft={value}
          multiline={false}
          onChange={(draft) => {
            save.reset();
            setValue(draft);
          }}
          error={(submitted && !parsed.ok ? parsed.error : undefined) ?? fieldError(server, "value")}
        />
      </div>
      <div>
        <Button type="submit" variant="primary" busy={save.isPending}>
          Save trait
        </Button>
      </div>
    </form>
  );
}

function OverridesPanel({ identity, projectId, environmentId }: { identity: Identity; projectId: number; environmentId: number }) {
  const removal = useRemoveIdentityOverride();
  const protection = useEnvironmentProtection(environmentId);
  return (
    <section className="panel" aria-labelledby="identity-overrides-heading">
      <div className="panel-header">
        <h2 id="identity-overrides-heading">Feature overrides</h2>
        <span className="muted small">This identity&apos;s own state of a feature beats segments and the environment value.</span>
      </div>
      {identity.overrides.length === 0 ? (
        <p className="panel-body muted" style={{ margin: 0 }}>
          No overrides for this identity.
        </p>
      ) : (
        <ul className="plain-list override-list panel-body" aria-label="Identity overrides">
          {identity.overrides.map((override) => (
            <OverrideRow
              key={override.id}
              kind="identity"
              override={override}
              name={override.featureName}
              featureName={override.featureName}
              testId={`identity-override-${override.featureName}`}
              target={<Link href={`/p/${projectId}/e/${environmentId}/features/${override.featureId}?tab=identities`}>{override.featureName}</Link>}
              protection={protection}
              onRemove={() => removal.ask({ id: override.id, featureName: override.featureName, identifier: identity.identifier })}
            />
          ))}
        </ul>
      )}
      <div className="panel-body">
        <AddOverride identity={identity} projectId={projectId} protection={protection} />
      </div>
      {removal.dialog}
    </section>
  );
}

/** Overrides a feature for this identity (asking first in a protected environment, or one not known yet). */
function AddOverride({ identity, projectId, protection }: { identity: Identity; projectId: number; protection: EnvironmentProtection }) {
  const trpc = useTRPC();
  const guard = useProtectedChange();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const features = useQuery(trpc.features.list.queryOptions({ projectId, archived: false }));
  const [featureId, setFeatureId] = useState("");
  const [enabled, setEnabled] = useState(true);
  const [value, setValue] = useState<ValueDraft>({ ...EMPTY_DRAFT });
  const [submitted, setSubmitted] = useState(false);
  const create = useMutation(
    trpc.identities.createOverride.mutationOptions({
      onSuccess: async (override) => {
        await invalidate();
        toast.success(`Override of "${override.featureName}" added`);
        setFeatureId("");
        setSubmitted(false);
      },
    }),
  );
  const server = formError(create.error);
  const taken = new Set(identity.overrides.map((o) => o.featureId));
  const available = (features.data ?? []).filter((f) => !taken.has(f.id));
  const parsed = parseValue(value);
  const featureError = featureId === "" ? "Choose a feature" : undefined;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (featureError || !parsed.ok) return;
    const name = available.find((f) => String(f.id) === featureId)?.name ?? "the feature";
    const input = { identityId: identity.id, featureId: Number(featureId), enabled, value: parsed.value };
    void guard(protection.environment, `Add an override of ${name} for identity "${identity.identifier}"`, () => create.mutate(input), "Add override");
  };
  const top = unplacedError(server, "featureId", "value");
  return (
    <form className="panel-inset stack" onSubmit={submit} noValidate aria-labelledby="add-identity-feature-override">
      <h3 id="add-identity-feature-override">Override a feature</h3>
      <FormAlert message={top} />
      <div className="grid-2">
        <Select
          label="Feature"
          value={featureId}
          onChange={(e) => {
            create.reset();
            setFeatureId(e.target.value);
            const feature = features.data?.find((f) => String(f.id) === e.target.value);
            if (feature) setValue(draftOf(feature.state?.value ?? feature.initialValue));
          }}
          error={(submitted ? featureError : undefined) ?? fieldError(server, "featureId")}
        >
          <option value="">{features.isPending ? "Loading features…" : "Choose a feature…"}</option>
          {available.map((feature) => (
            <option key={feature.id} value={feature.id}>
              {feature.name}
            </option>
          ))}
        </Select>
        <ValueEditor
          label="Override value"
          draft={value}
          multiline={false}
          onChange={(draft) => {
            create.reset();
            setValue(draft);
          }}
          error={(submitted && !parsed.ok ? parsed.error : undefined) ?? fieldError(server, "value")}
        />
      </div>
      <Checkbox label="Enabled for this identity" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
      <div>
        <Button type="submit" variant="primary" busy={create.isPending} disabled={protection.checking}>
          Add override
        </Button>
      </div>
    </form>
  );
}
