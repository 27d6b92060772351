"use client";

/**
 * A list of secret keys (organisation API keys, server-side SDK keys): create one — shown once, with a
 * copy button — and revoke with a confirmation. The caller supplies the queries and mutations.
 */
import { useState } from "react";
import { Button, ConfirmDialog, CopyField, Dialog, ErrorState, Loading, TextInput, formatDate } from "./ui";
import { formError } from "./errors";

export interface SecretKeyRow {
  id: number;
  name: string;
  prefix: string;
  createdAt: string | Date;
}

export function SecretKeys({
  noun,
  placeholder,
  keys,
  onCreate,
  create,
  onRevoke,
  revoking,
  revokeWarning,
  heading = true,
}: {
  /** "API key", "Server-side key". */
  noun: string;
  placeholder: string;
  keys: { isPending: boolean; isError: boolean; error: unknown; data?: SecretKeyRow[] };
  /** Creates a key named `name`; resolves with the secret to show once. */
  onCreate: (name: string) => Promise<string>;
  /** The create mutation's state: pending, its error (shown next to the name), reset on close. */
  create: { isPending: boolean; error: unknown; reset: () => void };
  onRevoke: (id: number) => Promise<unknown>;
  revoking: boolean;
  revokeWarning: (name: string) => string;
  /** Show the "<noun>s" heading (off when the surrounding panel already says it). */
  heading?: boolean;
}) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<string | null>(null);
  const [submitted, setSubmitted] = useState(false);
  const [revokingKey, setRevokingKey] = useState<{ id: number; name: string } | null>(null);
  const error = formError(create.error);
  // "server-side key", but "API key" (an acronym keeps its capitals).
  const lower = /^[A-Z]{2,}\b/.test(noun) ? noun : noun.charAt(0).toLowerCase() + noun.slice(1);
  const nameError = name.trim() === "" ? "Key name is required" : undefined;
  const close = () => {
    setOpen(false);
    setName("");
    setSubmitted(false);
    create.reset();
  };

  return (
    <>
      <div className="row-between">
        {heading ? <h3>{noun}s</h3> : <span />}
        <Button
          onClick={() => {
            setCreated(null);
            setOpen(true);
          }}
        >
          Create {lower}
        </Button>
      </div>
      {keys.isPending ? (
        <Loading />
      ) : keys.isError ? (
        <ErrorState error={keys.error} />
      ) : !keys.data || keys.data.length === 0 ? (
        <p className="muted">No {lower}s yet.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.data.map((key) => (
              <tr key={key.id}>
                <td>{key.name}</td>
                <td>
                  <code>{key.prefix}…</code>
                </td>
                <td className="muted">{formatDate(key.createdAt)}</td>
                <td style={{ textAlign: "right" }}>
                  <Button className="btn-sm" variant="ghost" onClick={() => setRevokingKey({ id: key.id, name: key.name })}>
                    Revoke
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog
        open={open}
        title={created ? `${noun} created` : `New ${lower}`}
        onClose={close}
        footer={
          created ? (
            // A new element once the key is shown (the key keeps React from reusing the Cancel button),
            // mounted in the open dialog: autoFocus applies.
            <Button key="done" variant="primary" onClick={close} autoFocus>
              Done
            </Button>
          ) : (
            <>
              <Button onClick={close}>Cancel</Button>
              <Button variant="primary" type="submit" form="new-secret-key" busy={create.isPending}>
                Create key
              </Button>
            </>
          )
        }
      >
        {created ? (
          <div className="stack">
            <p className="notice">Copy this key now: it is shown only once.</p>
            <CopyField label={noun} value={created} />
          </div>
        ) : (
          <form
            id="new-secret-key"
            className="stack"
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              setSubmitted(true);
              if (nameError || create.isPending) return;
              onCreate(name.trim()).then(
                (secret) => {
                  setCreated(secret);
                  setName("");
                },
                () => undefined,
              );
            }}
          >
            <TextInput
              label="Key name"
              name="name"
              value={name}
              onChange={(e) => {
                if (create.error) create.reset();
                setName(e.target.value);
              }}
              error={(submitted ? nameError : undefined) ?? error?.fieldErrors.name ?? (error && !error.fieldErrors.name ? error.message : undefined)}
              autoFocus
              placeholder={placeholder}
            />
          </form>
        )}
      </Dialog>
      <ConfirmDialog
        open={revokingKey !== null}
        title={`Revoke ${lower}`}
        message={revokeWarning(revokingKey?.name ?? "")}
        confirmLabel="Revoke key"
        busy={revoking}
        onClose={() => setRevokingKey(null)}
        onConfirm={() => revokingKey && onRevoke(revokingKey.id).then(() => setRevokingKey(null), () => undefined)}
      />
    </>
  );
}
