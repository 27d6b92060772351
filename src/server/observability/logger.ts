/**
 * The one logger factory. `getLogger("<domain>")` returns an event logger:
 *
 *   const log = getLogger("environments");
 *   log.info("environment_document.written", { environment__id: 7, document__bytes: 812 });
 *
 * writes one JSON line with `logger: "environments"`, `event: "environment_document.written"`,
 * `environment.id: 7`, `document.bytes: 812` (`__` in attribute names becomes `.`), merged with the
 * request context (`user.id`, `organisation.id`, `project.id`, `environment.id`) and, inside a span,
 * `trace_id`/`span_id`. The catalogue of events is docs/events.md; a unit test keeps it complete.
 *
 * Secrets never reach a line: attributes whose name looks like a secret are replaced, and string
 * values that look like Flagpost keys are masked.
 */
import pino, { type Logger as PinoLogger } from "pino";
import { trace } from "@opentelemetry/api";
import { settings } from "@/server/config";
import { contextBindings } from "./context";
import { processSlot } from "@/server/singleton";

export type Attributes = Record<string, unknown>;

export interface EventLogger {
  debug(event: string, attributes?: Attributes): void;
  info(event: string, attributes?: Attributes): void;
  warn(event: string, attributes?: Attributes): void;
  error(event: string, attributes?: Attributes): void;
}

const SECRET_NAME = /pass(word|wd)|secret|token|authori[sz]ation|cookie|api[_.-]?key|credential|session[_.-]?(id|token)|x-environment-key/i;
const SECRET_VALUE = /\b(ser\.[A-Za-z0-9_-]{6,}|fp_[A-Za-z0-9_-]{12,})/g;
export const REDACTED = "[REDACTED]";

/**
 * A failed database query's parameters: drizzle's errors read `Failed query: <sql>\nparams: <values>`,
 * and the values are the data (emails, password hashes, identifiers, trait values, key hashes). The
 * SQL text keeps only placeholders, so it stays; everything from `params:` on goes.
 */
const QUERY_PARAMS = /\nparams: [\s\S]*$/;
export const PARAMS_REDACTED = "\nparams: [REDACTED]";

/** A string as it may be logged: query parameters dropped, key-like values masked. */
function scrubText(text: string): string {
  const withoutParams = text.includes("\nparams: ") ? text.replace(QUERY_PARAMS, PARAMS_REDACTED) : text;
  return withoutParams.replace(SECRET_VALUE, REDACTED);
}

function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === "string") return scrubText(value);
  if (value instanceof Error) return serializeError(value);
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1));
  const out: Attributes = {};
  for (const [key, inner] of Object.entries(value as Attributes)) {
    out[key] = SECRET_NAME.test(key) ? REDACTED : scrubValue(inner, depth + 1);
  }
  return out;
}

/**
 * An error as logged: type, message, stack, code and cause; never a database error's query
 * parameters (nor pg's `detail`/`where`, which quote row values: not copied at all).
 */
function serializeError(error: Error): Attributes {
  const message = String(error.message);
  const out: Attributes = { type: error.name, message: scrubText(message) };
  if (error.stack) {
    // The stack starts with "<name>: <message>", which may span lines (parameters with newlines):
    // that head is replaced as a whole; otherwise everything from `params:` on goes (frames too).
    const head = `${error.name}: ${message}`;
    out.stack = error.stack.startsWith(head) ? `${error.name}: ${out.message as string}${scrubText(error.stack.slice(head.length))}` : scrubText(error.stack);
  }
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (error.cause instanceof Error) out.cause = serializeError(error.cause);
  return out;
}

/** `environment__id` → `environment.id`; secret-looking names are redacted. */
export function normaliseAttributes(attributes: Attributes | undefined): Attributes {
  const out: Attributes = {};
  if (!attributes) return out;
  for (const [key, value] of Object.entries(attributes)) {
    const name = key.replace(/__/g, ".");
    out[name] = SECRET_NAME.test(name) ? REDACTED : scrubValue(value, 0);
  }
  return out;
}

function mixin(): Attributes {
  const out: Attributes = { ...contextBindings() };
  const span = trace.getActiveSpan();
  if (span) {
    const spanContext = span.spanContext();
    if (spanContext.traceId !== "00000000000000000000000000000000") {
      out.trace_id = spanContext.traceId;
      out.span_id = spanContext.spanId;
    }
  }
  return out;
}

type Destination = { write(line: string): void };

const rootSlot = processSlot<PinoLogger>("rootLogger");

function createRoot(destination?: Destination): PinoLogger {
  return pino(
    {
      level: settings().logLevel,
      base: { service: settings().serviceName },
      messageKey: "message",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin,
      // Belt and braces for anything logged through pino directly.
      redact: {
        paths: ["headers.authorization", "headers.cookie", "password", "*.password", "apiKey", "*.apiKey"],
        censor: REDACTED,
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

function root(): PinoLogger {
  return rootSlot.getOrCreate(() => createRoot());
}

/** Sends every line to `destination` from now on (tests collect lines; CLIs send them to stderr). */
export function setLogDestination(destination: Destination | undefined): void {
  rootSlot.set(createRoot(destination));
}

export function getLogger(domain: string): EventLogger {
  const emit = (level: "debug" | "info" | "warn" | "error") => (event: string, attributes?: Attributes) => {
    const logger = root();
    if (!logger.isLevelEnabled(level)) return;
    logger[level]({ logger: domain, event, ...normaliseAttributes(attributes) });
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** Flush buffered lines (call before a process exits). */
export function flushLogs(): void {
  try {
    root().flush();
  } catch {
    // Nothing to flush into: the destination is already closed.
  }
}
