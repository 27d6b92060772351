"use client";

/**
 * Small UI kit for the admin: buttons, fields with inline errors, switches, dialogs, empty states,
 * toasts. Keyboard-friendly: native controls, visible focus, Escape closes dialogs.
 */
import Link from "next/link";
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useId,
  useRef,
  useState,
  type ButtonHTMLAttributes,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
} from "react";

export function Button({
  variant = "secondary",
  busy,
  children,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: "primary" | "secondary" | "danger" | "ghost"; busy?: boolean }) {
  return (
    <button {...rest} className={`btn btn-${variant} ${rest.className ?? ""}`} disabled={rest.disabled || busy} aria-busy={busy || undefined}>
      {busy ? <span className="spinner" aria-hidden /> : null}
      {children}
    </button>
  );
}

/** The id of a field's error or hint text, for the control's `aria-describedby`. */
const descriptionId = (controlId: string) => `${controlId}-description`;

export function Field({ label, error, hint, children, htmlFor }: { label: string; error?: string; hint?: ReactNode; children: ReactNode; htmlFor?: string }) {
  const describedBy = htmlFor ? descriptionId(htmlFor) : undefined;
  return (
    <div className={`field ${error ? "field-invalid" : ""}`}>
      <label htmlFor={htmlFor}>{label}</label>
      {children}
      {error ? (
        <p className="field-error" role="alert" id={describedBy}>
          {error}
        </p>
      ) : hint ? (
        <p className="field-hint" id={describedBy}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** `aria-describedby` for a control in a Field: the caller's own, else the Field's error or hint. */
function describedBy(id: string, own: string | undefined, error: string | undefined, hint: ReactNode): string | undefined {
  return own ?? (error || hint ? descriptionId(id) : undefined);
}

export function TextInput({ label, error, hint, ...rest }: InputHTMLAttributes<HTMLInputElement> & { label: string; error?: string; hint?: ReactNode }) {
  const generated = useId();
  const id = rest.id ?? generated;
  return (
    <Field label={label} error={error} hint={hint} htmlFor={id}>
      <input {...rest} id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, rest["aria-describedby"], error, hint)} className="input" />
    </Field>
  );
}

export function TextArea({ label, error, hint, ...rest }: TextareaHTMLAttributes<HTMLTextAreaElement> & { label: string; error?: string; hint?: ReactNode }) {
  const generated = useId();
  const id = rest.id ?? generated;
  return (
    <Field label={label} error={error} hint={hint} htmlFor={id}>
      <textarea {...rest} id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, rest["aria-describedby"], error, hint)} className="input" />
    </Field>
  );
}

export function Select({ label, error, hint, children, ...rest }: SelectHTMLAttributes<HTMLSelectElement> & { label: string; error?: string; hint?: ReactNode }) {
  const generated = useId();
  const id = rest.id ?? generated;
  return (
    <Field label={label} error={error} hint={hint} htmlFor={id}>
      <select {...rest} id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, rest["aria-describedby"], error, hint)} className="input">
        {children}
      </select>
    </Field>
  );
}

export function Switch({
  checked,
  onChange,
  label,
  disabled,
  showLabel = false,
}: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  label: string;
  disabled?: boolean;
  showLabel?: boolean;
}) {
  return (
    <label className="switch-wrap">
      <button
        type="button"
        role="switch"
        aria-checked={checked}
        aria-label={label}
        disabled={disabled}
        className={`switch ${checked ? "switch-on" : ""}`}
        onClick={() => onChange(!checked)}
      >
        <span className="switch-thumb" />
      </button>
      {showLabel ? <span>{label}</span> : null}
    </label>
  );
}

export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty-state">
      <h3>{title}</h3>
      {children ? <p>{children}</p> : null}
      {action}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden /> {label}
    </div>
  );
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  const message = (error as { message?: string })?.message ?? "Something went wrong";
  // A 4xx (not found, forbidden, bad input) answers the same on a retry: no "Try again" then.
  const status = (error as { data?: { httpStatus?: number } })?.data?.httpStatus;
  const final = typeof status === "number" && status >= 400 && status < 500;
  return (
    <div className="error-state" role="alert">
      <strong>{status === 404 ? "Not found." : "Could not load this page."}</strong> {status === 404 ? "It may have been deleted, or you may not have access to it." : message}
      {retry && !final ? (
        <Button variant="ghost" onClick={retry}>
          Try again
        </Button>
      ) : null}
    </div>
  );
}

export function Dialog({
  title,
  open,
  onClose,
  children,
  footer,
  wide,
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  /** A wider dialog for larger forms. */
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      dialog.showModal();
      // React's autoFocus runs while the dialog is still closed (a no-op), and showModal() would
      // focus the header's close button: move focus to the element marked `data-autofocus`, else
      // the first control of the body, else the first button of the footer.
      const target =
        dialog.querySelector<HTMLElement>("[data-autofocus]:not([disabled])") ??
        dialog.querySelector<HTMLElement>(".dialog-body :is(input:not([readonly]), select, textarea, button):not([disabled])") ??
        dialog.querySelector<HTMLElement>(".dialog-footer button:not([disabled])");
      target?.focus();
    }
    if (!open && dialog.open) dialog.close();
  }, [open]);
  // Escape fires `cancel`, then `close`: `onClose` is called once, from `close`.
  return (
    <dialog ref={ref} className={`dialog ${wide ? "dialog-wide" : ""}`} onClose={onClose} aria-label={title}>
      <div className="dialog-header">
        <h2>{title}</h2>
        <button type="button" className="icon-btn" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      <div className="dialog-body">{open ? children : null}</div>
      {footer ? <div className="dialog-footer">{footer}</div> : null}
    </dialog>
  );
}

export function ConfirmDialog({
  open,
  title,
  message,
  confirmLabel = "Delete",
  onConfirm,
  onClose,
  busy,
}: {
  open: boolean;
  title: string;
  message: ReactNode;
  confirmLabel?: string;
  onConfirm: () => void;
  onClose: () => void;
  busy?: boolean;
}) {
  return (
    <Dialog
      open={open}
      title={title}
      onClose={onClose}
      footer={
        <>
          {/* Focus starts on the least destructive action (Enter must not delete by accident). */}
          <Button onClick={onClose} data-autofocus>
            Cancel
          </Button>
          <Button variant="danger" onClick={onConfirm} busy={busy}>
            {confirmLabel}
          </Button>
        </>
      }
    >
      <p>{message}</p>
    </Dialog>
  );
}

/** A button in a toast (e.g. Undo): pressing it runs `run` and dismisses the toast. */
export type ToastAction = { label: string; run: () => void };
type Toast = { id: number; kind: "success" | "error"; message: string; action?: ToastAction };
interface ToastApi {
  push: (kind: Toast["kind"], message: string, action?: ToastAction) => void;
  /** Runs (and dismisses) the newest toast's action still shown, e.g. Undo; false when there is none. */
  runLatestAction: () => boolean;
}
const ToastContext = createContext<ToastApi>({ push: () => undefined, runLatestAction: () => false });

/**
 * How long a toast stays on screen, not counting the time it is hovered or has keyboard focus (its
 * timer pauses then): longer for errors, and longest for toasts with an action (Undo), to leave
 * time to reach them (or press Ctrl+Z / ⌘Z, src/app/_components/shortcuts.tsx).
 */
export function toastDuration(kind: Toast["kind"], action?: ToastAction): number {
  return action ? 20_000 : kind === "error" ? 8000 : 4000;
}
/** After a pause (hover, focus), a toast stays at least this long. */
const TOAST_RESUME_MS = 2000;
/** At most this many toasts at once (the oldest goes first). */
const MAX_TOASTS = 5;
/** The key that runs the newest toast action, as `aria-keyshortcuts` names it. */
export const TOAST_ACTION_KEYS = "Control+Z Meta+Z";

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const current = useRef<Toast[]>([]);
  useEffect(() => {
    current.current = toasts;
  }, [toasts]);
  const dismiss = useCallback((id: number) => setToasts((shown) => shown.filter((t) => t.id !== id)), []);
  const push = useCallback((kind: Toast["kind"], message: string, action?: ToastAction) => {
    const id = Date.now() + Math.random();
    setToasts((shown) => [...shown, { id, kind, message, action }].slice(-MAX_TOASTS));
  }, []);
  const runLatestAction = useCallback(() => {
    const latest = current.current.findLast((t) => t.action);
    if (!latest?.action) return false;
    current.current = current.current.filter((t) => t.id !== latest.id);
    dismiss(latest.id);
    latest.action.run();
    return true;
  }, [dismiss]);
  const latestActionId = toasts.findLast((t) => t.action)?.id;
  return (
    <ToastContext.Provider value={{ push, runLatestAction }}>
      {children}
      {/* Always in the page (a live region must exist before what it announces), and a landmark to find the toasts by. */}
      <div className="toasts" role="region" aria-label="Notifications" aria-live="polite">
        {toasts.map((toast) => (
          <ToastItem key={toast.id} toast={toast} latestAction={toast.id === latestActionId} onDismiss={dismiss} />
        ))}
      </div>
    </ToastContext.Provider>
  );
}

function ToastItem({ toast, latestAction, onDismiss }: { toast: Toast; latestAction: boolean; onDismiss: (id: number) => void }) {
  const [hovered, setHovered] = useState(false);
  const [focused, setFocused] = useState(false);
  const remaining = useRef(toastDuration(toast.kind, toast.action));
  const paused = hovered || focused;
  useEffect(() => {
    if (paused) return;
    const started = Date.now();
    const timer = setTimeout(() => onDismiss(toast.id), remaining.current);
    return () => {
      clearTimeout(timer);
      remaining.current = Math.max(TOAST_RESUME_MS, remaining.current - (Date.now() - started));
    };
  }, [paused, onDismiss, toast.id]);
  return (
    <div
      className={`toast toast-${toast.kind}`}
      role={toast.kind === "error" ? "alert" : "status"}
      data-paused={paused || undefined}
      onMouseEnter={() => setHovered(true)}
      onMouseLeave={() => setHovered(false)}
      onFocus={() => setFocused(true)}
      onBlur={(event) => {
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setFocused(false);
      }}
    >
      <span className="toast-message">{toast.message}</span>
      {toast.action ? (
        <button
          type="button"
          className="btn btn-sm toast-action"
          aria-keyshortcuts={latestAction ? TOAST_ACTION_KEYS : undefined}
          title={latestAction ? `${toast.action.label} (Ctrl+Z or ⌘Z)` : undefined}
          onClick={() => {
            onDismiss(toast.id);
            toast.action?.run();
          }}
        >
          {toast.action.label}
        </button>
      ) : null}
      <button type="button" className="icon-btn" aria-label="Dismiss" onClick={() => onDismiss(toast.id)}>
        ×
      </button>
    </div>
  );
}

export function useToast() {
  const { push, runLatestAction } = useContext(ToastContext);
  return {
    success: (message: string, options: { action?: ToastAction } = {}) => push("success", message, options.action),
    error: (error: unknown) => push("error", (error as { message?: string })?.message ?? String(error)),
    runLatestAction,
  };
}

/** A field's label inside a sentence: "Client-side environment key" → "client-side environment key" (acronyms kept: "API URL"). */
export function inSentence(label: string): string {
  return label.length > 1 && label[1] === label[1].toLowerCase() ? label[0].toLowerCase() + label.slice(1) : label;
}

export function CopyField({ label, value }: { label: string; value: string }) {
  const [status, setStatus] = useState<"idle" | "copied" | "failed">("idle");
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const copy = async () => {
    try {
      // The Clipboard API exists only in secure contexts (https, localhost): fall back to a selection copy.
      if (navigator.clipboard) await navigator.clipboard.writeText(value);
      else {
        input.current?.select();
        if (!document.execCommand("copy")) throw new Error("copy refused");
      }
      setStatus("copied");
      setTimeout(() => setStatus("idle"), 1500);
    } catch {
      input.current?.select();
      setStatus("failed");
    }
  };
  return (
    <Field label={label} htmlFor={id} hint={status === "failed" ? "Could not copy: the key is selected, press Ctrl+C (⌘C on a Mac)." : undefined}>
      <div className="copy-field">
        <input
          ref={input}
          id={id}
          className="input mono"
          readOnly
          value={value}
          aria-describedby={status === "failed" ? descriptionId(id) : undefined}
          onFocus={(e) => e.currentTarget.select()}
        />
        {/* Named after its field ("Copy API URL"): the name starts with the visible "Copy" / "Copied". */}
        <Button type="button" onClick={() => void copy()}>
          {status === "copied" ? "Copied" : "Copy"}
          <span className="sr-only"> {inSentence(label)}</span>
        </Button>
        {/* Said to screen readers too: a polite live region, always there (empty until a copy). */}
        <span className="sr-only" aria-live="polite">
          {status === "copied" ? `${label} copied` : ""}
        </span>
      </div>
    </Field>
  );
}

/** A form-level error (one not shown next to a field), announced to screen readers. */
export function FormAlert({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p className="form-error" role="alert">
      {message}
    </p>
  );
}

/** "Parent / current" above a detail page's title. */
export function Breadcrumb({ parent, current }: { parent: { href: string; label: string }; current: string }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link href={parent.href}>{parent.label}</Link> <span aria-hidden>/</span> <span aria-current="page">{current}</span>
    </nav>
  );
}

export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <p className="subtitle">{subtitle}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

export function formatDate(value: string | Date | null | undefined): string {
  if (!value) return "—";
  const date = typeof value === "string" ? new Date(value) : value;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A settings page's "Danger zone": one destructive action, described, behind a button (which opens its confirmation). */
export function DangerZone({ id, title, description, action, onAction, children }: { id: string; title: string; description: ReactNode; action: string; onAction: () => void; children?: ReactNode }) {
  return (
    <section className="panel" aria-labelledby={id}>
      <div className="panel-header">
        <h2 id={id}>Danger zone</h2>
      </div>
      <div className="panel-body row-between">
        <div>
          <strong>{title}</strong>
          <div className="muted small">{description}</div>
        </div>
        <Button variant="danger" onClick={onAction}>
          {action}
        </Button>
      </div>
      {children}
    </section>
  );
}

export function SettingRow({ label, help, children }: { label: string; help: string; children: ReactNode }) {
  return (
    <div className="row-between">
      <div>
        <strong>{label}</strong>
        <div className="muted small">{help}</div>
      </div>
      {children}
    </div>
  );
}


/** A checkbox with its label (and an optional hint under it). */
export function Checkbox({ label, hint, ...rest }: Omit<InputHTMLAttributes<HTMLInputElement>, "type"> & { label: string; hint?: ReactNode }) {
  return (
    <label className="checkbox">
      <input {...rest} type="checkbox" />
      <span>
        {label}
        {hint ? <span className="field-hint">{hint}</span> : null}
      </span>
    </label>
  );
}

/**
 * Accessible tabs (WAI-ARIA tablist): arrow keys / Home / End move between tabs; the panel is
 * rendered by the caller inside <TabPanel>.
 */
export function Tabs<T extends string>({
  tabs,
  value,
  onChange,
  label,
  idPrefix = "tab",
}: {
  tabs: readonly { id: T; label: ReactNode }[];
  value: T;
  onChange: (id: T) => void;
  label: string;
  idPrefix?: string;
}) {
  const refs = useRef(new Map<T, HTMLButtonElement>());
  const move = (index: number) => {
    const next = tabs[(index + tabs.length) % tabs.length];
    onChange(next.id);
    refs.current.get(next.id)?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((tab, index) => (
        <button
          key={tab.id}
          ref={(element) => {
            if (element) refs.current.set(tab.id, element);
            else refs.current.delete(tab.id);
          }}
          type="button"
          role="tab"
          id={`${idPrefix}-${tab.id}`}
          aria-selected={tab.id === value}
          // Only the selected tab's panel is rendered: the others would point at a missing element.
          aria-controls={tab.id === value ? `${idPrefix}-panel-${tab.id}` : undefined}
          tabIndex={tab.id === value ? 0 : -1}
          onClick={() => onChange(tab.id)}
          onKeyDown={(event) => {
            if (event.key === "ArrowRight") move(index + 1);
            else if (event.key === "ArrowLeft") move(index - 1);
            else if (event.key === "Home") move(0);
            else if (event.key === "End") move(tabs.length - 1);
            else return;
            event.preventDefault();
          }}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}

export function TabPanel({ id, idPrefix = "tab", children }: { id: string; idPrefix?: string; children: ReactNode }) {
  return (
    <div role="tabpanel" id={`${idPrefix}-panel-${id}`} aria-labelledby={`${idPrefix}-${id}`}>
      {children}
    </div>
  );
}

/** `value`, once it has stopped changing for `delay` ms (search boxes). */
export function useDebouncedValue<T>(value: T, delay = 250): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return debounced;
}

/** A small coloured label. */
export function Badge({ tone, children, title }: { tone?: "primary" | "success" | "danger" | "warning"; children: ReactNode; title?: string }) {
  return (
    <span className={`badge ${tone ? `badge-${tone}` : ""}`} title={title}>
      {children}
    </span>
  );
}

/** "Load more" under a paginated list. */
export function LoadMore({ hasMore, loading, onClick, label = "Load more" }: { hasMore: boolean; loading: boolean; onClick: () => void; label?: string }) {
  if (!hasMore) return null;
  return (
    <div className="load-more">
      <Button onClick={onClick} busy={loading}>
        {label}
      </Button>
    </div>
  );
}
