"use client";

import { useTRPCClient } from "@/app/_trpc/client";

/**
 * Finds the identity with exactly this identifier in an environment, creating it when there is
 * none (as the SDK API does on first sight). Used when an override is added by identifier.
 */
export function useIdentityByIdentifier() {
  const client = useTRPCClient();
  return async (environmentId: number, identifier: string): Promise<{ id: number; identifier: string }> => {
    // The list is a substring search in identifier order, paged after `cursor`: start just before
    // the identifier itself so that the exact match is on the first page.
    const page = await client.identities.list.query({ environmentId, search: identifier, cursor: identifier.slice(0, -1) || undefined, limit: 200 });
    const found = page.items.find((item) => item.identifier === identifier);
    if (found) return found;
    return client.identities.create.mutate({ environmentId, identifier });
  };
}
