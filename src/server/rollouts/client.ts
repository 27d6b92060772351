/**
 * Flagpost's own OpenFeature client (web and worker): `@openfeature/server-sdk` with
 * `@openfeature/flagsmith-provider` over flagsmith-nodejs in local-evaluation mode (source.ts), in
 * its own OpenFeature domain ("flagpost") so it never touches a default provider, created once per
 * process. Evaluations appear on the current span (OpenTelemetry span-event hook).
 */
import { FlagsmithOpenFeatureProvider } from "@openfeature/flagsmith-provider";
import { SpanEventHook } from "@openfeature/open-telemetry-hooks";
import { OpenFeature, type Client } from "@openfeature/server-sdk";
import { processSlot } from "@/server/singleton";
import { getLogger } from "@/server/observability/logger";
import { openFlagsSource, type FlagsSource } from "./source";

const log = getLogger("rollouts");

export const OPENFEATURE_DOMAIN = "flagpost";

interface RolloutsState {
  source: FlagsSource;
  client: Client;
  /** Distinguishes clients created one after the other (tests, a restart of the source). */
  epoch: number;
  /** Settled once the provider is ready (evaluations before that would answer the default). */
  ready: Promise<void>;
}

const epochs = processSlot<{ next: number }>("openFeatureClientEpochs");

const slot = processSlot<RolloutsState>("openFeatureClient");

/** Who wants to know when Flagpost's own flags change, by name (one registration per name, whichever module copy registers). */
const changeListeners = processSlot<Map<string, () => void>>("openFeatureFlagsListeners");

function flagsChanged(): void {
  for (const [name, listener] of changeListeners.getOrCreate(() => new Map())) {
    try {
      listener();
    } catch (error) {
      log.error("flags.listener_failed", { listener: name, error });
    }
  }
}

/**
 * Runs `listener` whenever the flags document in use changes (a poll of the flags API brought a
 * different one), so that what was allowed under the old one (open streams) is checked again at
 * once rather than at its next periodic check. Registered once per `name`.
 */
export function onFlagsChanged(name: string, listener: () => void): void {
  changeListeners.getOrCreate(() => new Map()).set(name, listener);
}

function create(): RolloutsState {
  const source = openFlagsSource(flagsChanged);
  // The provider is typed against its own copy of flagsmith-nodejs (6.x); Flagpost's (8.x) has the
  // same client surface the provider uses (getIdentityFlags, getEnvironmentFlags, Flags.getFlag).
  const provider = new FlagsmithOpenFeatureProvider(source.client as unknown as ConstructorParameters<typeof FlagsmithOpenFeatureProvider>[0]);
  const ready = OpenFeature.setProviderAndWait(OPENFEATURE_DOMAIN, provider).catch(() => undefined);
  const client = OpenFeature.getClient(OPENFEATURE_DOMAIN);
  client.addHooks(new SpanEventHook());
  const counter = epochs.getOrCreate(() => ({ next: 0 }));
  counter.next += 1;
  return { source, client, epoch: counter.next, ready };
}

/** The process's OpenFeature client for Flagpost's own flags. */
export function getOpenFeatureClient(): Client {
  return slot.getOrCreate(create).client;
}

/** Settled once the client's provider is ready. */
export function openFeatureReady(): Promise<void> {
  return slot.getOrCreate(create).ready;
}

/** Bumped whenever the flags document in use changes (gates.ts drops what it memoised). */
export function flagsGeneration(): string {
  const state = slot.getOrCreate(create);
  return `${state.epoch}:${state.source.generation()}`;
}

/** Which source is in use (`shipped` file or `api`). */
export function flagsSourceKind(): "shipped" | "api" {
  return slot.getOrCreate(create).source.kind;
}

/** Shutdown and tests: stops polling and forgets the client (the next use creates it again from the settings). */
export async function closeOpenFeatureClient(): Promise<void> {
  const current = slot.get();
  slot.set(undefined);
  if (current) await current.source.close();
}
