"use client";

import { useEffect, useRef } from "react";
import { useQueryClient, type Query } from "@tanstack/react-query";
import { useTRPC } from "@/app/_trpc/client";
import { useRouter } from "./navigation";

type QueryPredicate = (query: Query) => boolean;

/**
 * Refetches what a flag change can affect: feature lists and states, overrides, identities,
 * scheduled changes, evaluation views and the audit log (all active queries of those routers), except the queries
 * `except` picks (those of something just deleted).
 */
export function useInvalidateFlags() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return async (options: { except?: QueryPredicate } = {}) => {
    const except = options.except;
    const predicate = except ? (query: Query) => !except(query) : undefined;
    await Promise.all(
      // sdk: the evaluation views (they poll on while the change is being published).
      [trpc.features.pathKey(), trpc.segmentOverrides.pathKey(), trpc.segments.pathKey(), trpc.identities.pathKey(), trpc.audit.pathKey(), trpc.sdk.pathKey()].map((queryKey) =>
        queryClient.invalidateQueries({ queryKey, predicate }),
      ),
    );
  };
}

/** Something deleted, named as tRPC inputs name it. */
export type DeletedEntity = { featureId: number } | { segmentId: number } | { identityId: number } | { projectId: number };

/**
 * Whether a tRPC query asks about `entity`: its input has the same id (`features.get({ featureId })`,
 * `audit.list({ projectId, featureId, … })`, …).
 */
export function queryIsAbout(queryKey: readonly unknown[], entity: DeletedEntity): boolean {
  const input = (queryKey[1] as { input?: unknown } | undefined)?.input;
  if (typeof input !== "object" || input === null) return false;
  return Object.entries(entity).every(([name, id]) => (input as Record<string, unknown>)[name] === id);
}

/**
 * After deleting what this page shows: stops its queries and never asks them again (no "not found"
 * requests while the page is still on screen), goes to `href`, refreshes the rest (`refresh`, by
 * default what a flag change affects), and forgets the deleted entity's cached queries once this
 * page is gone (Back then loads it afresh: "not found").
 */
export function useLeaveDeleted() {
  const queryClient = useQueryClient();
  const router = useRouter();
  const invalidate = useInvalidateFlags();
  const deleted = useRef<DeletedEntity | null>(null);
  useEffect(
    () => () => {
      const entity = deleted.current;
      if (entity) queryClient.removeQueries({ predicate: (query) => queryIsAbout(query.queryKey, entity) });
    },
    [queryClient],
  );
  return async (entity: DeletedEntity, href: string, refresh?: (except: QueryPredicate) => Promise<unknown>) => {
    const about: QueryPredicate = (query) => queryIsAbout(query.queryKey, entity);
    deleted.current = entity;
    await queryClient.cancelQueries({ predicate: about });
    router.push(href);
    await (refresh ? refresh(about) : invalidate({ except: about }));
  };
}

/** `<input type="datetime-local">` text for a date (local time, minutes). */
export function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
