"use client";

import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { fieldError, formError, unplacedError } from "@/app/_components/errors";
import { useEnvironmentProtection, useProtectedChange } from "@/app/_components/protected-change";
import { ChangeSummary, useCancelScheduled } from "@/app/_components/scheduled";
import type { FlagValue, RouterOutputs } from "@/app/_components/types";
import { Button, Checkbox, ErrorState, FormAlert, Loading, Switch, TextInput, formatDate, useToast } from "@/app/_components/ui";
import { toLocalInput, useInvalidateFlags } from "@/app/_components/use-invalidate";
import { AllocationsEditor, ValueEditor, allocationDraftsOf, draftOf, parseAllocations, parseValue, type AllocationDrafts, type ValueDraft } from "@/app/_components/values";
import { useTRPC, useTRPCClient } from "@/app/_trpc/client";

type Feature = RouterOutputs["features"]["get"];
type State = RouterOutputs["features"]["states"][number];
type Allocation = { optionId: number; percentageAllocation: number };
/** A save of the form (`features.updateState`), with the live state it was made over (for Undo). */
interface Save {
  change: { featureId: number; environmentId: number; enabled?: boolean; value?: FlagValue; allocations?: Allocation[] };
  previous: State;
}

/**
 * What a save changed over `previous`, and the change that puts it back (Undo): only the fields
 * that changed, each to its previous value.
 */
function undoOf({ change, previous }: Save): { enabled: boolean; other: boolean; undo: Save["change"] } {
  const enabled = change.enabled !== undefined && change.enabled !== previous.enabled;
  const value = change.value !== undefined && JSON.stringify(change.value) !== JSON.stringify(previous.value);
  const allocations = change.allocations !== undefined;
  const changedOptions = new Set(change.allocations?.map((a) => a.optionId));
  return {
    enabled,
    other: value || allocations,
    undo: {
      featureId: change.featureId,
      environmentId: change.environmentId,
      enabled: enabled ? previous.enabled : undefined,
      value: value ? previous.value : undefined,
      // Options not in the previous state had 0%.
      allocations: allocations
        ? [...changedOptions].map((optionId) => ({ optionId, percentageAllocation: previous.allocations.find((a) => a.optionId === optionId)?.percentageAllocation ?? 0 }))
        : undefined,
    },
  };
}

/** Enabled, value and allocations of the feature in this environment: save now, or schedule. */
export function ValueTab({ feature, environmentId, environmentName }: { feature: Feature; environmentId: number; environmentName: string }) {
  const trpc = useTRPC();
  const states = useQuery(trpc.features.states.queryOptions({ featureId: feature.id }));
  if (states.isPending) return <Loading />;
  if (states.isError) return <ErrorState error={states.error} retry={() => states.refetch()} />;
  const state = states.data.find((s) => s.environmentId === environmentId);
  if (!state) return <p className="muted">This feature has no state in {environmentName} yet.</p>;
  return (
    <div className="stack">
      <ValueForm key={JSON.stringify([feature.id, environmentId, feature.options.map((o) => o.id)])} feature={feature} state={state} environmentId={environmentId} environmentName={environmentName} />
      <PendingChanges feature={feature} environmentId={environmentId} />
    </div>
  );
}

function ValueForm({ feature, state, environmentId, environmentName }: { feature: Feature; state: State; environmentId: number; environmentName: string }) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const [enabled, setEnabled] = useState(state.enabled);
  const [value, setValue] = useState<ValueDraft>(draftOf(state.value));
  const [allocations, setAllocations] = useState<AllocationDrafts>(allocationDraftsOf(state.allocations));
  const [scheduling, setScheduling] = useState(false);
  const [liveFrom, setLiveFrom] = useState("");
  const [minLiveFrom, setMinLiveFrom] = useState("");
  const [pastError, setPastError] = useState(false);
  const [submitted, setSubmitted] = useState(false);
  const guard = useProtectedChange();
  const { environment, checking } = useEnvironmentProtection(environmentId);
  const client = useTRPCClient();

  // The live state can change under the form (the environment switches above, another admin, a
  // scheduled change going live). Fields not edited here follow it; edited ones are kept.
  const [base, setBase] = useState(state);
  if (base !== state) {
    setBase(state);
    const follows = <T,>(draft: T, of: (s: State) => T) => [of(base), of(state)].some((from) => JSON.stringify(from) === JSON.stringify(draft));
    if (follows(enabled, (s) => s.enabled)) setEnabled(state.enabled);
    if (follows(value, (s) => draftOf(s.value))) setValue(draftOf(state.value));
    if (follows(allocations, (s) => allocationDraftsOf(s.allocations))) setAllocations(allocationDraftsOf(state.allocations));
  }

  // Every save, a toggle of Enabled included, says so in a toast with Undo (as the toggles elsewhere do).
  const save = useMutation({
    mutationKey: trpc.features.updateState.mutationKey(),
    mutationFn: ({ change }: Save) => client.features.updateState.mutate(change),
    onSuccess: async (_saved, saved) => {
      await invalidate();
      const { enabled: toggled, other, undo } = undoOf(saved);
      const onOff = (on: boolean) => (on ? "on" : "off");
      const now = saved.change.enabled ?? saved.previous.enabled;
      const message = !toggled ? `Saved for ${environmentName}` : other ? `Saved for ${environmentName}: ${feature.name} turned ${onOff(now)}` : `${feature.name} turned ${onOff(now)} in ${environmentName}`;
      toast.success(message, {
        action: {
          label: "Undo",
          run: () => {
            client.features.updateState.mutate(undo).then(
              async () => {
                await invalidate();
                toast.success(toggled ? `Undone: ${feature.name} is ${onOff(!now)} again in ${environmentName}` : `Undone: ${feature.name} is back as it was in ${environmentName}`);
              },
              (error: unknown) => toast.error(error),
            );
          },
        },
      });
    },
  });
  const schedule = useMutation(
    trpc.features.schedule.mutationOptions({
      onSuccess: async (row) => {
        await invalidate();
        toast.success(`Change scheduled for ${formatDate(row.liveFrom)}`);
        // Back to what is live now; the pending change is listed below the form.
        setEnabled(state.enabled);
        setValue(draftOf(state.value));
        setAllocations(allocationDraftsOf(state.allocations));
        setScheduling(false);
        setLiveFrom("");
        setSubmitted(false);
      },
    }),
  );
  const active = scheduling ? schedule : save;
  const server = formError(active.error);
  const reset = () => {
    if (save.error) save.reset();
    if (schedule.error) schedule.reset();
  };

  const parsedValue = parseValue(value);
  const hasOptions = feature.options.length > 0;
  const parsedAllocations = hasOptions ? parseAllocations(feature.options, allocations) : { ok: true as const, value: [] as { optionId: number; percentageAllocation: number }[] };
  const liveFromDate = liveFrom ? new Date(liveFrom) : null;
  const liveFromError = !scheduling ? undefined : !liveFromDate || Number.isNaN(liveFromDate.getTime()) ? "Choose a date and time" : pastError ? "Choose a time in the future" : undefined;

  const changed = {
    enabled: enabled !== state.enabled,
    value: parsedValue.ok && JSON.stringify(parsedValue.value) !== JSON.stringify(state.value),
    allocations:
      parsedAllocations.ok &&
      parsedAllocations.value.some((a) => (state.allocations.find((s) => s.optionId === a.optionId)?.percentageAllocation ?? 0) !== a.percentageAllocation),
  };
  const nothingChanged = !changed.enabled && !changed.value && !changed.allocations;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (!parsedValue.ok || !parsedAllocations.ok) return;
    const allocationInput = hasOptions && changed.allocations ? parsedAllocations.value : undefined;
    if (scheduling) {
      const past = !!liveFromDate && liveFromDate.getTime() <= Date.now();
      setPastError(past);
      if (past || liveFromError || !liveFromDate || nothingChanged) return;
      const scheduled = {
        environmentId,
        featureId: feature.id,
        enabled: changed.enabled ? enabled : undefined,
        value: changed.value ? (parsedValue.value as FlagValue) : undefined,
        allocations: allocationInput,
        liveFrom: liveFromDate.toISOString(),
      };
      void guard(environment, `Schedule a change of ${feature.name}`, () => schedule.mutate(scheduled), "Schedule change");
    } else {
      const now = { featureId: feature.id, environmentId, enabled, value: parsedValue.value, allocations: allocationInput };
      void guard(environment, `Save ${feature.name}`, () => save.mutate({ change: now, previous: state }), "Save change");
    }
  };

  const top = unplacedError(server, "value", "allocations", "liveFrom", "enabled");
  return (
    <form className="stack value-form" onSubmit={submit} noValidate aria-label={`Value in ${environmentName}`}>
      <FormAlert message={top} />
      <div className="row-between">
        <div>
          <strong>Enabled in {environmentName}</strong>
          <div className="muted small">Off: SDKs get the flag disabled (with its value).</div>
        </div>
        <Switch
          label={`Enabled in ${environmentName}`}
          checked={enabled}
          onChange={(next) => {
            reset();
            setEnabled(next);
          }}
        />
      </div>
      <ValueEditor
        label={hasOptions ? "Control value" : "Value"}
        draft={value}
        onChange={(draft) => {
          reset();
          setValue(draft);
        }}
        error={(submitted && !parsedValue.ok ? parsedValue.error : undefined) ?? fieldError(server, "value")}
        hint={hasOptions ? "Served to identities outside every variation's split, and to anonymous requests." : undefined}
      />
      {hasOptions ? (
        <AllocationsEditor
          legend={`Split in ${environmentName}`}
          options={feature.options}
          drafts={allocations}
          onChange={(drafts) => {
            reset();
            setAllocations(drafts);
          }}
          error={(submitted && !parsedAllocations.ok ? parsedAllocations.error : undefined) ?? fieldError(server, "allocations")}
        />
      ) : null}
      <Checkbox
        label="Schedule this change"
        checked={scheduling}
        onChange={(e) => {
          reset();
          setScheduling(e.target.checked);
          setMinLiveFrom(toLocalInput(new Date()));
          if (e.target.checked && !liveFrom) setLiveFrom(toLocalInput(new Date(Date.now() + 60 * 60 * 1000)));
        }}
        hint="Keep the current state live until a date and time you choose."
      />
      {scheduling ? (
        <div className="grid-2">
          <TextInput
            label="Go live at"
            type="datetime-local"
            value={liveFrom}
            min={minLiveFrom}
            onChange={(e) => {
              reset();
              setPastError(false);
              setLiveFrom(e.target.value);
            }}
            error={(submitted ? liveFromError : undefined) ?? fieldError(server, "liveFrom")}
            hint={`Your local time (${Intl.DateTimeFormat().resolvedOptions().timeZone}).`}
          />
        </div>
      ) : null}
      {scheduling && submitted && nothingChanged ? (
        <p className="field-error" role="alert">
          Change the toggle, value or split first: a scheduled change must change something.
        </p>
      ) : null}
      <div className="row">
        {/* Until the environment's protection is known, nothing is saved (it could need a confirmation). */}
        <Button type="submit" variant="primary" busy={active.isPending} disabled={checking || (!scheduling && nothingChanged && parsedValue.ok && parsedAllocations.ok)}>
          {scheduling ? "Schedule change" : "Save"}
        </Button>
        {checking ? <span className="muted small">Checking whether {environmentName} is protected…</span> : !nothingChanged ? <span className="muted small">{scheduling ? "Not live until scheduled" : "Unsaved changes"}</span> : null}
      </div>
    </form>
  );
}

function PendingChanges({ feature, environmentId }: { feature: Feature; environmentId: number }) {
  const trpc = useTRPC();
  const pending = useQuery(trpc.features.scheduled.queryOptions({ environmentId, status: "PENDING" }));
  const cancel = useCancelScheduled();
  const mine = pending.data?.filter((change) => change.featureId === feature.id) ?? [];
  if (mine.length === 0) return null;
  return (
    <section aria-labelledby="pending-heading" className="stack">
      <h3 id="pending-heading">Scheduled in this environment</h3>
      <ul className="plain-list">
        {mine.map((change) => (
          <li key={change.id} className="row-between scheduled-item">
            <span>
              <ChangeSummary change={change.change} options={feature.options} />
              {change.segmentName ? <span className="muted"> (segment “{change.segmentName}”)</span> : null}
              <span className="muted small"> — goes live {formatDate(change.liveFrom)}, by {change.actorLabel}</span>
            </span>
            <Button className="btn-sm" variant="ghost" onClick={() => cancel.ask(change.id, feature.name)}>
              Cancel
            </Button>
          </li>
        ))}
      </ul>
      {cancel.dialog}
    </section>
  );
}
