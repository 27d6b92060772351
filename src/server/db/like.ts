/** LIKE / ILIKE patterns from user text: `%`, `_` and `\` match themselves. */
export function escapeLike(text: string): string {
  return text.replace(/[%_\\]/g, "\\$&");
}

/** Matches values containing `text` anywhere. */
export function containsPattern(text: string): string {
  return `%${escapeLike(text)}%`;
}
