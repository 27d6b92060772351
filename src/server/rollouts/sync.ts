/**
 * `npm run flags:sync`: the current environment document of Flagpost's own flags, downloaded from a
 * Flagsmith-compatible API into the shipped file, with a summary of what changed (what Flagsmith's
 * `updateflagsmithenvironment` management command does). Pure pieces here; the command is
 * scripts/flags-sync.ts.
 */
import type { EnvironmentDocument } from "@/server/engine/document";
import { GATE_NAMES } from "./gates";

export interface FlagsDiff {
  added: string[];
  removed: string[];
  changed: string[];
  segmentsAdded: string[];
  segmentsRemoved: string[];
  segmentsChanged: string[];
  /** Gates Flagpost evaluates that the new document does not define (they fall back to their default). */
  missingGates: string[];
}

function byName<T>(items: T[], name: (item: T) => string): Map<string, T> {
  return new Map(items.map((item) => [name(item), item]));
}

function describeState(state: EnvironmentDocument["feature_states"][number]): string {
  const overrides = state.multivariate_feature_state_values.map((v) => `${v.multivariate_feature_option.value}:${v.percentage_allocation}`).join(",");
  return `${state.enabled ? "on" : "off"} ${JSON.stringify(state.feature_state_value)}${overrides ? ` [${overrides}]` : ""}`;
}

/** What changes between the shipped document and the downloaded one. */
export function diffFlags(before: EnvironmentDocument | null, after: EnvironmentDocument): FlagsDiff {
  const old = byName(before?.feature_states ?? [], (state) => state.feature.name);
  const next = byName(after.feature_states, (state) => state.feature.name);
  const oldSegments = byName(before?.project.segments ?? [], (segment) => segment.name);
  const newSegments = byName(after.project.segments, (segment) => segment.name);
  return {
    added: [...next.keys()].filter((name) => !old.has(name)).sort(),
    removed: [...old.keys()].filter((name) => !next.has(name)).sort(),
    changed: [...next.entries()]
      .filter(([name, state]) => old.has(name) && describeState(old.get(name)!) !== describeState(state))
      .map(([name, state]) => `${name}: ${describeState(old.get(name)!)} → ${describeState(state)}`)
      .sort(),
    segmentsAdded: [...newSegments.keys()].filter((name) => !oldSegments.has(name)).sort(),
    segmentsRemoved: [...oldSegments.keys()].filter((name) => !newSegments.has(name)).sort(),
    segmentsChanged: [...newSegments.entries()]
      .filter(([name, segment]) => oldSegments.has(name) && JSON.stringify(oldSegments.get(name)) !== JSON.stringify(segment))
      .map(([name]) => name)
      .sort(),
    missingGates: GATE_NAMES.filter((gate) => !next.has(gate)),
  };
}

/** The diff as lines for the terminal. */
export function describeDiff(diff: FlagsDiff): string[] {
  const lines: string[] = [];
  const list = (label: string, items: string[]) => {
    if (items.length > 0) lines.push(`${label}: ${items.join(", ")}`);
  };
  list("features added", diff.added);
  list("features removed", diff.removed);
  for (const change of diff.changed) lines.push(`changed ${change}`);
  list("segments added", diff.segmentsAdded);
  list("segments removed", diff.segmentsRemoved);
  list("segments changed", diff.segmentsChanged);
  if (diff.missingGates.length > 0) lines.push(`warning: no feature for gate(s) ${diff.missingGates.join(", ")} (they fall back to their defaults)`);
  if (lines.length === 0) lines.push("no changes");
  return lines;
}
