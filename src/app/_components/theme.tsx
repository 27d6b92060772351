"use client";

/**
 * Light and dark themes. The choice (light, dark, or the system's `prefers-color-scheme`) is kept in
 * localStorage and shown as `data-theme` on <html>: set before the first paint by THEME_SCRIPT
 * (theme-script.ts, inlined by the root layout), then kept up to date by <ThemeSync>.
 */
import { useEffect, useSyncExternalStore } from "react";
import { DARK_QUERY, parsePreference, resolveTheme, THEME_STORAGE_KEY, type ThemePreference } from "./theme-script";

function applyTheme(preference: ThemePreference) {
  document.documentElement.dataset.theme = resolveTheme(preference, window.matchMedia(DARK_QUERY).matches);
}

const listeners = new Set<() => void>();
function subscribe(listener: () => void) {
  listeners.add(listener);
  window.addEventListener("storage", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", listener);
  };
}

function readPreference(): ThemePreference {
  try {
    return parsePreference(window.localStorage.getItem(THEME_STORAGE_KEY));
  } catch {
    return "system";
  }
}

function setPreference(preference: ThemePreference) {
  try {
    if (preference === "system") window.localStorage.removeItem(THEME_STORAGE_KEY);
    else window.localStorage.setItem(THEME_STORAGE_KEY, preference);
  } catch {
    // Storage refused (private mode): the choice lasts until the page is left.
  }
  applyTheme(preference);
  for (const listener of listeners) listener();
}

function usePreference(): ThemePreference {
  return useSyncExternalStore(subscribe, readPreference, () => "system" as const);
}

/** Keeps <html data-theme> up to date: the system's changes while following it, another tab's choice. */
export function ThemeSync() {
  const preference = usePreference();
  useEffect(() => {
    applyTheme(preference);
    if (preference !== "system") return;
    const media = window.matchMedia(DARK_QUERY);
    const onChange = () => applyTheme("system");
    media.addEventListener("change", onChange);
    return () => media.removeEventListener("change", onChange);
  }, [preference]);
  return null;
}

/** "Theme: System / Light / Dark" (a select, for the sidebar). */
export function ThemeSwitch({ id = "theme-switcher" }: { id?: string }) {
  const preference = usePreference();
  return (
    <div className="switcher">
      <label htmlFor={id}>Theme</label>
      <select id={id} value={preference} onChange={(event) => setPreference(parsePreference(event.target.value))}>
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </div>
  );
}
