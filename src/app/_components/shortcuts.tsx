"use client";

/**
 * Keyboard shortcuts of the admin pages: `/` focuses the page's search field, `c` opens its "New …"
 * dialog or form, `?` lists the shortcuts, Ctrl+Z (⌘Z) runs the newest Undo a toast offers. Pages
 * opt in by marking the control with `aria-keyshortcuts` ("/" or "c"), which also tells assistive
 * technology about the key (toasts mark their Undo). Shortcuts never fire while typing (inputs, text
 * areas, selects, contenteditable: Ctrl+Z undoes typing there), with other modifier keys, or while a
 * dialog is open; Escape closes dialogs (native `<dialog>`).
 */
import { useEffect } from "react";
import { Dialog, useToast } from "./ui";

export type ShortcutAction = "search" | "create" | "help" | "undo";

/** The parts of a keyboard event the shortcuts look at (a `KeyboardEvent` fits). */
export interface ShortcutKey {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey?: boolean;
  isComposing?: boolean;
  defaultPrevented?: boolean;
  target: unknown;
}

const TYPING_TAGS = new Set(["INPUT", "TEXTAREA", "SELECT"]);

/** Whether keys pressed on `target` are typed into it (form fields, editable content). */
export function isTypingTarget(target: unknown): boolean {
  if (typeof target !== "object" || target === null) return false;
  const element = target as { tagName?: unknown; isContentEditable?: unknown };
  return (typeof element.tagName === "string" && TYPING_TAGS.has(element.tagName.toUpperCase())) || element.isContentEditable === true;
}

/**
 * The shortcut a key press asks for, or null (typing, other modifier keys, other keys). Shift is
 * allowed on single keys: `?` needs it. Ctrl+Z and ⌘Z (no Shift: that is Redo) are Undo.
 */
export function shortcutFor(event: ShortcutKey): ShortcutAction | null {
  if (event.isComposing || event.defaultPrevented) return null;
  if (isTypingTarget(event.target)) return null;
  if (event.ctrlKey || event.metaKey) return !event.altKey && !event.shiftKey && event.key.toLowerCase() === "z" ? "undo" : null;
  if (event.altKey) return null;
  if (event.key === "/") return "search";
  if (event.key === "c") return "create";
  if (event.key === "?") return "help";
  return null;
}

export const SHORTCUTS: readonly { keys: string; description: string }[] = [
  { keys: "/", description: "Focus the search field" },
  { keys: "c", description: "Create: a new feature, segment, identity, environment or project (on their lists)" },
  { keys: "?", description: "Show these shortcuts" },
  { keys: "Ctrl+Z / ⌘Z", description: "Undo the latest change a notification offers to undo (a toggle, a saved value)" },
  { keys: "Esc", description: "Close a dialog or the menu" },
];

/** The page's control for a shortcut key, inside the main content. */
function controlFor(key: string): HTMLElement | null {
  return document.querySelector<HTMLElement>(`main [aria-keyshortcuts="${key}"]:not([disabled])`);
}

/** Listens for the shortcuts on the whole page and renders the help dialog (its state is the caller's, so that a button can open it too). */
export function KeyboardShortcuts({ helpOpen, onHelpChange }: { helpOpen: boolean; onHelpChange: (open: boolean) => void }) {
  const { runLatestAction } = useToast();
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      const action = shortcutFor(event);
      if (!action || document.querySelector("dialog[open]")) return;
      if (action === "undo") {
        // Nothing to undo: the key does what it would do anyway.
        if (runLatestAction()) event.preventDefault();
        return;
      }
      if (action === "help") {
        event.preventDefault();
        onHelpChange(true);
        return;
      }
      const control = controlFor(action === "search" ? "/" : "c");
      if (!control) return;
      event.preventDefault();
      if (action === "search") {
        control.focus();
        if (control instanceof HTMLInputElement) control.select();
      } else control.click();
    };
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, [onHelpChange, runLatestAction]);

  return (
    <Dialog title="Keyboard shortcuts" open={helpOpen} onClose={() => onHelpChange(false)}>
      <table className="table shortcut-table">
        <caption className="sr-only">Keyboard shortcuts</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map((shortcut) => (
            <tr key={shortcut.keys}>
              <td>
                <kbd>{shortcut.keys}</kbd>
              </td>
              <td>{shortcut.description}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small" style={{ margin: 0 }}>
        Shortcuts do nothing while you type in a field.
      </p>
    </Dialog>
  );
}
