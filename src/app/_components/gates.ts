"use client";

/**
 * Flagpost's own gates as the admin UI sees them (evaluated on the server: `rollouts.gates`; no SDK
 * key in the browser). A capability whose gate is closed — or not known yet — is not shown.
 */
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/app/_trpc/client";
import type { RouterOutputs } from "./types";

export type Gate = keyof RouterOutputs["rollouts"]["gates"];

/** Whether `gate` is open for the organisation of the project (false while unknown). */
export function useGate(gate: Gate, scope: { projectId: number } | { organisationId: number }): boolean {
  const trpc = useTRPC();
  const gates = useQuery({ ...trpc.rollouts.gates.queryOptions(scope), staleTime: 60_000 });
  return gates.data?.[gate] === true;
}
