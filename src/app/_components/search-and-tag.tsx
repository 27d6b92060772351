"use client";

/**
 * The search box and tag choice of the feature lists (an environment's features, the compare page):
 * fields of a `.filters` bar; the caller keeps the values (in the address, debounced).
 */
export function SearchAndTagFields(props: { idPrefix: string; search: string; onSearch: (value: string) => void; tag: string; onTag: (value: string) => void; tags: readonly string[] }) {
  const { idPrefix, search, onSearch, tag, onTag, tags } = props;
  return (
    <>
      <div className="field grow">
        <label htmlFor={`${idPrefix}-search`}>Search</label>
        <input
          id={`${idPrefix}-search`}
          className="input"
          type="search"
          placeholder="Feature name…"
          aria-keyshortcuts="/"
          value={search}
          onChange={(e) => onSearch(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${idPrefix}-tag`}>Tag</label>
        <select id={`${idPrefix}-tag`} className="input" value={tag} onChange={(e) => onTag(e.target.value)}>
          <option value="">All tags</option>
          {tags.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </div>
    </>
  );
}
