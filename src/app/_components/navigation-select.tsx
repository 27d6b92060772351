"use client";

/**
 * A <select> that navigates (the organisation, project and environment switchers). A choice made
 * with the pointer in the opened list goes there at once. On a closed list, arrow keys, Home/End,
 * Page Up/Down and typing change the value on some platforms (Windows, Linux): such a choice only
 * shows, with a hint, until Enter goes there; Escape, or leaving the list, puts the current one back.
 * So a keyboard user is never taken to another page by the first arrow key (WCAG 3.2.2).
 */
import { useId, useRef, useState, type ReactNode } from "react";

/** The parts of a keydown the switcher looks at (a `KeyboardEvent` fits). */
export interface SelectKey {
  key: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
}

/**
 * Whether a key pressed on the closed list makes the next change wait for Enter: the keys that
 * change the value in place. Keys that open the list (Space, F4, Alt+↑/↓) do not: a choice in the
 * opened list is confirmed there already.
 */
export function keyDefersChange(event: SelectKey): boolean {
  if (event.ctrlKey || event.metaKey) return false;
  if (event.altKey) return false;
  if (event.key === " " || event.key === "F4" || event.key === "Enter" || event.key === "Escape" || event.key === "Tab") return false;
  return ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"].includes(event.key) || event.key.length === 1;
}

export function NavigationSelect({
  id,
  value,
  onNavigate,
  optionLabel,
  children,
}: {
  id: string;
  value: string;
  /** Goes to the chosen value. */
  onNavigate: (value: string) => void;
  /** The chosen option's text (for the hint). */
  optionLabel: (value: string) => string | undefined;
  children: ReactNode;
}) {
  // A choice made with keys on the closed list, not gone to yet.
  const [draft, setDraft] = useState<string | null>(null);
  const deferring = useRef(false);
  const hintId = useId();
  const pending = draft !== null && draft !== value ? draft : null;
  const go = (next: string) => {
    setDraft(null);
    deferring.current = false;
    onNavigate(next);
  };
  return (
    <>
      <select
        id={id}
        value={pending ?? value}
        aria-describedby={pending !== null ? hintId : undefined}
        onPointerDown={() => {
          deferring.current = false;
        }}
        onKeyDown={(event) => {
          if (event.key === "Enter" && pending !== null) {
            event.preventDefault();
            go(pending);
          } else if (event.key === "Escape" && pending !== null) {
            // Handled here: the menu (narrow screens) would close on it too.
            event.preventDefault();
            event.stopPropagation();
            setDraft(null);
          } else deferring.current = keyDefersChange(event);
        }}
        onChange={(event) => {
          if (deferring.current) setDraft(event.target.value);
          else go(event.target.value);
        }}
        onBlur={() => {
          setDraft(null);
          deferring.current = false;
        }}
      >
        {children}
      </select>
      <span id={hintId} className="switcher-hint" aria-live="polite">
        {pending !== null ? `Press Enter to open ${optionLabel(pending) ?? "it"}` : ""}
      </span>
    </>
  );
}
