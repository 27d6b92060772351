"use client";

/**
 * The "New feature" form: name, description, type, default enabled, initial value, server-key-only,
 * tags and (multivariate) variations with their default allocations. Checks run as the user types
 * (allocation sum) or on submit; the server's field errors show next to their fields.
 */
import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "@/app/_trpc/client";
import { fieldError, formError, unplacedError } from "./errors";
import { Button, Checkbox, FormAlert, Select, TextArea, TextInput } from "./ui";
import { AllocationBar, EMPTY_DRAFT, ValueEditor, allocationSumProblem, parsePercent, parseValue, type ValueDraft } from "./values";
import type { RouterOutputs } from "./types";

type CreatedFeature = RouterOutputs["features"]["create"];

interface VariationDraft {
  uid: number;
  value: ValueDraft;
  key: string;
  allocation: string;
}

/** Tags typed as a comma-separated list. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(",").map((tag) => tag.trim()).filter(Boolean))];
}

let nextUid = 1;
const newVariation = (): VariationDraft => ({ uid: nextUid++, value: { ...EMPTY_DRAFT }, key: "", allocation: "0" });

export function NewFeatureForm({ projectId, formId, onCreated, onPendingChange }: { projectId: number; formId: string; onCreated: (feature: CreatedFeature) => void; onPendingChange?: (pending: boolean) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [type, setType] = useState<"STANDARD" | "MULTIVARIATE">("STANDARD");
  const [defaultEnabled, setDefaultEnabled] = useState(false);
  const [value, setValue] = useState<ValueDraft>({ ...EMPTY_DRAFT });
  const [serverKeyOnly, setServerKeyOnly] = useState(false);
  const [tags, setTags] = useState("");
  const [variations, setVariations] = useState<VariationDraft[]>([]);
  const [submitted, setSubmitted] = useState(false);

  const create = useMutation(
    trpc.features.create.mutationOptions({
      onMutate: () => onPendingChange?.(true),
      onSettled: () => onPendingChange?.(false),
      onSuccess: async (feature) => {
        await queryClient.invalidateQueries({ queryKey: trpc.features.pathKey() });
        await queryClient.invalidateQueries({ queryKey: trpc.audit.pathKey() });
        onCreated(feature);
      },
    }),
  );
  const server = formError(create.error);

  // Client-side checks (shown once the form was submitted, except the live allocation sum).
  const nameError = name.trim() === "" ? "Name is required" : undefined;
  const parsedValue = parseValue(value);
  const variationErrors = variations.map((variation) => {
    const parsed = parseValue(variation.value);
    const percent = parsePercent(variation.allocation);
    return { value: parsed.ok ? undefined : parsed.error, allocation: percent.ok ? undefined : percent.error };
  });
  const sumProblem = type === "MULTIVARIATE" ? allocationSumProblem(variations.map((v) => Number(v.allocation))) : null;
  const keys = variations.map((v) => v.key.trim()).filter(Boolean);
  const duplicateKeys = new Set(keys).size !== keys.length ? "Variant keys must be unique" : null;
  const hasClientErrors =
    !!nameError || !parsedValue.ok || (type === "MULTIVARIATE" && (variationErrors.some((e) => e.value || e.allocation) || !!sumProblem || !!duplicateKeys));

  const change = <T,>(set: (value: T) => void) => (value: T) => {
    if (create.error) create.reset();
    set(value);
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (hasClientErrors || !parsedValue.ok) return;
    create.mutate({
      projectId,
      name: name.trim(),
      description: description.trim() || null,
      type,
      defaultEnabled,
      initialValue: parsedValue.value,
      isServerKeyOnly: serverKeyOnly,
      tags: parseTags(tags),
      options:
        type === "MULTIVARIATE"
          ? variations.map((variation) => {
              const parsed = parseValue(variation.value);
              return { value: parsed.ok ? parsed.value : null, key: variation.key.trim() || null, defaultPercentageAllocation: Number(variation.allocation) };
            })
          : undefined,
    });
  };

  const updateVariation = (uid: number, patch: Partial<VariationDraft>) => change(setVariations)(variations.map((v) => (v.uid === uid ? { ...v, ...patch } : v)));
  const top = unplacedError(server, "name", "description", "initialValue", "tags", "options", "type");

  return (
    <form id={formId} onSubmit={submit} className="stack" noValidate>
      <FormAlert message={top} />
      <TextInput
        label="Name"
        name="name"
        value={name}
        onChange={(e) => change(setName)(e.target.value)}
        error={(submitted ? nameError : undefined) ?? fieldError(server, "name")}
        hint="Used by SDKs to look the flag up, e.g. new_checkout"
        autoFocus
        autoComplete="off"
        placeholder="new_checkout"
      />
      <TextArea label="Description" name="description" rows={2} value={description} onChange={(e) => change(setDescription)(e.target.value)} error={fieldError(server, "description")} />
      <div className="grid-2">
        <Select label="Type" value={type} onChange={(e) => change(setType)(e.target.value as "STANDARD" | "MULTIVARIATE")} error={fieldError(server, "type")}>
          <option value="STANDARD">Standard (on/off + value)</option>
          <option value="MULTIVARIATE">Multivariate (A/B variations)</option>
        </Select>
        <TextInput label="Tags" value={tags} onChange={(e) => change(setTags)(e.target.value)} hint="Comma-separated, e.g. checkout, beta" error={fieldError(server, "tags")} />
      </div>
      <ValueEditor
        label={type === "MULTIVARIATE" ? "Control value" : "Initial value"}
        draft={value}
        onChange={change(setValue)}
        error={(submitted && !parsedValue.ok ? parsedValue.error : undefined) ?? fieldError(server, "initialValue")}
        hint="The value in every environment until you change it there."
      />
      <Checkbox label="Enabled by default" checked={defaultEnabled} onChange={(e) => change(setDefaultEnabled)(e.target.checked)} hint="New environments start with the flag on." />
      <Checkbox
        label="Server-side only"
        checked={serverKeyOnly}
        onChange={(e) => change(setServerKeyOnly)(e.target.checked)}
        hint="Only SDKs using a server-side key receive this flag."
      />
      {type === "MULTIVARIATE" ? (
        <fieldset className={`allocations ${sumProblem || fieldError(server, "options") ? "allocations-invalid" : ""}`}>
          <legend>Variations</legend>
          {variations.length === 0 ? <p className="muted small">Add the values to split traffic between. The control value takes the remaining percentage.</p> : null}
          {variations.map((variation, index) => (
            <div className="variation-row" key={variation.uid} role="group" aria-label={`Variation ${index + 1}`}>
              <ValueEditor
                label={`Variation ${index + 1} value`}
                draft={variation.value}
                onChange={(draft) => updateVariation(variation.uid, { value: draft })}
                error={submitted ? variationErrors[index].value : undefined}
                multiline={false}
              />
              <TextInput label="Key" value={variation.key} placeholder="optional" onChange={(e) => updateVariation(variation.uid, { key: e.target.value })} />
              <TextInput
                label="Allocation %"
                type="number"
                min={0}
                max={100}
                step="any"
                value={variation.allocation}
                onChange={(e) => updateVariation(variation.uid, { allocation: e.target.value })}
                error={submitted ? variationErrors[index].allocation : undefined}
              />
              <Button type="button" variant="ghost" className="btn-sm remove" aria-label={`Remove variation ${index + 1}`} onClick={() => change(setVariations)(variations.filter((v) => v.uid !== variation.uid))}>
                Remove
              </Button>
            </div>
          ))}
          {variations.length > 0 ? <AllocationBar parts={variations.map((v, i) => ({ label: v.key.trim() || (v.value.kind === "none" ? "none" : v.value.text.trim()) || `Variation ${i + 1}`, percentage: Number(v.allocation) }))} /> : null}
          {sumProblem || duplicateKeys || fieldError(server, "options") ? (
            <p className="field-error" role="alert">
              {sumProblem ?? duplicateKeys ?? fieldError(server, "options")}
            </p>
          ) : null}
          <div>
            <Button type="button" onClick={() => change(setVariations)([...variations, newVariation()])}>
              Add variation
            </Button>
          </div>
        </fieldset>
      ) : null}
    </form>
  );
}
