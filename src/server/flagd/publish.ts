/**
 * The flagd side of a document write (worker): translate the environment document built from the
 * same snapshot, serialise it once, and derive its strong ETag from those exact bytes. The web
 * process serves the stored bytes as they are (304 when `If-None-Match` matches), so an ETag
 * changes exactly when the served content does.
 */
import { createHash } from "node:crypto";
import { settings } from "@/server/config";
import type { EnvironmentDocument } from "@/server/engine/document";
import { getLogger } from "@/server/observability/logger";
import { flagdBuildSeconds, flagdDocumentBytes, flagdWarnings } from "./metrics";
import { slugify } from "./names";
import { TRANSLATOR_VERSION, translateEnvironment } from "./translator";
import type { FlagdDiagnostics } from "./types";

const log = getLogger("flagd");

export interface PublishedFlagd {
  document: string;
  etag: string;
  diagnostics: FlagdDiagnostics;
  translatorVersion: string;
}

export function strongEtag(bytes: string): string {
  return `"${createHash("sha256").update(bytes).digest("base64url")}"`;
}

/** `<project slug>/<environment slug>` (lower case), as Flagsmith's draft plugin names flag sets. */
export function flagSetId(document: EnvironmentDocument): string {
  return `${slugify(document.project.name.toLowerCase(), "x")}/${slugify(document.name.toLowerCase(), "x")}`;
}

export function translateForFlagd(document: EnvironmentDocument, options: { log?: boolean } = {}): PublishedFlagd {
  const stop = flagdBuildSeconds.startTimer();
  const { document: flagd, diagnostics } = translateEnvironment(document, {
    flagSetId: flagSetId(document),
    identityOverrideLimit: settings().flagdIdentityOverrideLimit,
  });
  const bytes = JSON.stringify(flagd);
  stop();
  flagdDocumentBytes.observe(Buffer.byteLength(bytes));
  const counts = new Map<string, number>();
  for (const warning of [...diagnostics.environmentWarnings, ...diagnostics.features.flatMap((f) => f.warnings)]) {
    counts.set(warning.reason, (counts.get(warning.reason) ?? 0) + 1);
  }
  for (const [reason, count] of counts) flagdWarnings.inc({ reason }, count);
  if (options.log !== false) {
    log.info("document.built", {
      environment__id: document.id,
      document__bytes: Buffer.byteLength(bytes),
      flags__count: Object.keys(flagd.flags).length,
      warnings__count: [...counts.values()].reduce((a, b) => a + b, 0),
      fidelity__exact: diagnostics.summary.exact,
      fidelity__approximate: diagnostics.summary.approximate,
      fidelity__lossy: diagnostics.summary.lossy,
    });
  }
  return { document: bytes, etag: strongEtag(bytes), diagnostics, translatorVersion: TRANSLATOR_VERSION };
}
