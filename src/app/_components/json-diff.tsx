"use client";

/**
 * An audit entry's before/after as a field-by-field diff: each leaf value by its path
 * (`allocations › "green"`, `priorities › #1`), marked added, removed, changed or unchanged, so that
 * a reader sees what changed without comparing two JSON dumps. The server sends before/after with
 * names rather than internal ids (src/server/audit/readable.ts); list positions read from 1 here.
 */
import { useState } from "react";
import { plural } from "@/server/text";

export type DiffKind = "added" | "removed" | "changed" | "unchanged";
export interface DiffEntry {
  /** Machine path (`allocations[0].percentageAllocation`): unique, the row's key. */
  path: string;
  /** The path as people read it: `allocations › #1 › percentageAllocation` (positions from 1). */
  label: string;
  kind: DiffKind;
  before?: unknown;
  after?: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

interface Leaf {
  value: unknown;
  label: string;
}

/** Leaf values by path, in document order; empty objects and arrays are leaves. */
function flatten(value: unknown, path = "", label = "", into = new Map<string, Leaf>()): Map<string, Leaf> {
  const below = (part: string) => (label ? `${label} › ${part}` : part);
  if (Array.isArray(value) && value.length > 0) value.forEach((item, index) => flatten(item, `${path}[${index}]`, below(`#${index + 1}`), into));
  else if (isObject(value) && Object.keys(value).length > 0) for (const [key, item] of Object.entries(value)) flatten(item, path ? `${path}.${key}` : key, below(key), into);
  else into.set(path, { value, label });
  return into;
}

/**
 * The fields of `before` and `after` (either may be null: a creation or a deletion), in `after`'s
 * order with removed fields where they were.
 */
export function diffJson(before: unknown, after: unknown): DiffEntry[] {
  const was = before === null || before === undefined ? new Map<string, Leaf>() : flatten(before);
  const now = after === null || after === undefined ? new Map<string, Leaf>() : flatten(after);
  const order: string[] = [...now.keys()];
  let previous = -1;
  for (const path of was.keys()) {
    const at = order.indexOf(path);
    if (at >= 0) previous = at;
    else order.splice(++previous, 0, path);
  }
  return order.map((path) => {
    const b = was.get(path);
    const a = now.get(path);
    if (!a) return { path, label: b!.label, kind: "removed", before: b!.value };
    if (!b) return { path, label: a.label, kind: "added", after: a.value };
    return { path, label: a.label, kind: JSON.stringify(b.value) === JSON.stringify(a.value) ? "unchanged" : "changed", before: b.value, after: a.value };
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
                <code>{entry.label || "(value)"}</code>
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
