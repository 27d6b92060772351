/**
 * Shared checks for generated flagd documents:
 * - JSON-schema validation against ../shared/testdata/flagd-schemas (ajv draft-07, `strict: false`, targeting.json
 *   added before compiling flags.json), as flagd.md §1.5 prescribes;
 * - loading into @openfeature/flagd-core with strict validation (`MemoryStorage.setConfigurations(str, true)`).
 * Plus resolution helpers mapping a flagd-core result to the comparable "enabled + value" shape.
 */
import fs from "node:fs";
import path from "node:path";
import type { EvaluationContext, FlagValueType, Logger } from "@openfeature/core";
import { FlagdCore, MemoryStorage } from "@openfeature/flagd-core";
import Ajv, { type ValidateFunction } from "ajv";
import { expect } from "vitest";
import type { FlagdDocument } from "@/server/flagd/types";

const SCHEMA_DIR = path.resolve(__dirname, "../../fixtures/flagd-schemas");

let validator: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (validator === undefined) {
    const ajv = new Ajv({ strict: false, allErrors: false });
    ajv.addSchema(JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, "targeting.json"), "utf8")));
    validator = ajv.compile(JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, "flags.json"), "utf8")));
  }
  return validator;
}

/** Collects flagd-core's log lines; errors and warnings fail `loadStrict`. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (...args: unknown[]) => {
    lines.push(`${level}: ${args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")}`);
  };
  return { lines, error: record("error"), warn: record("warn"), info: () => {}, debug: () => {} };
}

/** Schema errors of a document (empty when valid). */
export function schemaErrors(document: unknown): string[] {
  const validate = schemaValidator();
  if (validate(document)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}

/**
 * Asserts the document is schema-valid and loads in flagd-core with strict validation, without any targeting
 * parse error; returns the loaded core (compiled JsonLogic by default; `interpreter` = the mode edge runtimes use).
 */
export function loadStrict(document: FlagdDocument, options: { interpreter?: boolean } = {}): FlagdCore {
  expect(schemaErrors(document)).toEqual([]);
  const logger = recordingLogger();
  const storage = new MemoryStorage(logger, { disableDynamicCodeGeneration: options.interpreter ?? false });
  storage.setConfigurations(JSON.stringify(document), true);
  const core = new FlagdCore(storage, logger, { disableDynamicCodeGeneration: options.interpreter ?? false });
  expect(logger.lines).toEqual([]);
  return core;
}

/** What a flagd consumer observes: a value, or none (disabled / code default), or an error. */
export type FlagdObservation = { kind: "value"; value: unknown } | { kind: "none"; reason: string } | { kind: "error"; detail: string };

function flagType(document: FlagdDocument, key: string): FlagValueType {
  const first = Object.values(document.flags[key].variants)[0];
  return typeof first === "boolean" ? "boolean" : typeof first === "number" ? "number" : typeof first === "string" ? "string" : "object";
}

const NO_VALUE = Symbol("no value");

/**
 * Resolves a flag like a consumer with no code default of its own: a result with a variant is a value; DISABLED,
 * or DEFAULT without a variant, is "no value"; anything else (ERROR, unknown variant) is an error.
 */
export function observe(core: FlagdCore, document: FlagdDocument, key: string, context: EvaluationContext): FlagdObservation {
  const type = flagType(document, key);
  // The sentinel default shows whether flagd fell back to the caller's default.
  const details = core.resolve(type, key, NO_VALUE as never, context);
  if (details.errorCode !== undefined || details.reason === "ERROR") {
    return { kind: "error", detail: `${details.errorCode ?? ""} ${details.errorMessage ?? ""}` };
  }
  if (details.variant === undefined || (details.value as unknown) === NO_VALUE) {
    if (details.reason === "DISABLED" || details.reason === "DEFAULT") return { kind: "none", reason: details.reason };
    return { kind: "error", detail: `no variant with reason ${details.reason}` };
  }
  return { kind: "value", value: details.value };
}
