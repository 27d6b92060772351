"use client";

/**
 * Feedback while the next page loads: a thin bar at the top of the window (role progressbar) and
 * a polite "Loading page…" for screen readers. The App Router has no navigation events, so a
 * navigation starts when an internal link is clicked or when `useRouter().push/replace` (this
 * module's, not next/navigation's) goes to another address, and ends when the address (path or
 * query) changes. It shows only after a short delay, so that fast navigations do not flicker.
 */
import { usePathname, useRouter as useNextRouter, useSearchParams } from "next/navigation";
import { useEffect, useMemo, useState, useSyncExternalStore } from "react";

/** Shown only when a navigation takes longer than this. */
const SHOW_AFTER_MS = 150;
/** Given up after this (a navigation that never changes the address, e.g. redirected back). */
const GIVE_UP_AFTER_MS = 20_000;

/** The navigation in progress (a new number for each), or 0. */
let pending = 0;
let lastId = 0;
const listeners = new Set<() => void>();
let giveUp: ReturnType<typeof setTimeout> | undefined;

function setPending(next: boolean) {
  if ((pending !== 0) === next) return;
  pending = next ? ++lastId : 0;
  clearTimeout(giveUp);
  if (next) giveUp = setTimeout(() => setPending(false), GIVE_UP_AFTER_MS);
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Whether going to `href` from `current` loads another page: same origin, another path or query
 * (a change of the hash alone does not).
 */
export function isPageChange(href: string, current: string): boolean {
  let target: URL;
  let here: URL;
  try {
    here = new URL(current);
    target = new URL(href, here);
  } catch {
    return false;
  }
  return target.origin === here.origin && (target.pathname !== here.pathname || target.search !== here.search);
}

/** Marks the start of a navigation to `href` (nothing when it stays on this page). */
export function startNavigation(href: string) {
  if (isPageChange(href, window.location.href)) setPending(true);
}

/** next/navigation's router, whose push and replace show the navigation progress. */
export function useRouter(): ReturnType<typeof useNextRouter> {
  const router = useNextRouter();
  return useMemo(
    () => ({
      ...router,
      push: (href, options) => {
        startNavigation(href);
        router.push(href, options);
      },
      replace: (href, options) => {
        startNavigation(href);
        router.replace(href, options);
      },
    }),
    [router],
  );
}

/** A click that the browser or Next's <Link> turns into a navigation in this tab. */
function navigationHref(event: MouseEvent): string | null {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return null;
  const anchor = event.target instanceof Element ? event.target.closest("a[href]") : null;
  if (!(anchor instanceof HTMLAnchorElement) || anchor.hasAttribute("download")) return null;
  if (anchor.target && anchor.target !== "_self") return null;
  return anchor.href;
}

/** The bar; render once, high in the tree (inside a Suspense boundary: it reads the query string). */
export function NavigationProgress() {
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const current = useSyncExternalStore(subscribe, () => pending, () => 0);
  // The navigation whose delay has passed: the bar shows while it is the current one.
  const [shown, setShown] = useState(0);
  const visible = current !== 0 && shown === current;

  // Capture phase: before <Link> handles (and prevents) the click.
  useEffect(() => {
    const onClick = (event: MouseEvent) => {
      const href = navigationHref(event);
      if (href) startNavigation(href);
    };
    document.addEventListener("click", onClick, true);
    return () => document.removeEventListener("click", onClick, true);
  }, []);

  // The address changed: this navigation is over.
  const address = `${pathname}?${searchParams.toString()}`;
  useEffect(() => {
    setPending(false);
  }, [address]);

  useEffect(() => {
    if (current === 0) return;
    const timer = setTimeout(() => setShown(current), SHOW_AFTER_MS);
    return () => clearTimeout(timer);
  }, [current]);

  return (
    <>
      {visible ? (
        <div className="nav-progress" role="progressbar" aria-label="Loading page">
          <div className="nav-progress-bar" />
        </div>
      ) : null}
      <div className="sr-only" role="status" aria-live="polite">
        {visible ? "Loading page…" : ""}
      </div>
    </>
  );
}
