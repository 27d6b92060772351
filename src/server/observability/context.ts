/**
 * The one request-context store. A request (tRPC call, route handler, job run) runs inside
 * `runWithContext`; middleware binds the ids of what the request is about with `bindContext`, and
 * every log line written inside — however deep — carries them (see logger.ts).
 *
 * Each `runWithContext` call starts from an empty store, so bindings never leak between requests,
 * and they end with the callback (also when it throws).
 */
import { AsyncLocalStorage } from "node:async_hooks";

export const CONTEXT_KEYS = ["user.id", "organisation.id", "project.id", "environment.id"] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];
export type ContextBindings = Partial<Record<ContextKey, string | number>>;

export interface RequestContext {
  bindings: ContextBindings;
  /** Propagated request headers (lower-case names), carried into enqueued jobs. */
  headers: Record<string, string>;
}

// One store per process even when a bundler loads this module twice.
const STORE_KEY = Symbol.for("flagpost.requestContext");
const globalStore = globalThis as unknown as Record<symbol, AsyncLocalStorage<RequestContext> | undefined>;
const storage: AsyncLocalStorage<RequestContext> = (globalStore[STORE_KEY] ??= new AsyncLocalStorage<RequestContext>());

export function runWithContext<T>(
  fn: () => T,
  initial: { bindings?: ContextBindings; headers?: Record<string, string> } = {},
): T {
  return storage.run({ bindings: { ...initial.bindings }, headers: { ...initial.headers } }, fn);
}

/** Adds ids to the current request's context; ignored (harmlessly) outside a request. */
export function bindContext(bindings: ContextBindings): void {
  const store = storage.getStore();
  if (!store) return;
  for (const key of CONTEXT_KEYS) {
    const value = bindings[key];
    if (value !== undefined && value !== null) store.bindings[key] = value;
  }
}

export function contextBindings(): ContextBindings {
  return storage.getStore()?.bindings ?? {};
}

export function propagatedHeaders(): Record<string, string> {
  return storage.getStore()?.headers ?? {};
}
