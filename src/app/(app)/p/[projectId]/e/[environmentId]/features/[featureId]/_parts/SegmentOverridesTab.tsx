"use client";

import Link from "next/link";
import { useEffect, useRef, useState, type DragEvent, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { fieldError, formError, unplacedError } from "@/app/_components/errors";
import type { RouterOutputs } from "@/app/_components/types";
import { Button, Checkbox, ConfirmDialog, EmptyState, ErrorState, FormAlert, Loading, Select, useToast } from "@/app/_components/ui";
import { useInvalidateFlags } from "@/app/_components/use-invalidate";
import { OverrideRow } from "@/app/_components/override-row";
import { useEnvironmentProtection, useProtectedChange, type EnvironmentProtection } from "@/app/_components/protected-change";
import { ValueEditor, draftOf, parseValue, type ValueDraft } from "@/app/_components/values";
import { useTRPC } from "@/app/_trpc/client";

type Feature = RouterOutputs["features"]["get"];
type Override = RouterOutputs["segmentOverrides"]["list"][number];

/** Drag-and-drop payload type (the dragged card's index); other drags (text, files) are ignored. */
const DRAG_TYPE = "application/x-flagpost-override";

/**
 * Segment overrides of the feature in this environment, strongest first: add (segment picker),
 * edit enabled / value / split, reorder (up/down buttons or drag and drop), delete. Adding, editing
 * and reordering ask first in a protected environment (or one whose protection is not known yet).
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
  const protection = useEnvironmentProtection(environmentId);
  const guard = useProtectedChange();

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

  /** Moves an override (after a confirmation in a protected environment); `onMove` runs just before the change is sent. */
  const moveTo = (from: number, to: number, onMove?: () => void) => {
    if (to < 0 || to >= rows.length || from === to) return;
    const ids = rows.map((row) => row.segmentId);
    const [moved] = ids.splice(from, 1);
    ids.splice(to, 0, moved);
    const name = rows[from].segmentName;
    const move = () => {
      onMove?.();
      reorder.mutate({ ...input, segmentIds: ids });
    };
    void guard(protection.environment, `Move the override of ${feature.name} for segment "${name}" to priority ${to + 1}`, move, "Reorder");
  };
  /** Up/down buttons: move, then keep keyboard focus on the moved card's buttons. */
  const moveWithButton = (index: number, delta: -1 | 1) => {
    const segmentId = rows[index].segmentId;
    const to = index + delta;
    const atEdge = to === 0 || to === rows.length - 1;
    const direction = delta === -1 ? (atEdge ? "down" : "up") : atEdge ? "up" : "down";
    moveTo(index, to, () => {
      focusAfterMove.current = `${segmentId}:${direction}`;
    });
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
            <OverrideRow
              key={override.id}
              kind="segment"
              override={override}
              name={override.segmentName}
              featureName={feature.name}
              options={feature.options}
              protection={protection}
              testId={`segment-override-${override.segmentName}`}
              className={`${dropTarget === index && dragging !== index ? "drop-target" : ""} ${dragging === index ? "dragging" : ""}`}
              onDragOver={(event) => {
                if (!event.dataTransfer.types.includes(DRAG_TYPE)) return;
                event.preventDefault();
                event.dataTransfer.dropEffect = "move";
                if (dropTarget !== index) setDropTarget(index);
              }}
              onDragLeave={() => setDropTarget((current) => (current === index ? null : current))}
              onDrop={(event) => onDrop(event, index)}
              onRemove={() => setDeleting(override)}
              target={<Link href={`/p/${projectId}/segments/${override.segmentId}`}>{override.segmentName}</Link>}
              lead={
                <>
                  <span
                    className="drag-handle"
                    draggable={!protection.checking}
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
                  <span className="priority">
                    <span className="sr-only">Priority </span>
                    {index + 1}
                  </span>
                </>
              }
              actions={
                <>
                  <Button
                    type="button"
                    className="btn-sm"
                    aria-label={`Move ${override.segmentName} up`}
                    data-move={`${override.segmentId}:up`}
                    disabled={index === 0 || protection.checking}
                    onClick={() => moveWithButton(index, -1)}
                  >
                    ↑
                  </Button>
                  <Button
                    type="button"
                    className="btn-sm"
                    aria-label={`Move ${override.segmentName} down`}
                    data-move={`${override.segmentId}:down`}
                    disabled={index === rows.length - 1 || protection.checking}
                    onClick={() => moveWithButton(index, 1)}
                  >
                    ↓
                  </Button>
                </>
              }
            />
          ))}
        </ol>
      )}
      <AddOverride feature={feature} projectId={projectId} environmentId={environmentId} protection={protection} taken={rows.map((row) => row.segmentId)} />
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

function AddOverride({ feature, projectId, environmentId, protection, taken }: { feature: Feature; projectId: number; environmentId: number; protection: EnvironmentProtection; taken: number[] }) {
  const trpc = useTRPC();
  const guard = useProtectedChange();
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
    const name = available.find((s) => String(s.id) === segmentId)?.name ?? "the segment";
    const input = { featureId: feature.id, environmentId, segmentId: Number(segmentId), enabled, value: parsedValue.value };
    void guard(protection.environment, `Add an override of ${feature.name} for segment "${name}"`, () => create.mutate(input), "Add override");
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
            <Button type="submit" variant="primary" busy={create.isPending} disabled={protection.checking}>
              Add override
            </Button>
          </div>
        </>
      )}
    </form>
  );
}
