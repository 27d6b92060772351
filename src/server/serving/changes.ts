/**
 * Document changes, fanned out inside the process: every protocol that pushes updates (server-sent
 * events, flagd gRPC sync, …) registers here once, and is told when this process starts serving a
 * newer revision of an environment's document than the one it served (not on the first load) —
 * after it is loaded and parsed, so a handler can
 * answer from `currentDocument(environmentId)` synchronously. One notification from PostgreSQL (the
 * change listener) reaches every open stream through one handler call: no polling, no query per
 * stream.
 *
 * Only environments this process holds a document for are tracked (a stream reads its environment's
 * document when it opens, which puts it in the cache). Handlers run synchronously on the
 * notification's turn: they must not block (queue work, write to sockets).
 */
import { getLogger } from "@/server/observability/logger";
import { processSlot } from "@/server/singleton";
import type { ServedDocument } from "./document-cache";

const log = getLogger("serving");

export interface DocumentChange {
  environmentId: number;
  /** The revision served before. */
  previousRevision: number;
  /** The document now served. */
  served: ServedDocument;
}

export type DocumentChangeHandler = (change: DocumentChange) => void;

const slot = processSlot<Map<string, DocumentChangeHandler>>("documentChangeHandlers");
const handlers = () => slot.getOrCreate(() => new Map());

/** Registers `handler` under `name` (a later registration with the same name replaces it: every bundle may register). */
export function onDocumentChange(name: string, handler: DocumentChangeHandler): () => void {
  handlers().set(name, handler);
  return () => {
    if (handlers().get(name) === handler) handlers().delete(name);
  };
}

/** Called by the document cache when it starts serving a newer revision. */
export function documentChanged(change: DocumentChange): void {
  for (const [name, handler] of handlers()) {
    try {
      handler(change);
    } catch (error) {
      log.error("document_change.handler_failed", { handler: name, environment__id: change.environmentId, error });
    }
  }
}
