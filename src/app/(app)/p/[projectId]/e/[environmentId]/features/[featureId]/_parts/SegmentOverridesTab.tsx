"use client";

import Link from "next/link";
import { useEffect, useRef, useState, type DragEvent, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { fieldError, formError, unplacedError } from "@/app/_components/errors";
import type { RouterOutputs } from "@/app/_components/types";
import { Button, Checkbox, ConfirmDialog, EmptyState, ErrorState, FormAlert, Loading, Select, Switch, useToast } from "@/app/_components/ui";
import { useInvalidateFlags } from "@/app/_components/use-invalidate";
import { AllocationsEditor, ValueEditor, allocationDraftsOf, draftOf, parseAllocations, parseValue, type AllocationDrafts, type ValueDraft } from "@/app/_components/values";
import { useTRPC } from "@/app/_trpc/client";

type Feature = RouterOutputs["features"]["get"];
type Override = RouterOutputs["segmentOverrides"]["list"][number];

/** Drag-and-drop payload type (the dragged card's index); other drags (text, files) are ignored. */
const DRAG_TYPE = "application/x-flagpost-override";

/**
 * Segment overrides of the feature in this environment, strongest first: add (segment picker),
 * edit enabled / value / split, reorder (up/down buttons or drag and drop), delete.
 */
export function SegmentOverridesTab({ feature, projectId, environmentId, environmentName }: { feature: Feature; projectId: number; environmentId: number; environmentName: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const input = { featureId: feature.id, environmentId };
  const listKey = trpc.segmentOverrides.list.queryKey(input);
  const overrides = useQuery(trpc.segmentOverrides.list.queryOptions(input));
  const [dragging, setDragging] = useState<number | null>(null);
  const [dropTarget, setDropTarget] = useState<number | null>(null);
  const [deleting, setDeleting] = useState<Override | null>(null);

  const reorder = useMutation(
    trpc.segmentOverrides.reorder.mutationOptions({
      onMutate: async (variables) => {
        await queryClient.cancelQueries({ queryKey: listKey });
        const previous = queryClient.getQueryData(listKey);
        queryClient.setQueryData(listKey, (rows) => {
          if (!rows) return rows;
          const bySegment = new Map(rows.map((row) => [row.segmentId, row]));
          return variables.segmentIds.map((segmentId, priority) => ({ ...bySegment.get(segmentId)!, priority }));
        });
        return { previous };
      },
      onError: (error, _variables, context) => {
        if (context?.previous) queryClient.setQueryData(listKey, context.previous);
        toast.error(error);
      },
      onSuccess: () => toast.success("Priorities saved"),
      onSettled: () => invalidate(),
    }),
  );
  const remove = useMutation(
    trpc.segmentOverrides.delete.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("Segment override removed");
        setDeleting(null);
      },
      onError: (error) => toast.error(error),
    }),
  );

  // Keyboard focus follows a card moved with its up/down buttons, once the new order has rendered.
  const focusAfterMove = useRef<string | null>(null);
  useEffect(() => {
    if (!focusAfterMove.current) return;
    document.querySelector<HTMLButtonElement>(`[data-move="${focusAfterMove.current}"]`)?.focus();
    focusAfterMove.current = null;
  }, [overrides.data]);

  if (overrides.isPending) return <Loading />;
  if (overrides.isError) return <ErrorState error={overrides.error} retry={() => overrides.refetch()} />;
  const rows = overrides.data;

  const moveTo = (from: number, to: number) => {
    if (to < 0 || to >= rows.length || from === to) return;
    const ids = rows.map((row) => row.segmentId);
    const [moved] = ids.splice(from, 1);
    ids.splice(to, 0, moved);
    reorder.mutate({ ...input, segmentIds: ids });
  };
  /** Up/down buttons: move, then keep keyboard focus on the moved card's buttons. */
  const moveWithButton = (index: number, delta: -1 | 1) => {
    const segmentId = rows[index].segmentId;
    const to = index + delta;
    const atEdge = to === 0 || to === rows.length - 1;
    const direction = delta === -1 ? (atEdge ? "down" : "up") : atEdge ? "up" : "down";
    focusAfterMove.current = `${segmentId}:${direction}`;
    moveTo(index, to);
  };
  const onDrop = (event: DragEvent, index: number) => {
    event.preventDefault();
    const raw = event.dataTransfer.getData(DRAG_TYPE);
    const from = raw === "" ? dragging : Number(raw);
    setDragging(null);
    setDropTarget(null);
    if (from !== null && Number.isInteger(from)) moveTo(from, index);
  };

  return (
    <div className="stack">
      <p className="muted" style={{ margin: 0 }}>
        Identities in a segment get its override instead of the environment value. When an identity is in several segments, the highest one in this list wins.
      </p>
      {rows.length === 0 ? (
        <EmptyState title="No segment overrides">Add one to serve a different state to a segment of your users in {environmentName}.</EmptyState>
      ) : (
        <ol className="plain-list override-list" aria-label="Segment overrides by priority">
          {rows.map((override, index) => (
            <li
              key={override.id}
              className={`override-card ${dropTarget === index && dragging !== index ? "drop-target" : ""} ${dragging === index ? "dragging" : ""}`}
              data-testid={`segment-override-${override.segmentName}`}
              onDragOver={(event) => {
                if (!event.dataTransfer.types.includes(DRAG_TYPE)) return;
                event.preventDefault();
                event.dataTransfer.dropEffect = "move";
                if (dropTarget !== index) setDropTarget(index);
              }}
              onDragLeave={() => setDropTarget((current) => (current === index ? null : current))}
              onDrop={(event) => onDrop(event, index)}
            >
              <div className="override-head">
                <span
                  className="drag-handle"
                  draggable
                  title="Drag to reorder"
                  aria-hidden
                  onDragStart={(event) => {
                    setDragging(index);
                    event.dataTransfer.effectAllowed = "move";
                    event.dataTransfer.setData(DRAG_TYPE, String(index));
                    const card = event.currentTarget.closest("li");
                    if (card) event.dataTransfer.setDragImage(card, 16, 16);
                  }}
                  onDragEnd={() => {
                    setDragging(null);
                    setDropTarget(null);
                  }}
                >
                  ⠿
                </span>
                <span className="priority" aria-label={`Priority ${index + 1}`}>
                  {index + 1}
                </span>
                <Link href={`/p/${projectId}/segments/${override.segmentId}`} className="override-name">
                  {override.segmentName}
                </Link>
                <span className="row override-move">
                  <Button
                    type="button"
                    className="btn-sm"
                    aria-label={`Move ${override.segmentName} up`}
                    data-move={`${override.segmentId}:up`}
                    disabled={index === 0}
                    onClick={() => moveWithButton(index, -1)}
                  >
                    ↑
                  </Button>
                  <Button
                    type="button"
                    className="btn-sm"
                    aria-label={`Move ${override.segmentName} down`}
                    data-move={`${override.segmentId}:down`}
                    disabled={index === rows.length - 1}
                    onClick={() => moveWithButton(index, 1)}
                  >
                    ↓
                  </Button>
                  <Button type="button" variant="ghost" className="btn-sm" aria-label={`Delete override for ${override.segmentName}`} onClick={() => setDeleting(override)}>
                    Delete
                  </Button>
                </span>
              </div>
              <OverrideForm key={JSON.stringify(override)} override={override} feature={feature} />
            </li>
          ))}
        </ol>
      )}
      <AddOverride feature={feature} projectId={projectId} environmentId={environmentId} taken={rows.map((row) => row.segmentId)} />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete segment override"
        message={`Stop overriding this feature for segment "${deleting?.segmentName}" in ${environmentName}?`}
        confirmLabel="Delete override"
        busy={remove.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() => deleting && remove.mutate({ featureStateId: deleting.id })}
      />
    </div>
  );
}

function OverrideForm({ override, feature }: { override: Override; feature: Feature }) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const [enabled, setEnabled] = useState(override.enabled);
  const [value, setValue] = useState<ValueDraft>(draftOf(override.value));
  const [allocations, setAllocations] = useState<AllocationDrafts>(allocationDraftsOf(override.allocations));
  const [submitted, setSubmitted] = useState(false);
  const update = useMutation(
    trpc.segmentOverrides.update.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success(`Override for "${override.segmentName}" saved`);
      },
    }),
  );
  const server = formError(update.error);
  const hasOptions = feature.options.length > 0;
  const parsedValue = parseValue(value);
  const parsedAllocations = hasOptions ? parseAllocations(feature.options, allocations) : null;
  const edit = <T,>(set: (v: T) => void) => (v: T) => {
    if (update.error) update.reset();
    set(v);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (!parsedValue.ok || (parsedAllocations && !parsedAllocations.ok)) return;
    update.mutate({ featureStateId: override.id, enabled, value: parsedValue.value, allocations: parsedAllocations?.ok ? parsedAllocations.value : undefined });
  };
  const top = unplacedError(server, "value", "allocations");
  const dirty =
    enabled !== override.enabled ||
    !parsedValue.ok ||
    JSON.stringify(parsedValue.value) !== JSON.stringify(override.value) ||
    (parsedAllocations !== null &&
      (!parsedAllocations.ok ||
        parsedAllocations.value.some((a) => (override.allocations.find((o) => o.optionId === a.optionId)?.percentageAllocation ?? 0) !== a.percentageAllocation)));
  return (
    <form className="stack override-form" onSubmit={submit} noValidate aria-label={`Override for ${override.segmentName}`}>
      <FormAlert message={top} />
      <div className="override-fields">
        <div className="field">
          <span className="label-like">Enabled</span>
          <Switch label={`Enabled for ${override.segmentName}`} checked={enabled} onChange={edit(setEnabled)} />
        </div>
        <ValueEditor
          label={hasOptions ? "Control value" : "Value"}
          draft={value}
          onChange={edit(setValue)}
          multiline={false}
          error={(submitted && !parsedValue.ok ? parsedValue.error : undefined) ?? fieldError(server, "value")}
        />
      </div>
      {hasOptions ? (
        <AllocationsEditor
          legend="Split for this segment"
          options={feature.options}
          drafts={allocations}
          onChange={edit(setAllocations)}
          error={(submitted && parsedAllocations && !parsedAllocations.ok ? parsedAllocations.error : undefined) ?? fieldError(server, "allocations")}
        />
      ) : null}
      <div>
        <Button type="submit" className="btn-sm" busy={update.isPending} disabled={!dirty}>
          Save override
        </Button>
      </div>
    </form>
  );
}

function AddOverride({ feature, projectId, environmentId, taken }: { feature: Feature; projectId: number; environmentId: number; taken: number[] }) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const segments = useQuery(trpc.segments.list.queryOptions({ projectId }));
  const [segmentId, setSegmentId] = useState("");
  const [enabled, setEnabled] = useState(true);
  const [value, setValue] = useState<ValueDraft>(draftOf(feature.initialValue));
  const [submitted, setSubmitted] = useState(false);
  const create = useMutation(
    trpc.segmentOverrides.create.mutationOptions({
      onSuccess: async (created) => {
        await invalidate();
        toast.success(`Override for "${created?.segmentName ?? "segment"}" added`);
        setSegmentId("");
        setSubmitted(false);
      },
    }),
  );
  const server = formError(create.error);
  const available = (segments.data ?? []).filter((s) => !taken.includes(s.id) && (s.featureId === null || s.featureId === feature.id));
  const parsedValue = parseValue(value);
  const segmentError = segmentId === "" ? "Choose a segment" : undefined;
  const edit = <T,>(set: (v: T) => void) => (v: T) => {
    if (create.error) create.reset();
    set(v);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (segmentError || !parsedValue.ok) return;
    create.mutate({ featureId: feature.id, environmentId, segmentId: Number(segmentId), enabled, value: parsedValue.value });
  };
  const top = unplacedError(server, "segmentId", "value", "allocations");
  return (
    <form className="panel-inset stack" onSubmit={submit} noValidate aria-labelledby="add-override-heading">
      <h3 id="add-override-heading">Add a segment override</h3>
      <FormAlert message={top} />
      {segments.isSuccess && segments.data.length === 0 ? (
        <p className="muted" style={{ margin: 0 }}>
          This project has no segments yet. <Link href={`/p/${projectId}/segments/new`}>Create a segment</Link> first.
        </p>
      ) : (
        <>
          <div className="grid-2">
            <Select
              label="Segment"
              value={segmentId}
              onChange={(e) => edit(setSegmentId)(e.target.value)}
              error={(submitted ? segmentError : undefined) ?? fieldError(server, "segmentId")}
              hint={segments.isSuccess && available.length === 0 ? "Every segment already overrides this feature here." : "Added with the lowest priority; reorder afterwards."}
            >
              <option value="">{segments.isPending ? "Loading segments…" : "Choose a segment…"}</option>
              {available.map((segment) => (
                <option key={segment.id} value={segment.id}>
                  {segment.name}
                </option>
              ))}
            </Select>
            <ValueEditor
              label="Override value"
              draft={value}
              onChange={edit(setValue)}
              multiline={false}
              error={(submitted && !parsedValue.ok ? parsedValue.error : undefined) ?? fieldError(server, "value")}
            />
          </div>
          <Checkbox label="Enabled for this segment" checked={enabled} onChange={(e) => edit(setEnabled)(e.target.checked)} />
          {feature.options.length > 0 ? <p className="muted small" style={{ margin: 0 }}>The new override starts with this environment&apos;s split; edit it once added.</p> : null}
          <div>
            <Button type="submit" variant="primary" busy={create.isPending}>
              Add override
            </Button>
          </div>
        </>
      )}
    </form>
  );
}
