/**
 * Names the translator invents: variant keys and `$evaluators` names.
 *
 * flagd matches a targeting result against variant keys, and expands `{"$ref": "<name>"}` by text, after
 * JSON-encoding; Go escapes `<`, `>`, `&` and quotes/backslashes would not survive. Every generated name therefore
 * matches NAME_PATTERN.
 */

export const NAME_PATTERN = /^[A-Za-z0-9_.:-]+$/;

/** Runs of characters outside `[A-Za-z0-9_-]` become `-`; leading/trailing `-` trimmed; `fallback` when empty. */
export function slugify(text: string, fallback: string): string {
  const slug = text.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "");
  return slug.length > 0 ? slug : fallback;
}

/** Hands out unique names: the first request for a base gets it verbatim, later ones `-2`, `-3`, … */
export class NameAllocator {
  private readonly used = new Set<string>();

  /** Marks names as taken without allocating them (e.g. `control`). */
  reserve(...names: string[]): void {
    for (const name of names) this.used.add(name);
  }

  allocate(base: string): string {
    if (!this.used.has(base)) {
      this.used.add(base);
      return base;
    }
    for (let n = 2; ; n++) {
      const candidate = `${base}-${n}`;
      if (!this.used.has(candidate)) {
        this.used.add(candidate);
        return candidate;
      }
    }
  }
}
