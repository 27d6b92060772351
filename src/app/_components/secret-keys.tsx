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
  creating,
  createError,
  onRevoke,
  revoking,
  revokeWarning,
}: {
  /** "API key", "Server-side key". */
  noun: string;
  placeholder: string;
  keys: { isPending: boolean; isError: boolean; error: unknown; data?: SecretKeyRow[] };
  /** Creates a key named `name`; resolves with the secret to show once. */
  onCreate: (name: string) => Promise<string>;
  creating: boolean;
  createError: unknown;
  onRevoke: (id: number) => Promise<unknown>;
  revoking: boolean;
  revokeWarning: (name: string) => string;
}) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<string | null>(null);
  const [revokingKey, setRevokingKey] = useState<{ id: number; name: string } | null>(null);
  const error = formError(createError);
  const lower = noun.toLowerCase();

  return (
    <>
      <div className="row-between">
        <h3>{noun}s</h3>
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
        onClose={() => setOpen(false)}
        footer={
          created ? (
            <Button variant="primary" onClick={() => setOpen(false)}>
              Done
            </Button>
          ) : (
            <>
              <Button onClick={() => setOpen(false)}>Cancel</Button>
              <Button variant="primary" type="submit" form="new-secret-key" busy={creating}>
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
            onSubmit={(event) => {
              event.preventDefault();
              onCreate(name).then(
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
              onChange={(e) => setName(e.target.value)}
              error={error?.fieldErrors.name ?? (error && !error.fieldErrors.name ? error.message : undefined)}
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
