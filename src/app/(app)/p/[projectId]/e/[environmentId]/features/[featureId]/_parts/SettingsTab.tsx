"use client";

import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { fieldError, formError, unplacedError } from "@/app/_components/errors";
import { parseTags } from "@/app/_components/feature-form";
import type { RouterOutputs } from "@/app/_components/types";
import { Button, Checkbox, ConfirmDialog, FormAlert, SettingRow, TextArea, TextInput, useToast } from "@/app/_components/ui";
import { useInvalidateFlags, useLeaveDeleted } from "@/app/_components/use-invalidate";
import { ValueEditor, draftOf, parseValue, type ValueDraft } from "@/app/_components/values";
import { useTRPC } from "@/app/_trpc/client";

type Feature = RouterOutputs["features"]["get"];

/** Name, description, tags, server-side only, defaults for new environments; archive; delete. */
export function SettingsTab({ feature, listHref }: { feature: Feature; listHref: string }) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const [name, setName] = useState(feature.name);
  const [description, setDescription] = useState(feature.description ?? "");
  const [tags, setTags] = useState(feature.tags.join(", "));
  const [serverKeyOnly, setServerKeyOnly] = useState(feature.isServerKeyOnly);
  const [defaultEnabled, setDefaultEnabled] = useState(feature.defaultEnabled);
  const [initialValue, setInitialValue] = useState<ValueDraft>(draftOf(feature.initialValue));
  const [submitted, setSubmitted] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);

  const update = useMutation(
    trpc.features.update.mutationOptions({
      onSuccess: async (after) => {
        await invalidate();
        toast.success(after.isArchived !== feature.isArchived ? `Feature ${after.isArchived ? "archived" : "unarchived"}` : "Feature saved");
      },
    }),
  );
  const archive = useMutation(
    trpc.features.update.mutationOptions({
      onSuccess: async (after) => {
        await invalidate();
        toast.success(`Feature ${after.isArchived ? "archived" : "unarchived"}`);
      },
      onError: (error) => toast.error(error),
    }),
  );
  const leave = useLeaveDeleted();
  const remove = useMutation(
    trpc.features.delete.mutationOptions({
      onSuccess: async () => {
        toast.success(`Feature "${feature.name}" deleted`);
        await leave({ featureId: feature.id }, listHref);
      },
      onError: (error) => toast.error(error),
    }),
  );
  const server = formError(update.error);
  const nameError = name.trim() === "" ? "Name is required" : undefined;
  const parsedValue = parseValue(initialValue);
  const edit = <T,>(set: (v: T) => void) => (v: T) => {
    if (update.error) update.reset();
    set(v);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (nameError || !parsedValue.ok) return;
    update.mutate({
      featureId: feature.id,
      name: name.trim(),
      description: description.trim() || null,
      tags: parseTags(tags),
      isServerKeyOnly: serverKeyOnly,
      defaultEnabled,
      initialValue: parsedValue.value,
    });
  };
  const top = unplacedError(server, "name", "description", "tags", "initialValue", "isServerKeyOnly", "defaultEnabled");

  return (
    <div className="stack">
      <form className="stack" onSubmit={submit} noValidate aria-label="Feature settings">
        <FormAlert message={top} />
        <div className="grid-2">
          <TextInput label="Name" value={name} onChange={(e) => edit(setName)(e.target.value)} error={(submitted ? nameError : undefined) ?? fieldError(server, "name")} hint="Renaming changes the key SDKs use." />
          <TextInput label="Tags" value={tags} onChange={(e) => edit(setTags)(e.target.value)} hint="Comma-separated" error={fieldError(server, "tags")} />
        </div>
        <TextArea label="Description" rows={2} value={description} onChange={(e) => edit(setDescription)(e.target.value)} error={fieldError(server, "description")} />
        <Checkbox label="Server-side only" checked={serverKeyOnly} onChange={(e) => edit(setServerKeyOnly)(e.target.checked)} hint="Only SDKs using a server-side key receive this flag." />
        <fieldset className="allocations">
          <legend>Defaults for new environments</legend>
          <Checkbox label="Enabled by default" checked={defaultEnabled} onChange={(e) => edit(setDefaultEnabled)(e.target.checked)} />
          <ValueEditor
            label="Initial value"
            draft={initialValue}
            onChange={edit(setInitialValue)}
            error={(submitted && !parsedValue.ok ? parsedValue.error : undefined) ?? fieldError(server, "initialValue")}
          />
        </fieldset>
        <div>
          <Button type="submit" variant="primary" busy={update.isPending}>
            Save settings
          </Button>
        </div>
      </form>
      <hr className="divider" />
      <SettingRow
        label={feature.isArchived ? "Archived" : "Archive"}
        help={feature.isArchived ? "Hidden from the feature list by default; still served to SDKs." : "Hide this feature from the list (SDKs still receive it)."}
      >
        <Button busy={archive.isPending} onClick={() => archive.mutate({ featureId: feature.id, isArchived: !feature.isArchived })}>
          {feature.isArchived ? "Unarchive" : "Archive feature"}
        </Button>
      </SettingRow>
      <SettingRow label="Delete this feature" help="Removes it from every environment, with its overrides and scheduled changes. This cannot be undone.">
        <Button variant="danger" onClick={() => setConfirmDelete(true)}>
          Delete feature
        </Button>
      </SettingRow>
      <ConfirmDialog
        open={confirmDelete}
        title="Delete feature"
        message={`Delete "${feature.name}" from every environment? SDKs stop receiving it.`}
        confirmLabel="Delete feature"
        busy={remove.isPending}
        onClose={() => setConfirmDelete(false)}
        onConfirm={() => remove.mutate({ featureId: feature.id })}
      />
    </div>
  );
}
