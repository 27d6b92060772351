/** Variants of Flagpost's own shipped flags file, for tests of gates in both states. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { EnvironmentDocument } from "../../src/server/engine/document";

const root = path.resolve(__dirname, "../..");

export function shippedFlags(): EnvironmentDocument {
  return JSON.parse(fs.readFileSync(path.join(root, "config/flagpost-flags.json"), "utf8")) as EnvironmentDocument;
}

/** Writes a flags file where each listed gate is on or off (others as shipped); returns its path. */
export function flagsFileWith(gates: Record<string, boolean>, edit: (document: EnvironmentDocument) => void = () => undefined): string {
  const document = shippedFlags();
  for (const state of document.feature_states) if (state.feature.name in gates) state.enabled = gates[state.feature.name];
  edit(document);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "flagpost-flags-")), "flags.json");
  fs.writeFileSync(file, JSON.stringify(document));
  return file;
}
