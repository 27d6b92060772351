/**
 * The theme choice as the page starts: kept apart from theme.tsx (a client module) so that the root
 * layout, a server component, can inline the script.
 */

export type ThemePreference = "system" | "light" | "dark";
export const THEME_STORAGE_KEY = "flagpost:theme";
export const DARK_QUERY = "(prefers-color-scheme: dark)";

export function parsePreference(value: string | null): ThemePreference {
  return value === "light" || value === "dark" ? value : "system";
}

/** The theme shown for a preference, given whether the system prefers dark. */
export function resolveTheme(preference: ThemePreference, systemDark: boolean): "light" | "dark" {
  return preference === "system" ? (systemDark ? "dark" : "light") : preference;
}

/**
 * Runs in <head> before the body is parsed: `data-theme` on <html> from the stored choice, else the
 * system's (the same rule as `resolveTheme`; a script cannot import it).
 */
export const THEME_SCRIPT = `(function(){try{var p=localStorage.getItem(${JSON.stringify(THEME_STORAGE_KEY)});var d=p==="dark"||(p!=="light"&&window.matchMedia(${JSON.stringify(DARK_QUERY)}).matches);document.documentElement.dataset.theme=d?"dark":"light";}catch(e){document.documentElement.dataset.theme="light";}})();`;
