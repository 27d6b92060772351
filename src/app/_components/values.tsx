"use client";

/**
 * Typed flag values in forms: a value editor (text / number / boolean / none), a short preview,
 * and the multivariate allocation editor with its stacked bar. Parsing here only turns what was
 * typed into the API's value types; the rules (whole numbers, allocations ≤ 100) are the server's
 * own checks (`@/server/features/values`, a pure module), run early for inline errors.
 */
import { useId } from "react";
import { checkAllocations } from "@/server/features/values";
import type { FlagValue } from "./types";

export type ValueKind = "string" | "integer" | "boolean" | "none";

/** What a value editor holds while editing. */
export interface ValueDraft {
  kind: ValueKind;
  text: string;
}

export const EMPTY_DRAFT: ValueDraft = { kind: "string", text: "" };

export function draftOf(value: FlagValue | undefined): ValueDraft {
  if (value === null || value === undefined) return { kind: "none", text: "" };
  if (typeof value === "boolean") return { kind: "boolean", text: String(value) };
  if (typeof value === "number") return { kind: "integer", text: String(value) };
  return { kind: "string", text: value };
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** A draft as the API's value, or the message to show next to the editor. */
export function parseValue(draft: ValueDraft): Parsed<FlagValue> {
  switch (draft.kind) {
    case "none":
      return { ok: true, value: null };
    case "boolean":
      return { ok: true, value: draft.text === "true" };
    case "integer": {
      const text = draft.text.trim();
      if (!/^-?\d+$/.test(text)) return { ok: false, error: "Enter a whole number, e.g. 42" };
      const value = Number(text);
      if (!Number.isSafeInteger(value)) return { ok: false, error: "This number is too large" };
      return { ok: true, value };
    }
    default:
      return { ok: true, value: draft.text };
  }
}

/** Trait values also allow decimals (Flagsmith keeps int, float, bool and str). */
export function parseTraitValue(draft: ValueDraft): Parsed<FlagValue> {
  if (draft.kind !== "integer") return parseValue(draft);
  const text = draft.text.trim();
  const value = Number(text);
  if (text === "" || !Number.isFinite(value)) return { ok: false, error: "Enter a number, e.g. 42 or 1.5" };
  return { ok: true, value };
}

const KIND_LABELS: Record<ValueKind, string> = { string: "Text", integer: "Number", boolean: "Boolean", none: "None" };

/** A labelled typed-value editor: a type select (`<label> type`) next to the input (`<label>`). */
export function ValueEditor({
  label,
  draft,
  onChange,
  error,
  hint,
  disabled,
  multiline = true,
}: {
  label: string;
  draft: ValueDraft;
  onChange: (draft: ValueDraft) => void;
  error?: string;
  hint?: string;
  disabled?: boolean;
  multiline?: boolean;
}) {
  const id = useId();
  const describedBy = error || hint ? `${id}-value-description` : undefined;
  const setKind = (kind: ValueKind) => {
    if (kind === draft.kind) return;
    if (kind === "boolean") onChange({ kind, text: draft.text === "false" ? "false" : "true" });
    else if (kind === "none") onChange({ kind, text: "" });
    else if (kind === "integer") onChange({ kind, text: /^-?\d+$/.test(draft.text.trim()) ? draft.text.trim() : "" });
    else onChange({ kind, text: draft.kind === "none" ? "" : draft.text });
  };
  return (
    <div className={`field ${error ? "field-invalid" : ""}`}>
      <label htmlFor={`${id}-value`}>{label}</label>
      <div className="value-editor">
        <select
          className="input value-kind"
          aria-label={`${label} type`}
          value={draft.kind}
          disabled={disabled}
          onChange={(e) => setKind(e.target.value as ValueKind)}
        >
          {(Object.keys(KIND_LABELS) as ValueKind[]).map((kind) => (
            <option key={kind} value={kind}>
              {KIND_LABELS[kind]}
            </option>
          ))}
        </select>
        {draft.kind === "boolean" ? (
          <select
            id={`${id}-value`}
            className="input"
            value={draft.text}
            disabled={disabled}
            onChange={(e) => onChange({ ...draft, text: e.target.value })}
            aria-invalid={error ? true : undefined}
            aria-describedby={describedBy}
          >
            <option value="true">true</option>
            <option value="false">false</option>
          </select>
        ) : draft.kind === "none" ? (
          <input id={`${id}-value`} className="input" value="" placeholder="No value" disabled readOnly />
        ) : draft.kind === "integer" ? (
          <input
            id={`${id}-value`}
            className="input mono"
            inputMode="numeric"
            value={draft.text}
            disabled={disabled}
            placeholder="42"
            aria-invalid={error ? true : undefined}
            aria-describedby={describedBy}
            onChange={(e) => onChange({ ...draft, text: e.target.value })}
          />
        ) : multiline ? (
          <textarea
            id={`${id}-value`}
            className="input mono value-text"
            value={draft.text}
            disabled={disabled}
            rows={draft.text.includes("\n") ? 4 : 1}
            placeholder="Text, or JSON for remote config"
            aria-invalid={error ? true : undefined}
            aria-describedby={describedBy}
            onChange={(e) => onChange({ ...draft, text: e.target.value })}
          />
        ) : (
          <input
            id={`${id}-value`}
            className="input mono"
            value={draft.text}
            disabled={disabled}
            aria-invalid={error ? true : undefined}
            aria-describedby={describedBy}
            onChange={(e) => onChange({ ...draft, text: e.target.value })}
          />
        )}
      </div>
      {error ? (
        <p className="field-error" role="alert" id={describedBy}>
          {error}
        </p>
      ) : hint ? (
        <p className="field-hint" id={describedBy}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** A value shown inline: typed, truncated, "none" for no value. */
export function ValuePreview({ value, max = 40 }: { value: FlagValue | undefined; max?: number }) {
  if (value === null || value === undefined) return <span className="muted small">none</span>;
  const text = typeof value === "string" ? value : String(value);
  const short = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return (
    <code className={`value-preview value-${typeof value}`} title={text.length > max ? text : undefined}>
      {typeof value === "string" ? `"${short}"` : short}
    </code>
  );
}

// ---------------------------------------------------------------------------------------------
// Multivariate allocations
// ---------------------------------------------------------------------------------------------

export interface VariationLike {
  id: number;
  value: FlagValue;
  key: string | null;
}

export const BAR_COLOURS = ["#5b4fe6", "#1f9d63", "#e0902f", "#d63a4a", "#2f8fe0", "#9b4fd6", "#3fb7b0", "#c2566f"];

export function variationLabel(option: { value: FlagValue; key: string | null }): string {
  if (option.key) return option.key;
  if (option.value === null) return "none";
  const text = typeof option.value === "string" ? option.value : String(option.value);
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
}

/** A stacked bar of allocations (with the control value taking the remainder). */
export function AllocationBar({ parts }: { parts: readonly { label: string; percentage: number }[] }) {
  const total = parts.reduce((sum, part) => sum + (Number.isFinite(part.percentage) ? Math.max(part.percentage, 0) : 0), 0);
  const control = Math.max(0, 100 - total);
  const description = [...parts.map((p) => `${p.label} ${formatPercent(p.percentage)}`), `control ${formatPercent(control)}`].join(", ");
  const scale = total > 100 ? 100 / total : 1;
  return (
    <div className="allocation-bar-wrap">
      <div className={`bar allocation-bar ${total > 100 ? "bar-over" : ""}`} role="img" aria-label={`Allocation: ${description}`}>
        {parts.map((part, index) => (
          <span key={index} style={{ width: `${Math.max(part.percentage, 0) * scale}%`, background: BAR_COLOURS[index % BAR_COLOURS.length] }} title={`${part.label}: ${formatPercent(part.percentage)}`} />
        ))}
        {control > 0 ? <span style={{ width: `${control}%`, background: "var(--bar-control)" }} title={`Control: ${formatPercent(control)}`} /> : null}
      </div>
      <ul className="legend">
        {parts.map((part, index) => (
          <li key={index}>
            <span className="swatch" style={{ background: BAR_COLOURS[index % BAR_COLOURS.length] }} />
            {part.label} {formatPercent(part.percentage)}
          </li>
        ))}
        <li>
          <span className="swatch" style={{ background: "var(--bar-control)" }} />
          control {formatPercent(control)}
        </li>
      </ul>
    </div>
  );
}

export function formatPercent(value: number): string {
  if (!Number.isFinite(value)) return "?%";
  return `${Math.round(value * 100) / 100}%`;
}

/** Allocation texts by option id. */
export type AllocationDrafts = Record<number, string>;

export function allocationDraftsOf(allocations: readonly { optionId: number; percentageAllocation: number }[]): AllocationDrafts {
  return Object.fromEntries(allocations.map((a) => [a.optionId, String(a.percentageAllocation)]));
}

/** Parses percentage text: a number 0–100, or the message to show. */
export function parsePercent(text: string): Parsed<number> {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (trimmed === "" || !Number.isFinite(value)) return { ok: false, error: "Enter a percentage" };
  if (value < 0 || value > 100) return { ok: false, error: "Allocations are between 0 and 100" };
  return { ok: true, value };
}

/** Every option's allocation (missing ones 0), or the first problem (a bad number, a sum over 100). */
export function parseAllocations(options: readonly VariationLike[], drafts: AllocationDrafts): Parsed<{ optionId: number; percentageAllocation: number }[]> {
  const allocations: { optionId: number; percentageAllocation: number }[] = [];
  for (const option of options) {
    const parsed = parsePercent(drafts[option.id] ?? "0");
    if (!parsed.ok) return { ok: false, error: `${variationLabel(option)}: ${parsed.error}` };
    allocations.push({ optionId: option.id, percentageAllocation: parsed.value });
  }
  const problem = checkAllocations(allocations.map((a) => a.percentageAllocation));
  return problem ? { ok: false, error: problem } : { ok: true, value: allocations };
}

/** Sum-over-100 check for percentages typed so far (for a live inline error). */
export function allocationSumProblem(percentages: readonly number[]): string | null {
  return checkAllocations(percentages.filter((p) => Number.isFinite(p)));
}

/**
 * Per-option percentage inputs with the stacked bar and the control remainder; `error` shows
 * under the bar (a sum over 100, or the server's `allocations` message).
 */
export function AllocationsEditor({
  options,
  drafts,
  onChange,
  error,
  disabled,
  legend = "Allocations",
}: {
  options: readonly VariationLike[];
  drafts: AllocationDrafts;
  onChange: (drafts: AllocationDrafts) => void;
  error?: string;
  disabled?: boolean;
  legend?: string;
}) {
  const id = useId();
  if (options.length === 0) return null;
  const parts = options.map((option) => ({ label: variationLabel(option), percentage: Number(drafts[option.id] ?? "0") }));
  const live = allocationSumProblem(parts.map((p) => p.percentage));
  const shown = error ?? live ?? undefined;
  return (
    <fieldset className={`allocations ${shown ? "allocations-invalid" : ""}`}>
      <legend>{legend}</legend>
      <div className="allocation-rows">
        {options.map((option, index) => (
          <div className="allocation-row" key={option.id}>
            <span className="swatch" style={{ background: BAR_COLOURS[index % BAR_COLOURS.length] }} />
            <label htmlFor={`${id}-${option.id}`} className="allocation-label">
              <ValuePreview value={option.value} max={30} /> {option.key ? <span className="muted small">({option.key})</span> : null}
            </label>
            <span className="percent-input">
              <input
                id={`${id}-${option.id}`}
                className="input"
                type="number"
                min={0}
                max={100}
                step="any"
                aria-label={`Allocation for ${variationLabel(option)} (%)`}
                value={drafts[option.id] ?? "0"}
                disabled={disabled}
                aria-invalid={shown ? true : undefined}
                onChange={(e) => onChange({ ...drafts, [option.id]: e.target.value })}
              />
              <span aria-hidden>%</span>
            </span>
          </div>
        ))}
      </div>
      <AllocationBar parts={parts} />
      {shown ? (
        <p className="field-error" role="alert">
          {shown}
        </p>
      ) : null}
    </fieldset>
  );
}
