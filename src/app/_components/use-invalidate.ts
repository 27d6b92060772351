"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "@/app/_trpc/client";

/**
 * Refetches what a flag change can affect: feature lists and states, overrides, identities,
 * scheduled changes and the audit log (all active queries of those routers).
 */
export function useInvalidateFlags() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return async () => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.features.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.segmentOverrides.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.segments.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.identities.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.audit.pathKey() }),
    ]);
  };
}

/** `<input type="datetime-local">` text for a date (local time, minutes). */
export function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
