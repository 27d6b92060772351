/**
 * The compare page's filters, kept in its query string like the feature list's
 * (`?q=…&tag=…&archived=1&diff=1&from=<environment id>`): a reload, a shared link or Back shows the
 * same matrix, compared with the same environment. Pure functions: the page reads and writes the URL.
 */

export interface CompareFilters {
  search: string;
  tag: string;
  /** Archived features listed too (marked). */
  archived: boolean;
  /** Only the features whose state is not the same in every environment. */
  onlyDifferences: boolean;
  /** The environment the others are compared with (and copied from); null: the project's first. */
  referenceId: number | null;
}

export const DEFAULT_COMPARE_FILTERS: CompareFilters = { search: "", tag: "", archived: false, onlyDifferences: false, referenceId: null };

/** The filters a query string asks for (malformed values fall back to the defaults). */
export function compareFiltersFromParams(params: { get(name: string): string | null }): CompareFilters {
  const from = params.get("from");
  const referenceId = from !== null && /^[1-9][0-9]{0,9}$/.test(from) ? Number(from) : null;
  return {
    search: params.get("q") ?? "",
    tag: params.get("tag") ?? "",
    archived: params.get("archived") === "1",
    onlyDifferences: params.get("diff") === "1",
    referenceId,
  };
}

/** `params` (other parameters kept) with `filters` written into it; defaults are left out. Returns "" or "?…". */
export function queryWithCompareFilters(params: { toString(): string }, filters: CompareFilters): string {
  const next = new URLSearchParams(params.toString());
  const set = (name: string, value: string | null) => (value ? next.set(name, value) : next.delete(name));
  set("q", filters.search.trim() || null);
  set("tag", filters.tag || null);
  set("archived", filters.archived ? "1" : null);
  set("diff", filters.onlyDifferences ? "1" : null);
  set("from", filters.referenceId !== null ? String(filters.referenceId) : null);
  const query = next.toString();
  return query ? `?${query}` : "";
}
