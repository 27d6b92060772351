/**
 * Wording helpers for human-readable text (audit summaries, messages), shared with the admin UI.
 * Pure: imports nothing.
 */

/** `count` with its noun, singular for exactly one: `plural(1, "segment")` → "1 segment", `plural(2, "identity", "identities")` → "2 identities". */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
