/**
 * Where Flagpost's own flags come from (docs/rollouts.md):
 *
 * - default: the environment document shipped in the repository (`config/flagpost-flags.json`, or
 *   FLAGPOST_FLAGS_FILE), evaluated offline: no network, no second instance;
 * - with FLAGPOST_FLAGS_API_URL and FLAGPOST_FLAGS_SERVER_KEY: local evaluation against that
 *   Flagsmith-compatible API (another Flagpost, or this one), its environment document polled every
 *   FLAGPOST_FLAGS_REFRESH_SECONDS. Until the first document arrives, and whenever a refresh fails,
 *   the last document (or else the shipped file) stays in use.
 *
 * Both are a flagsmith-nodejs client in local-evaluation mode; the document it evaluates comes from
 * a handler that holds the last good one.
 */
import fs from "node:fs";
import path from "node:path";
import { BaseOfflineHandler, Flagsmith, LocalFileHandler, type EnvironmentModel } from "flagsmith-nodejs";
import pino from "pino";
import { settings } from "@/server/config";
import { getLogger } from "@/server/observability/logger";
import { flagsRefreshes, flagsSource } from "./metrics";

const log = getLogger("rollouts");

/** How often a failed refresh is logged at most (the client keeps polling). */
const FAILURE_LOG_INTERVAL_MS = 60_000;

export function shippedFlagsFile(): string {
  // A file chosen at run time (FLAGPOST_FLAGS_FILE): not something for the bundler to trace.
  return path.resolve(/*turbopackIgnore: true*/ process.cwd(), settings().flagsFile);
}

/** Serves the last good document: the latest fetched from the API, else the shipped file. */
class LastGoodDocument extends BaseOfflineHandler {
  latest: EnvironmentModel | null = null;

  constructor(private readonly shipped: EnvironmentModel) {
    super();
  }

  getEnvironment(): EnvironmentModel {
    return this.latest ?? this.shipped;
  }
}

export interface FlagsSource {
  client: Flagsmith;
  kind: "shipped" | "api";
  /** Bumped whenever the document in use changes (evaluations memoised under an older one are dropped). */
  generation(): number;
  close(): Promise<void>;
}

// flagsmith-nodejs logs through pino; its failures are reported through onEnvironmentChange instead.
const quiet = pino({ level: "silent" });

/** `onChanged` runs after the document in use changed (a poll brought a different one), once per change. */
export function openFlagsSource(onChanged: () => void = () => undefined): FlagsSource {
  const { flagsApiUrl, flagsServerKey, flagsRefreshSeconds } = settings();
  const file = shippedFlagsFile();
  if (!fs.existsSync(file)) throw new Error(`Flagpost's own flags file ${file} is missing (FLAGPOST_FLAGS_FILE)`);
  const shipped = new LocalFileHandler(file);
  let generation = 1;
  flagsSource.reset();
  if (!flagsApiUrl || !flagsServerKey) {
    flagsSource.set({ source: "shipped" }, 1);
    log.info("flags.loaded", { source: "shipped", features__count: shipped.getEnvironment().featureStates.length });
    const client = new Flagsmith({ offlineMode: true, offlineHandler: shipped, logger: quiet as never });
    return { client, kind: "shipped", generation: () => generation, close: () => client.close() };
  }

  const handler = new LastGoodDocument(shipped.getEnvironment());
  let lastFailureLoggedAt = 0;
  let failing = false;
  flagsSource.set({ source: "shipped" }, 1);
  const client = new Flagsmith({
    environmentKey: flagsServerKey,
    apiUrl: flagsApiUrl,
    enableLocalEvaluation: true,
    environmentRefreshIntervalSeconds: flagsRefreshSeconds,
    requestTimeoutSeconds: 5,
    retries: 0,
    offlineHandler: handler,
    // pino's type of flagsmith-nodejs's own copy; a silent logger either way.
    logger: quiet as never,
    onEnvironmentChange: (error, environment) => {
      if (error || !environment) {
        flagsRefreshes.inc({ result: "failure" });
        const now = Date.now();
        if (!failing || now - lastFailureLoggedAt >= FAILURE_LOG_INTERVAL_MS) {
          lastFailureLoggedAt = now;
          log.warn("flags.refresh_failed", { source: handler.latest ? "api_last_document" : "shipped", error });
        }
        failing = true;
        return;
      }
      flagsRefreshes.inc({ result: "success" });
      const changed = handler.latest === null || JSON.stringify(handler.latest) !== JSON.stringify(environment);
      if (failing || handler.latest === null) log.info("flags.loaded", { source: "api", features__count: environment.featureStates.length });
      failing = false;
      handler.latest = environment;
      flagsSource.set({ source: "shipped" }, 0);
      flagsSource.set({ source: "api" }, 1);
      if (changed) {
        generation += 1;
        onChanged();
      }
    },
  });
  return { client, kind: "api", generation: () => generation, close: () => client.close() };
}
