"use client";

import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { fieldError, formError, unplacedError } from "@/app/_components/errors";
import type { RouterOutputs } from "@/app/_components/types";
import { Button, ConfirmDialog, EmptyState, FormAlert, TextInput, useToast } from "@/app/_components/ui";
import { useInvalidateFlags } from "@/app/_components/use-invalidate";
import { AllocationBar, EMPTY_DRAFT, ValueEditor, draftOf, parsePercent, parseValue, variationLabel, type ValueDraft } from "@/app/_components/values";
import { useTRPC } from "@/app/_trpc/client";

type Feature = RouterOutputs["features"]["get"];
type Option = Feature["options"][number];

/** The feature's multivariate options: add, edit value / key / default allocation, remove. */
export function VariationsTab({ feature }: { feature: Feature }) {
  const [removing, setRemoving] = useState<Option | null>(null);
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const remove = useMutation(
    trpc.features.deleteOption.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("Variation removed");
        setRemoving(null);
      },
      onError: (error) => toast.error(error),
    }),
  );
  return (
    <div className="stack">
      <p className="muted" style={{ margin: 0 }}>
        Variations split identities between values. The default allocation applies to environments created later; each environment&apos;s split is edited on
        the Value tab (and per segment override).
      </p>
      {feature.options.length === 0 ? (
        <EmptyState title="No variations">Add a variation to turn this feature into a multivariate (A/B) flag.</EmptyState>
      ) : (
        <>
          <AllocationBar parts={feature.options.map((o) => ({ label: variationLabel(o), percentage: o.defaultPercentageAllocation }))} />
          <ol className="plain-list stack" aria-label="Variations">
            {feature.options.map((option, index) => (
              <OptionRow key={`${option.id}:${JSON.stringify(option)}`} option={option} index={index} onRemove={() => setRemoving(option)} />
            ))}
          </ol>
        </>
      )}
      <AddOption feature={feature} />
      <ConfirmDialog
        open={removing !== null}
        title="Remove variation"
        message={`Remove the variation ${removing ? variationLabel(removing) : ""}? Its share goes back to the control value in every environment.`}
        confirmLabel="Remove variation"
        busy={remove.isPending}
        onClose={() => setRemoving(null)}
        onConfirm={() => removing && remove.mutate({ optionId: removing.id })}
      />
    </div>
  );
}

function OptionRow({ option, index, onRemove }: { option: Option; index: number; onRemove: () => void }) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const draft = useVariationDraft({ value: draftOf(option.value), key: option.key ?? "", allocation: String(option.defaultPercentageAllocation) });
  const update = useMutation(
    trpc.features.updateOption.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("Variation saved");
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input = draft.submit();
    if (input) update.mutate({ optionId: option.id, ...input });
  };
  return (
    <li>
      <form className="variation-row" onSubmit={submit} noValidate aria-label={`Variation ${index + 1}`}>
        {draft.fields(update, { value: `Variation ${index + 1} value`, key: "Key", allocation: "Default allocation %" })}
        <div className="row variation-actions">
          <Button type="submit" className="btn-sm" busy={update.isPending}>
            Save
          </Button>
          <Button type="button" variant="ghost" className="btn-sm" onClick={onRemove} aria-label={`Remove variation ${index + 1}`}>
            Remove
          </Button>
        </div>
      </form>
      <FormAlert message={draft.topError(update)} />
    </li>
  );
}

const NEW_VARIATION = { value: EMPTY_DRAFT, key: "", allocation: "0" };

function AddOption({ feature }: { feature: Feature }) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const draft = useVariationDraft(NEW_VARIATION);
  const add = useMutation(
    trpc.features.addOption.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("Variation added");
        draft.clear();
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input = draft.submit();
    if (input) add.mutate({ featureId: feature.id, ...input });
  };
  return (
    <form className="panel-inset stack" onSubmit={submit} noValidate aria-labelledby="add-variation-heading">
      <h3 id="add-variation-heading">Add a variation</h3>
      <FormAlert message={draft.topError(add)} />
      <div className="variation-row">
        {draft.fields(add, { value: "New variation value", key: "New variation key", allocation: "New variation allocation %", allocationHint: "Added to every environment's split" })}
        <div className="row variation-actions">
          <Button type="submit" variant="primary" busy={add.isPending}>
            Add variation
          </Button>
        </div>
      </div>
    </form>
  );
}

/**
 * Value, key and default allocation of a variation being edited or added: the drafts, their
 * parsing, and the three fields (client errors once submitted, else the server's, cleared on edit).
 */
function useVariationDraft(initial: { value: ValueDraft; key: string; allocation: string }) {
  const [value, setValue] = useState<ValueDraft>({ ...initial.value });
  const [key, setKey] = useState(initial.key);
  const [allocation, setAllocation] = useState(initial.allocation);
  const [submitted, setSubmitted] = useState(false);
  const parsedValue = parseValue(value);
  const parsedAllocation = parsePercent(allocation);
  type Mutation = { error: unknown; reset: () => void };
  return {
    /** Marks the form submitted; the option input, or null while a field is invalid. */
    submit: () => {
      setSubmitted(true);
      if (!parsedValue.ok || !parsedAllocation.ok) return null;
      return { value: parsedValue.value, key: key.trim() || null, defaultPercentageAllocation: parsedAllocation.value };
    },
    /** Back to the initial drafts. */
    clear: () => {
      setValue({ ...initial.value });
      setKey(initial.key);
      setAllocation(initial.allocation);
      setSubmitted(false);
    },
    /** The server's message when no field shows it. */
    topError: (mutation: Mutation) => unplacedError(formError(mutation.error), "value", "key", "defaultPercentageAllocation"),
    fields: (mutation: Mutation, labels: { value: string; key: string; allocation: string; allocationHint?: string }) => {
      const server = formError(mutation.error);
      const edit =
        <T,>(set: (v: T) => void) =>
        (v: T) => {
          if (mutation.error) mutation.reset();
          set(v);
        };
      return (
        <>
          <ValueEditor
            label={labels.value}
            draft={value}
            onChange={edit(setValue)}
            multiline={false}
            error={(submitted && !parsedValue.ok ? parsedValue.error : undefined) ?? fieldError(server, "value")}
          />
          <TextInput label={labels.key} value={key} placeholder="optional" onChange={(e) => edit(setKey)(e.target.value)} error={fieldError(server, "key")} />
          <TextInput
            label={labels.allocation}
            hint={labels.allocationHint}
            type="number"
            min={0}
            max={100}
            step="any"
            value={allocation}
            onChange={(e) => edit(setAllocation)(e.target.value)}
            error={(submitted && !parsedAllocation.ok ? parsedAllocation.error : undefined) ?? fieldError(server, "defaultPercentageAllocation")}
          />
        </>
      );
    },
  };
}
