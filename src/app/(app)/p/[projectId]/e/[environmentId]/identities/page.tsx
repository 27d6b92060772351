"use client";

import Link from "next/link";
import { useRouter } from "@/app/_components/navigation";
import { useState } from "react";
import { useInfiniteQuery, useMutation, useQuery } from "@tanstack/react-query";
import { NameDialog } from "@/app/_components/name-dialog";
import { Button, EmptyState, ErrorState, LoadMore, Loading, PageHeader, formatDate, useDebouncedValue, useToast } from "@/app/_components/ui";
import { useInvalidateFlags } from "@/app/_components/use-invalidate";
import { useTRPC } from "@/app/_trpc/client";
import { useRouteIds } from "@/app/(app)/hooks";

export default function IdentitiesPage() {
  const trpc = useTRPC();
  const router = useRouter();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const { projectId: routeProjectId, environmentId: routeEnvironmentId } = useRouteIds();
  const projectId = routeProjectId ?? 0;
  const environmentId = routeEnvironmentId ?? 0;
  const base = `/p/${projectId}/e/${environmentId}/identities`;
  const environment = useQuery(trpc.environments.get.queryOptions({ environmentId }));
  const [search, setSearch] = useState("");
  const debounced = useDebouncedValue(search.trim());
  const identities = useInfiniteQuery(
    trpc.identities.list.infiniteQueryOptions({ environmentId, search: debounced || undefined, limit: 50 }, { getNextPageParam: (page) => page.nextCursor ?? undefined }),
  );
  const [creating, setCreating] = useState(false);
  const create = useMutation(
    trpc.identities.create.mutationOptions({
      onSuccess: async (identity) => {
        await invalidate();
        toast.success(`Identity "${identity.identifier}" created`);
        setCreating(false);
        router.push(`${base}/${identity.id}`);
      },
    }),
  );
  const items = identities.data?.pages.flatMap((page) => page.items) ?? [];

  return (
    <>
      <PageHeader
        title="Identities"
        subtitle={environment.data ? `Users seen by SDKs in ${environment.data.name}, with their traits and overrides.` : undefined}
        actions={
          <Button variant="primary" aria-keyshortcuts="c" onClick={() => setCreating(true)}>
            New identity
          </Button>
        }
      />
      <div className="filters" role="search">
        <div className="field grow">
          <label htmlFor="identity-search">Search by identifier</label>
          <input
            id="identity-search"
            className="input"
            type="search"
            value={search}
            placeholder="user-123…"
            aria-keyshortcuts="/"
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
      </div>
      {identities.isPending ? (
        <Loading />
      ) : identities.isError ? (
        <ErrorState error={identities.error} retry={() => identities.refetch()} />
      ) : items.length === 0 ? (
        <div className="panel">
          {debounced ? (
            <EmptyState title="No matching identities">No identifier contains “{debounced}”.</EmptyState>
          ) : (
            <EmptyState
              title="No identities yet"
              action={
                <Button variant="primary" onClick={() => setCreating(true)}>
                  Create an identity
                </Button>
              }
            >
              Identities appear when an SDK asks for an identified user&apos;s flags; you can also create them here.
            </EmptyState>
          )}
        </div>
      ) : (
        <div className="panel">
          <table className="table" aria-label="Identities">
            <thead>
              <tr>
                <th>Identifier</th>
                <th>First seen</th>
              </tr>
            </thead>
            <tbody>
              {items.map((identity) => (
                <tr key={identity.id}>
                  <td>
                    <Link href={`${base}/${identity.id}`} className="mono">
                      {identity.identifier}
                    </Link>
                  </td>
                  <td className="muted small">{formatDate(identity.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <LoadMore hasMore={identities.hasNextPage} loading={identities.isFetchingNextPage} onClick={() => void identities.fetchNextPage()} />
        </div>
      )}
      <NameDialog
        open={creating}
        onClose={() => setCreating(false)}
        title="New identity"
        label="Identifier"
        field="identifier"
        trim={false}
        submitLabel="Create identity"
        placeholder="user-123"
        hint="The user id your application passes to the SDK."
        mutation={create}
        onSubmit={(identifier) => create.mutate({ environmentId, identifier })}
      />
    </>
  );
}
