/**
 * The feature list's search, tag, "show archived" and sort, kept in the page's query string
 * (`?q=…&tag=…&archived=1&sort=…`) so that a reload, a shared link or Back shows the same list.
 * Pure functions: the page reads and writes the URL.
 */

export const FEATURE_SORTS = [
  { value: "name", label: "Name (A–Z)" },
  { value: "name-desc", label: "Name (Z–A)" },
  { value: "newest", label: "Newest first" },
  { value: "oldest", label: "Oldest first" },
  { value: "enabled", label: "Enabled first" },
] as const;

export type FeatureSort = (typeof FEATURE_SORTS)[number]["value"];

export interface FeatureFilters {
  search: string;
  tag: string;
  /** Archived features listed too (marked), not instead of the others. */
  archived: boolean;
  sort: FeatureSort;
}

export const DEFAULT_FEATURE_FILTERS: FeatureFilters = { search: "", tag: "", archived: false, sort: "name" };

const isSort = (value: string | null): value is FeatureSort => FEATURE_SORTS.some((sort) => sort.value === value);

/** The filters a query string asks for (unknown or malformed values fall back to the defaults). */
export function filtersFromParams(params: { get(name: string): string | null }): FeatureFilters {
  const sort = params.get("sort");
  return {
    search: params.get("q") ?? "",
    tag: params.get("tag") ?? "",
    archived: params.get("archived") === "1",
    sort: isSort(sort) ? sort : "name",
  };
}

/** `params` (other parameters kept) with `filters` written into it; defaults are left out. Returns "" or "?…". */
export function queryWithFilters(params: { toString(): string }, filters: FeatureFilters): string {
  const next = new URLSearchParams(params.toString());
  const set = (name: string, value: string | null) => (value ? next.set(name, value) : next.delete(name));
  set("q", filters.search.trim() || null);
  set("tag", filters.tag || null);
  set("archived", filters.archived ? "1" : null);
  set("sort", filters.sort === "name" ? null : filters.sort);
  const query = next.toString();
  return query ? `?${query}` : "";
}

interface Sortable {
  name: string;
  createdAt: string | Date;
  state?: { enabled: boolean } | null;
}

const byName = (a: Sortable, b: Sortable) => a.name.localeCompare(b.name, undefined, { sensitivity: "base", numeric: true });
const time = (value: string | Date) => new Date(value).getTime();

/** A sorted copy; ties fall back to the name (A–Z). */
export function sortFeatures<T extends Sortable>(rows: readonly T[], sort: FeatureSort): T[] {
  const copy = [...rows];
  switch (sort) {
    case "name":
      return copy.sort(byName);
    case "name-desc":
      return copy.sort((a, b) => byName(b, a));
    case "newest":
      return copy.sort((a, b) => time(b.createdAt) - time(a.createdAt) || byName(a, b));
    case "oldest":
      return copy.sort((a, b) => time(a.createdAt) - time(b.createdAt) || byName(a, b));
    case "enabled":
      return copy.sort((a, b) => Number(b.state?.enabled ?? false) - Number(a.state?.enabled ?? false) || byName(a, b));
  }
}
