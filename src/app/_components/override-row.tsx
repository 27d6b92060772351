"use client";

/**
 * One override row for every override list: a feature's segment overrides and identity overrides
 * (feature page tabs) and an identity's overrides (identity page). A card with its target (a link),
 * optional leading parts (drag handle, priority) and actions (move buttons), a Remove button, and
 * the override's form: enabled and value (and, for segment overrides of a multivariate feature,
 * the split), saved together — after a confirmation in a protected environment.
 */
import { useState, type FormEvent, type LiHTMLAttributes, type ReactNode } from "react";
import { useMutation } from "@tanstack/react-query";
import { useTRPC } from "@/app/_trpc/client";
import { fieldError, formError, unplacedError } from "./errors";
import { useProtectedChange, type EnvironmentProtection } from "./protected-change";
import type { FlagValue } from "./types";
import { Button, FormAlert, Switch, useToast } from "./ui";
import { useInvalidateFlags } from "./use-invalidate";
import { AllocationsEditor, ValueEditor, allocationDraftsOf, draftOf, parseAllocations, parseValue, type AllocationDrafts, type ValueDraft, type VariationLike } from "./values";

type Allocation = { optionId: number; percentageAllocation: number };

export interface OverrideState {
  /** The override's feature state id. */
  id: number;
  enabled: boolean;
  value: FlagValue;
  /** Segment overrides of a multivariate feature: their own split. */
  allocations?: readonly Allocation[];
}

export interface OverrideRowProps extends Omit<LiHTMLAttributes<HTMLLIElement>, "children"> {
  kind: "segment" | "identity";
  override: OverrideState;
  /** What the override is for, in labels: the segment, the identifier, or (identity page) the feature. */
  name: string;
  /** The feature it overrides (confirmation text). */
  featureName: string;
  /** The target, usually a link to it. */
  target: ReactNode;
  testId: string;
  /** Before the target: drag handle, priority. */
  lead?: ReactNode;
  /** Before Remove: move buttons. */
  actions?: ReactNode;
  onRemove: () => void;
  /** The feature's variations (segment overrides of a multivariate feature edit their split). */
  options?: readonly VariationLike[];
  /** The environment's protection: saving asks first in a protected (or not yet known) one. */
  protection: EnvironmentProtection;
}

export function OverrideRow({ kind, override, name, featureName, target, testId, lead, actions, onRemove, options, protection, className, ...item }: OverrideRowProps) {
  return (
    <li {...item} className={`override-card ${className ?? ""}`} data-testid={testId}>
      <div className="override-head">
        {lead}
        <span className="override-name">{target}</span>
        <span className="row override-move">
          {actions}
          <Button type="button" variant="ghost" className="btn-sm" aria-label={`Remove override for ${name}`} onClick={onRemove}>
            Remove
          </Button>
        </span>
      </div>
      {/* Keyed by the saved state: a newer state from the server resets the form. */}
      <OverrideForm
        key={JSON.stringify([override.enabled, override.value, override.allocations ?? null])}
        kind={kind}
        override={override}
        name={name}
        featureName={featureName}
        options={kind === "segment" && options && options.length > 0 ? options : undefined}
        protection={protection}
      />
    </li>
  );
}

function useSaveOverride(kind: "segment" | "identity", name: string) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const onSuccess = async () => {
    await invalidate();
    toast.success(kind === "segment" ? `Override for "${name}" saved` : "Identity override saved");
  };
  const segment = useMutation(trpc.segmentOverrides.update.mutationOptions({ onSuccess }));
  const identity = useMutation(trpc.identities.updateOverride.mutationOptions({ onSuccess }));
  type Change = { featureStateId: number; enabled: boolean; value: FlagValue; allocations?: Allocation[] };
  return kind === "segment"
    ? { mutate: (change: Change) => segment.mutate(change), isPending: segment.isPending, error: segment.error, reset: segment.reset }
    : { mutate: ({ allocations: _allocations, ...change }: Change) => identity.mutate(change), isPending: identity.isPending, error: identity.error, reset: identity.reset };
}

function OverrideForm({
  kind,
  override,
  name,
  featureName,
  options,
  protection,
}: {
  kind: "segment" | "identity";
  override: OverrideState;
  name: string;
  featureName: string;
  options?: readonly VariationLike[];
  /** The environment's protection: saving asks first in a protected (or not yet known) one. */
  protection: EnvironmentProtection;
}) {
  const guard = useProtectedChange();
  const save = useSaveOverride(kind, name);
  const [enabled, setEnabled] = useState(override.enabled);
  const [value, setValue] = useState<ValueDraft>(draftOf(override.value));
  const [allocations, setAllocations] = useState<AllocationDrafts>(allocationDraftsOf(override.allocations ?? []));
  const [submitted, setSubmitted] = useState(false);
  const server = formError(save.error);
  const parsedValue = parseValue(value);
  const parsedAllocations = options ? parseAllocations(options, allocations) : null;
  const edit =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      if (save.error) save.reset();
      set(v);
    };
  const dirty =
    enabled !== override.enabled ||
    !parsedValue.ok ||
    JSON.stringify(parsedValue.value) !== JSON.stringify(override.value) ||
    (parsedAllocations !== null &&
      (!parsedAllocations.ok ||
        parsedAllocations.value.some((a) => (override.allocations?.find((o) => o.optionId === a.optionId)?.percentageAllocation ?? 0) !== a.percentageAllocation)));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (!parsedValue.ok || (parsedAllocations && !parsedAllocations.ok)) return;
    const change = { featureStateId: override.id, enabled, value: parsedValue.value, allocations: parsedAllocations?.ok ? parsedAllocations.value : undefined };
    void guard(protection.environment, `Save the override of ${featureName} for ${name}`, () => save.mutate(change), "Save override");
  };
  const top = unplacedError(server, "value", "allocations");
  return (
    <form className="stack override-form" onSubmit={submit} noValidate aria-label={`Override for ${name}`}>
      <FormAlert message={top} />
      <div className="override-fields">
        <div className="field">
          <span className="label-like">Enabled</span>
          <Switch label={`Enabled for ${name}`} checked={enabled} onChange={edit(setEnabled)} />
        </div>
        <ValueEditor
          label={options ? `Control value for ${name}` : `Value for ${name}`}
          draft={value}
          onChange={edit(setValue)}
          multiline={false}
          error={(submitted && !parsedValue.ok ? parsedValue.error : undefined) ?? fieldError(server, "value")}
        />
      </div>
      {options ? (
        <AllocationsEditor
          legend={`Split for ${name}`}
          options={options}
          drafts={allocations}
          onChange={edit(setAllocations)}
          error={(submitted && parsedAllocations && !parsedAllocations.ok ? parsedAllocations.error : undefined) ?? fieldError(server, "allocations")}
        />
      ) : null}
      <div>
        <Button type="submit" className="btn-sm" busy={save.isPending} disabled={!dirty || protection.checking}>
          Save override
        </Button>
      </div>
    </form>
  );
}
