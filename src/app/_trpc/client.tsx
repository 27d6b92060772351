"use client";

import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, httpLink, splitLink } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { useState, type ReactNode } from "react";
import type { AppRouter } from "@/server/api/trpc-router";
import { MAX_TRPC_BATCH_SIZE } from "@/server/input";
import { DatabaseStatusBanner, reportServerStatus } from "./database-status";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** Queries sent as POST: their input (a tested context's traits, up to 200 feature ids) can be larger than an address holds. */
// invitations.lookup: its input is an invitation token, which must not appear in a URL (access logs).
const POST_QUERIES: ReadonlySet<string> = new Set(["sdk.evaluateContext", "promotion.preview", "invitations.lookup"]);

function makeQueryClient(): QueryClient {
  return new QueryClient({
    // Every answer tells whether the server could reach its database (the banner, database-status.tsx).
    queryCache: new QueryCache({ onError: (error) => reportServerStatus(error), onSuccess: () => reportServerStatus(null) }),
    mutationCache: new MutationCache({ onError: (error) => reportServerStatus(error), onSuccess: () => reportServerStatus(null) }),
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // While the database is unavailable (503) queries keep retrying, every few seconds, until it is back.
        retry: (count, error) => isUnavailable(error) || (count < 2 && !isClientError(error)),
        retryDelay: (count, error) => (isUnavailable(error) ? Math.min(5_000, 1_000 * 2 ** Math.min(count, 3)) : Math.min(1_000 * 2 ** count, 30_000)),
        refetchOnWindowFocus: false,
      },
    },
  });
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { data?: { httpStatus?: number } })?.data?.httpStatus;
  return typeof status === "number" ? status : undefined;
}

function isClientError(error: unknown): boolean {
  const status = statusOf(error);
  return status !== undefined && status >= 400 && status < 500;
}

function isUnavailable(error: unknown): boolean {
  return statusOf(error) === 503;
}

export function TrpcProviders({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          // Queries whose input may not fit an address go as POST (the route allows the override).
          condition: (op) => POST_QUERIES.has(op.path),
          true: httpLink({ url: "/api/trpc", methodOverride: "POST" }),
          false: httpBatchLink({ url: "/api/trpc", maxURLLength: 4000, maxItems: MAX_TRPC_BATCH_SIZE }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <DatabaseStatusBanner />
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
