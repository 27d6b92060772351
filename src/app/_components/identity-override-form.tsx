"use client";

import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { useTRPC } from "@/app/_trpc/client";
import { fieldError, formError, unplacedError } from "./errors";
import type { FlagValue } from "./types";
import { Button, ConfirmDialog, Switch, useToast } from "./ui";
import { useInvalidateFlags } from "./use-invalidate";
import { ValueEditor, draftOf, parseValue, type ValueDraft } from "./values";

/** State and confirmation dialog for removing one identity override (from a feature or an identity page). */
export function useRemoveIdentityOverride() {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const [target, setTarget] = useState<{ id: number; featureName: string; identifier: string } | null>(null);
  const remove = useMutation(
    trpc.identities.deleteOverride.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("Identity override removed");
        setTarget(null);
      },
      onError: (error) => toast.error(error),
    }),
  );
  const dialog = (
    <ConfirmDialog
      open={target !== null}
      title="Remove identity override"
      message={`Stop overriding "${target?.featureName}" for "${target?.identifier}"?`}
      confirmLabel="Remove override"
      busy={remove.isPending}
      onClose={() => setTarget(null)}
      onConfirm={() => target && remove.mutate({ featureStateId: target.id })}
    />
  );
  return { ask: setTarget, dialog };
}

/** Enabled + value of one identity override, saved together. */
export function IdentityOverrideForm({ override }: { override: { id: number; enabled: boolean; value: FlagValue; featureName?: string; identifier?: string } }) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const [enabled, setEnabled] = useState(override.enabled);
  const [value, setValue] = useState<ValueDraft>(draftOf(override.value));
  const [submitted, setSubmitted] = useState(false);
  const name = override.identifier ?? override.featureName ?? "override";
  const update = useMutation(
    trpc.identities.updateOverride.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("Identity override saved");
      },
    }),
  );
  const server = formError(update.error);
  const parsedValue = parseValue(value);
  const dirty = enabled !== override.enabled || !parsedValue.ok || JSON.stringify(parsedValue.value) !== JSON.stringify(override.value);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (!parsedValue.ok) return;
    update.mutate({ featureStateId: override.id, enabled, value: parsedValue.value });
  };
  const top = unplacedError(server, "value");
  return (
    <form className="inline-override" onSubmit={submit} noValidate aria-label={`Override for ${name}`}>
      <Switch
        label={`Enabled for ${name}`}
        checked={enabled}
        onChange={(next) => {
          update.reset();
          setEnabled(next);
        }}
      />
      <ValueEditor
        label={`Value for ${name}`}
        draft={value}
        multiline={false}
        onChange={(draft) => {
          update.reset();
          setValue(draft);
        }}
        error={(submitted && !parsedValue.ok ? parsedValue.error : undefined) ?? fieldError(server, "value") ?? top}
      />
      <Button type="submit" className="btn-sm" busy={update.isPending} disabled={!dirty}>
        Save
      </Button>
    </form>
  );
}
