"use client";

/**
 * An audit entry's before/after as a field-by-field diff: each leaf value by its path
 * (`allocations[0].percentageAllocation`), marked added, removed, changed or unchanged, so that a
 * reader sees what changed without comparing two JSON dumps.
 */
import { useState } from "react";
import { plural } from "@/server/text";

export type DiffKind = "added" | "removed" | "changed" | "unchanged";
export interface DiffEntry {
  path: string;
  kind: DiffKind;
  before?: unknown;
  after?: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Leaf values by path, in document order; empty objects and arrays are leaves. */
function flatten(value: unknown, path = "", into = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(value) && value.length > 0) value.forEach((item, index) => flatten(item, `${path}[${index}]`, into));
  else if (isObject(value) && Object.keys(value).length > 0) for (const [key, item] of Object.entries(value)) flatten(item, path ? `${path}.${key}` : key, into);
  else into.set(path, value);
  return into;
}

/**
 * The fields of `before` and `after` (either may be null: a creation or a deletion), in `after`'s
 * order with removed fields where they were.
 */
export function diffJson(before: unknown, after: unknown): DiffEntry[] {
  const was = before === null || before === undefined ? new Map<string, unknown>() : flatten(before);
  const now = after === null || after === undefined ? new Map<string, unknown>() : flatten(after);
  const order: string[] = [...now.keys()];
  let previous = -1;
  for (const path of was.keys()) {
    const at = order.indexOf(path);
    if (at >= 0) previous = at;
    else order.splice(++previous, 0, path);
  }
  return order.map((path) => {
    if (!now.has(path)) return { path, kind: "removed", before: was.get(path) };
    if (!was.has(path)) return { path, kind: "added", after: now.get(path) };
    const b = was.get(path);
    const a = now.get(path);
    return { path, kind: JSON.stringify(b) === JSON.stringify(a) ? "unchanged" : "changed", before: b, after: a };
  });
}

function show(value: unknown): string {
  return value === undefined ? "" : JSON.stringify(value);
}

const MARKS: Record<DiffKind, string> = { added: "added", removed: "removed", changed: "changed", unchanged: "" };

/** The diff as a table; unchanged fields folded behind a button when there are changes. */
export function JsonDiff({ before, after }: { before: unknown; after: unknown }) {
  const entries = diffJson(before, after);
  const unchanged = entries.filter((entry) => entry.kind === "unchanged").length;
  const [showAll, setShowAll] = useState(unchanged === entries.length);
  const shown = showAll ? entries : entries.filter((entry) => entry.kind !== "unchanged");
  return (
    <div className="json-diff">
      <table className="diff-table">
        <caption className="sr-only">Changed fields</caption>
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((entry) => (
            <tr key={entry.path} className={`diff-${entry.kind}`} data-diff={entry.kind}>
              <th scope="row">
                <code>{entry.path || "(value)"}</code>
                {MARKS[entry.kind] ? <span className="diff-mark">{MARKS[entry.kind]}</span> : null}
              </th>
              <td>{entry.kind === "added" ? <span className="muted">—</span> : <code className="diff-before">{show(entry.before)}</code>}</td>
              <td>{entry.kind === "removed" ? <span className="muted">—</span> : <code className="diff-after">{show(entry.after)}</code>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {unchanged > 0 && unchanged < entries.length ? (
        <button type="button" className="btn btn-ghost btn-sm" aria-expanded={showAll} onClick={() => setShowAll(!showAll)}>
          {showAll ? "Hide unchanged fields" : `Show ${plural(unchanged, "unchanged field")}`}
        </button>
      ) : null}
    </div>
  );
}
