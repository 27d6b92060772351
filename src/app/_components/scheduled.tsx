"use client";

/** Scheduled changes: a readable summary of what one changes, and the cancel-with-confirm action. */
import { useState, type ReactNode } from "react";
import { useMutation } from "@tanstack/react-query";
import { useTRPC } from "@/app/_trpc/client";
import { ConfirmDialog, useToast } from "./ui";
import { useInvalidateFlags } from "./use-invalidate";
import { ValuePreview, formatPercent, variationLabel } from "./values";
import type { FlagValue } from "./types";

export interface ScheduledPayload {
  enabled?: boolean;
  value?: FlagValue;
  allocations?: { optionId: number; percentageAllocation: number }[];
}

export function ChangeSummary({ change, options }: { change: unknown; options?: readonly { id: number; value: FlagValue; key: string | null }[] }) {
  const payload = (change ?? {}) as ScheduledPayload;
  const parts: ReactNode[] = [];
  if (payload.enabled !== undefined) parts.push(<span key="enabled">{payload.enabled ? "Enable" : "Disable"}</span>);
  if (payload.value !== undefined)
    parts.push(
      <span key="value">
        value → <ValuePreview value={payload.value} />
      </span>,
    );
  if (payload.allocations?.length) {
    const label = (optionId: number) => {
      const option = options?.find((o) => o.id === optionId);
      return option ? variationLabel(option) : `#${optionId}`;
    };
    parts.push(<span key="allocations">split {payload.allocations.map((a) => `${label(a.optionId)} ${formatPercent(a.percentageAllocation)}`).join(", ")}</span>);
  }
  if (parts.length === 0) return <span className="muted">no change</span>;
  return (
    <span className="change-summary">
      {parts.map((part, index) => (
        <span key={index}>
          {index > 0 ? ", " : null}
          {part}
        </span>
      ))}
    </span>
  );
}

/** State and dialog for cancelling a pending scheduled change. */
export function useCancelScheduled() {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const [target, setTarget] = useState<{ id: number; label: string } | null>(null);
  const cancel = useMutation(
    trpc.features.cancelScheduled.mutationOptions({
      onSuccess: async () => {
        await invalidate();
        toast.success("Scheduled change cancelled");
        setTarget(null);
      },
      onError: (error) => toast.error(error),
    }),
  );
  const dialog = (
    <ConfirmDialog
      open={target !== null}
      title="Cancel scheduled change"
      message={`Cancel the scheduled change to "${target?.label}"? It will not go live.`}
      confirmLabel="Cancel change"
      busy={cancel.isPending}
      onClose={() => setTarget(null)}
      onConfirm={() => target && cancel.mutate({ scheduledChangeId: target.id })}
    />
  );
  return { ask: (id: number, label: string) => setTarget({ id, label }), dialog };
}
