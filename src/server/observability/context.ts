/**
 * The one request-context store. A request (tRPC call, route handler, job run) runs inside
 * `runWithContext`; middleware binds the ids of what the request is about with `bindContext`, and
 * every log line written inside — however deep — carries them (see logger.ts).
 *
 * Each `runWithContext` call starts from an empty store, so bindings never leak between requests,
 * and they end with the callback (also when it throws).
 *
 * The store is a value of the active OpenTelemetry `Context` (async-context.ts): spans started
 * inside a request carry it along, and a route can enter the request context and its server span
 * in one step (`withRequestContext` + one `context.with`).
 */
import { context, createContextKey, type Context } from "@opentelemetry/api";
import { installContextManager } from "./async-context";

export const CONTEXT_KEYS = ["user.id", "organisation.id", "project.id", "environment.id"] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];
export type ContextBindings = Partial<Record<ContextKey, string | number>>;

export interface RequestContext {
  bindings: ContextBindings;
  /** Propagated request headers (lower-case names), carried into enqueued jobs. */
  headers: Record<string, string>;
}

// createContextKey uses Symbol.for, so the key is the same even when a bundler loads this module twice.
const REQUEST_CONTEXT = createContextKey("flagpost.requestContext");

function store(): RequestContext | undefined {
  return context.active().getValue(REQUEST_CONTEXT) as RequestContext | undefined;
}

/** `parent` with a fresh request context (empty unless `initial` is given). */
export function withRequestContext(parent: Context, initial: { bindings?: ContextBindings; headers?: Record<string, string> } = {}): Context {
  installContextManager();
  return parent.setValue(REQUEST_CONTEXT, { bindings: { ...initial.bindings }, headers: { ...initial.headers } } satisfies RequestContext);
}

export function runWithContext<T>(
  fn: () => T,
  initial: { bindings?: ContextBindings; headers?: Record<string, string> } = {},
): T {
  return context.with(withRequestContext(context.active(), initial), fn);
}

/** Adds ids to the current request's context; ignored (harmlessly) outside a request. */
export function bindContext(bindings: ContextBindings): void {
  const current = store();
  if (!current) return;
  for (const key of CONTEXT_KEYS) {
    const value = bindings[key];
    if (value !== undefined && value !== null) current.bindings[key] = value;
  }
}

export function contextBindings(): ContextBindings {
  return store()?.bindings ?? {};
}

export function propagatedHeaders(): Record<string, string> {
  return store()?.headers ?? {};
}
