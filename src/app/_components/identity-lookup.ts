"use client";

import { useTRPCClient } from "@/app/_trpc/client";

/**
 * The identity with exactly this identifier in an environment, created when there is none (as the
 * SDK API does on first sight). Used when an override is added by identifier.
 */
export function useIdentityByIdentifier() {
  const client = useTRPCClient();
  return (environmentId: number, identifier: string): Promise<{ id: number; identifier: string }> =>
    client.identities.ensure.mutate({ environmentId, identifier });
}
