/**
 * Pieces of audit summaries (the one-line, human-readable text of every audit row).
 */
import type { StoredValue } from "@/server/db/schema";

/** A value as a short human-readable string for audit summaries. */
export function describeValue(value: StoredValue | undefined): string {
  if (value === null || value === undefined) return "none";
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** How audit summaries (and before/after) name a multivariate option: its key, else its value. */
export function optionLabel(option: { value: StoredValue; key: string | null }): string {
  return option.key ? JSON.stringify(option.key) : describeValue(option.value);
}
