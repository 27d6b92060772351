"use client";

/**
 * A dialog that creates something from one name (a project, an environment, an identity): the
 * field checks it is not blank, shows the server's message for it in place, and starts empty each
 * time the dialog opens.
 */
import { useState, type FormEvent } from "react";
import { fieldError, formError, unplacedError } from "./errors";
import { Button, Dialog, FormAlert, TextInput } from "./ui";

export function NameDialog({
  open,
  onClose,
  title,
  label,
  submitLabel,
  placeholder,
  hint,
  field = "name",
  trim = true,
  mutation,
  onSubmit,
}: {
  open: boolean;
  onClose: () => void;
  title: string;
  /** The field's label, e.g. "Project name". */
  label: string;
  submitLabel: string;
  placeholder?: string;
  hint?: string;
  /** The input field the server reports errors on. */
  field?: string;
  /** Trim the name before submitting (off where spaces are significant, as in identifiers). */
  trim?: boolean;
  /** The create mutation: its pending state and error are shown; it is reset on close and on edit. */
  mutation: { isPending: boolean; error: unknown; reset: () => void };
  onSubmit: (name: string) => void;
}) {
  const formId = `name-dialog-${field}`;
  const close = () => {
    mutation.reset();
    onClose();
  };
  return (
    <Dialog
      open={open}
      title={title}
      onClose={close}
      footer={
        <>
          <Button onClick={close}>Cancel</Button>
          <Button variant="primary" type="submit" form={formId} busy={mutation.isPending}>
            {submitLabel}
          </Button>
        </>
      }
    >
      <NameForm formId={formId} label={label} placeholder={placeholder} hint={hint} field={field} mutation={mutation} onSubmit={(name) => onSubmit(trim ? name.trim() : name)} />
    </Dialog>
  );
}

/** The dialog's body: mounted when the dialog opens, so each opening starts from an empty field. */
function NameForm({
  formId,
  label,
  placeholder,
  hint,
  field,
  mutation,
  onSubmit,
}: {
  formId: string;
  label: string;
  placeholder?: string;
  hint?: string;
  field: string;
  mutation: { isPending: boolean; error: unknown; reset: () => void };
  onSubmit: (name: string) => void;
}) {
  const [value, setValue] = useState("");
  const [submitted, setSubmitted] = useState(false);
  const server = formError(mutation.error);
  const blank = value.trim() === "" ? `${label} is required` : undefined;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (blank || mutation.isPending) return;
    onSubmit(value);
  };
  return (
    <form id={formId} onSubmit={submit} className="stack" noValidate>
      <FormAlert message={unplacedError(server, field)} />
      <TextInput
        label={label}
        name={field}
        value={value}
        autoComplete="off"
        placeholder={placeholder}
        hint={hint}
        onChange={(event) => {
          if (mutation.error) mutation.reset();
          setValue(event.target.value);
        }}
        error={(submitted ? blank : undefined) ?? fieldError(server, field)}
      />
    </form>
  );
}
