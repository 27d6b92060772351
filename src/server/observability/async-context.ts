/**
 * The process's one AsyncLocalStorage: OpenTelemetry's context manager. The active span and the
 * request context (context.ts) both live in its `Context`, so entering a request is one
 * AsyncLocalStorage `run`, and Node 20's async hooks propagate one store instead of two
 * (docs/performance.md). Installed once per process, before the first request or span.
 */
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { processSlot } from "@/server/singleton";

const installed = processSlot<boolean>("contextManager");

export function installContextManager(): void {
  installed.getOrCreate(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    return true;
  });
}
