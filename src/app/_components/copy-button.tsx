"use client";

import { useRef, useState } from "react";
import { Button, useToast } from "./ui";

/** Puts `text` on the clipboard; falls back to a selection copy outside secure contexts. */
async function writeClipboard(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  if (!copied) throw new Error("copy refused");
}

/**
 * A Copy button for a block of text (`what` names it: "Node.js snippet"): a toast says it was
 * copied (or how to copy by hand), and the button reads "Copied" for a moment. `select` selects
 * the shown text when copying fails, so Ctrl+C works at once.
 */
export function CopyButton({ text, what, select }: { text: string; what: string; select?: () => void }) {
  const toast = useToast();
  const [copied, setCopied] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const copy = async () => {
    try {
      await writeClipboard(text);
      toast.success(`${what} copied`);
      setCopied(true);
      if (timer.current) clearTimeout(timer.current);
      timer.current = setTimeout(() => setCopied(false), 1500);
    } catch {
      select?.();
      toast.error(new Error(`Could not copy the ${what}: it is selected, press Ctrl+C (⌘C on a Mac).`));
    }
  };
  return (
    <Button type="button" className="btn-sm" aria-label={`Copy ${what}`} onClick={() => void copy()}>
      {copied ? "Copied" : "Copy"}
    </Button>
  );
}

/** Selects the text of an element (a code block), for copying by hand. */
export function selectContents(element: HTMLElement | null): void {
  if (!element) return;
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}
