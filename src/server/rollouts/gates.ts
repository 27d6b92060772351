/**
 * Flagpost's own gates: capabilities that can be rolled out to some organisations first, or
 * switched off in production without a deploy (docs/rollouts.md). Each gate is a boolean feature in
 * Flagpost's own flags (source.ts), evaluated for the organisation the request is about
 * (contexts.ts). Its `fallback` is used only if the flags cannot be evaluated at all.
 *
 * `isGateOpen(gate, organisationId)` is synchronous once an answer is memoised for the current
 * flags document and organisation (the hot path of a gated endpoint); the memo is dropped whenever
 * the document changes.
 */
import { DomainError } from "@/server/errors";
import { processSlot } from "@/server/singleton";
import { flagsGeneration, getOpenFeatureClient, onFlagsChanged, openFeatureReady } from "./client";
import { organisationEvaluationContext, subjectEvaluationContext } from "./contexts";
import { gateEvaluations } from "./metrics";

export const GATES = {
  ofrep_api: { fallback: true, description: "OFREP remote evaluation endpoints (/ofrep/v1/…)" },
  realtime_streams: { fallback: true, description: "Server-sent event streams (/sse/environments/…/stream and OFREP's refetch events)" },
  flagd_grpc_sync: { fallback: true, description: "The flagd gRPC sync service for in-process providers" },
  context_evaluation: { fallback: true, description: "Admin UI: evaluation views and “Test a context”" },
} as const;

export type Gate = keyof typeof GATES;
export const GATE_NAMES = Object.keys(GATES) as Gate[];

interface Memo {
  generation: string;
  answers: Map<string, boolean>;
}

const slot = processSlot<Memo>("gateMemo");
const MEMO_MAX_ENTRIES = 20_000;

function memo(): Memo {
  const generation = flagsGeneration();
  const current = slot.getOrCreate(() => ({ generation, answers: new Map() }));
  if (current.generation !== generation) {
    current.generation = generation;
    current.answers.clear();
  }
  return current;
}

async function evaluate(gate: Gate, organisationId: number, userId: string | undefined, key: string, answers: Map<string, boolean>): Promise<boolean> {
  const context = subjectEvaluationContext(await organisationEvaluationContext(organisationId), userId);
  await openFeatureReady();
  const details = await getOpenFeatureClient().getBooleanDetails(gate, GATES[gate].fallback, context);
  const open = details.value;
  gateEvaluations.inc({ gate, result: details.errorCode ? "error" : open ? "on" : "off" });
  // A failed evaluation (its fallback) is not remembered: the next request tries again.
  if (details.errorCode) return open;
  if (answers.size >= MEMO_MAX_ENTRIES) answers.clear();
  answers.set(key, open);
  return open;
}

/**
 * Whether `gate` is open for the organisation (and, when a user is acting, for that user in it: see
 * contexts.ts `subjectEvaluationContext`). Synchronous when memoised.
 */
export function isGateOpen(gate: Gate, organisationId: number, userId?: string): boolean | Promise<boolean> {
  const { answers } = memo();
  const key = userId === undefined ? `${gate}|${organisationId}` : `${gate}|${organisationId}|${userId}`;
  const known = answers.get(key);
  if (known !== undefined) return known;
  return evaluate(gate, organisationId, userId, key, answers);
}

/**
 * Runs `listener` when the gates may have changed (Flagpost's own flags document changed): what a
 * gate admitted earlier and still holds open (event streams, gRPC sync streams) is checked again
 * then, not only at its next periodic check. One registration per `name`.
 */
export function onGatesChanged(name: string, listener: () => void): void {
  onFlagsChanged(name, listener);
}

/** Every gate's state for the organisation (the admin UI hides what is off). */
export async function gatesFor(organisationId: number, userId?: string): Promise<Record<Gate, boolean>> {
  const entries = await Promise.all(GATE_NAMES.map(async (gate) => [gate, await isGateOpen(gate, organisationId, userId)] as const));
  return Object.fromEntries(entries) as Record<Gate, boolean>;
}

/** For services behind a gate: a closed gate answers as if the capability did not exist (NOT_FOUND). */
export async function requireGate(gate: Gate, organisationId: number, userId?: string): Promise<void> {
  if (!(await isGateOpen(gate, organisationId, userId))) throw new DomainError("NOT_FOUND", "Not found");
}

/** The user acting through a tRPC call (none for an organisation API key): whose traits a gate sees. */
export function actingUserId(principal: { kind: string; userId?: string }): string | undefined {
  return principal.kind === "user" ? principal.userId : undefined;
}
