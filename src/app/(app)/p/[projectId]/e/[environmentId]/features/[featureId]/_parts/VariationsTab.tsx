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
  const [value, setValue] = useState<ValueDraft>(draftOf(option.value));
  const [key, setKey] = useState(option.key ?? "");
  const [allocation, setAllocation] = useState(String(option.defaultPercentageAllocation));
  const [submitted, setSubmitted] = useState(false);
  const update = useMutation(
    trpc.features.updateOption.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("Variation saved");
      },
    }),
  );
  const server = formError(update.error);
  const parsedValue = parseValue(value);
  const parsedAllocation = parsePercent(allocation);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (!parsedValue.ok || !parsedAllocation.ok) return;
    update.mutate({ optionId: option.id, value: parsedValue.value, key: key.trim() || null, defaultPercentageAllocation: parsedAllocation.value });
  };
  const edit = <T,>(set: (v: T) => void) => (v: T) => {
    if (update.error) update.reset();
    set(v);
  };
  const top = unplacedError(server, "value", "key", "defaultPercentageAllocation");
  return (
    <li>
      <form className="variation-row" onSubmit={submit} noValidate aria-label={`Variation ${index + 1}`}>
        <ValueEditor
          label={`Variation ${index + 1} value`}
          draft={value}
          onChange={edit(setValue)}
          multiline={false}
          error={(submitted && !parsedValue.ok ? parsedValue.error : undefined) ?? fieldError(server, "value")}
        />
        <TextInput label="Key" value={key} placeholder="optional" onChange={(e) => edit(setKey)(e.target.value)} error={fieldError(server, "key")} />
        <TextInput
          label="Default allocation %"
          type="number"
          min={0}
          max={100}
          step="any"
          value={allocation}
          onChange={(e) => edit(setAllocation)(e.target.value)}
          error={(submitted && !parsedAllocation.ok ? parsedAllocation.error : undefined) ?? fieldError(server, "defaultPercentageAllocation")}
        />
        <div className="row variation-actions">
          <Button type="submit" className="btn-sm" busy={update.isPending}>
            Save
          </Button>
          <Button type="button" variant="ghost" className="btn-sm" onClick={onRemove} aria-label={`Remove variation ${index + 1}`}>
            Remove
          </Button>
        </div>
      </form>
      <FormAlert message={top} />
    </li>
  );
}

function AddOption({ feature }: { feature: Feature }) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const [value, setValue] = useState<ValueDraft>({ ...EMPTY_DRAFT });
  const [key, setKey] = useState("");
  const [allocation, setAllocation] = useState("0");
  const [submitted, setSubmitted] = useState(false);
  const add = useMutation(
    trpc.features.addOption.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("Variation added");
        setValue({ ...EMPTY_DRAFT });
        setKey("");
        setAllocation("0");
        setSubmitted(false);
      },
    }),
  );
  const server = formError(add.error);
  const parsedValue = parseValue(value);
  const parsedAllocation = parsePercent(allocation);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (!parsedValue.ok || !parsedAllocation.ok) return;
    add.mutate({ featureId: feature.id, value: parsedValue.value, key: key.trim() || null, defaultPercentageAllocation: parsedAllocation.value });
  };
  const edit = <T,>(set: (v: T) => void) => (v: T) => {
    if (add.error) add.reset();
    set(v);
  };
  const top = unplacedError(server, "value", "key", "defaultPercentageAllocation");
  return (
    <form className="panel-inset stack" onSubmit={submit} noValidate aria-labelledby="add-variation-heading">
      <h3 id="add-variation-heading">Add a variation</h3>
      <FormAlert message={top} />
      <div className="variation-row">
        <ValueEditor
          label="New variation value"
          draft={value}
          onChange={edit(setValue)}
          multiline={false}
          error={(submitted && !parsedValue.ok ? parsedValue.error : undefined) ?? fieldError(server, "value")}
        />
        <TextInput label="New variation key" value={key} placeholder="optional" onChange={(e) => edit(setKey)(e.target.value)} error={fieldError(server, "key")} />
        <TextInput
          label="New variation allocation %"
          hint="Added to every environment's split"
          type="number"
          min={0}
          max={100}
          step="any"
          value={allocation}
          onChange={(e) => edit(setAllocation)(e.target.value)}
          error={(submitted && !parsedAllocation.ok ? parsedAllocation.error : undefined) ?? fieldError(server, "defaultPercentageAllocation")}
        />
        <div className="row variation-actions">
          <Button type="submit" variant="primary" busy={add.isPending}>
            Add variation
          </Button>
        </div>
      </div>
    </form>
  );
}
