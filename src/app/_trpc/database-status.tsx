"use client";

/**
 * "Database unavailable, retrying": shown at the top of every page while the server answers 503
 * (it cannot reach its database; queries keep retrying, see client.tsx), gone with the next answer
 * that succeeds. Announced politely to screen readers.
 */
import { useSyncExternalStore } from "react";

let unavailable = false;
const listeners = new Set<() => void>();

/** Called with every query or mutation outcome (null: it succeeded). */
export function reportServerStatus(error: unknown): void {
  const status = (error as { data?: { httpStatus?: number } } | null)?.data?.httpStatus;
  const next = status === 503;
  // An unrelated error (a 404, a validation error) says nothing about the database.
  if (error !== null && !next) return;
  if (next === unavailable) return;
  unavailable = next;
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function DatabaseStatusBanner() {
  const down = useSyncExternalStore(
    subscribe,
    () => unavailable,
    () => false,
  );
  return (
    <div className="database-status" role="status" aria-live="polite" hidden={!down}>
      {down ? "Database unavailable, retrying…" : null}
    </div>
  );
}
