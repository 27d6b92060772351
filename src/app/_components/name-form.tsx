"use client";

/** A rename form: one name field (checked not blank, server errors in place) and Save. */
import { useState } from "react";
import { fieldError, unplacedError, type FormError } from "./errors";
import { Button, FormAlert, TextInput } from "./ui";

export function NameForm({
  label,
  initial,
  error,
  busy,
  onEdit,
  onSubmit,
}: {
  /** The field's label, e.g. "Project name". */
  label: string;
  initial: string;
  error: FormError | null;
  busy: boolean;
  onEdit: () => void;
  onSubmit: (name: string) => void;
}) {
  const [name, setName] = useState(initial);
  const [submitted, setSubmitted] = useState(false);
  const nameError = name.trim() === "" ? `${label} is required` : undefined;
  return (
    <form
      className="stack"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        setSubmitted(true);
        if (!nameError) onSubmit(name.trim());
      }}
    >
      <FormAlert message={unplacedError(error, "name")} />
      <TextInput
        label={label}
        name="name"
        value={name}
        onChange={(e) => {
          onEdit();
          setName(e.target.value);
        }}
        error={(submitted ? nameError : undefined) ?? fieldError(error, "name")}
      />
      <div>
        <Button type="submit" variant="primary" busy={busy}>
          Save
        </Button>
      </div>
    </form>
  );
}
