"use client";

import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { useTRPC } from "@/app/_trpc/client";
import { ConfirmDialog, useToast } from "./ui";
import { useInvalidateFlags } from "./use-invalidate";

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
