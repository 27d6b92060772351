"use client";

/** The signed-in user's account: who they are, and changing their password. */
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { fieldError, formError, unplacedError } from "@/app/_components/errors";
import { Button, ErrorState, FormAlert, Loading, PageHeader, TextInput, useToast } from "@/app/_components/ui";
import { useTRPC } from "@/app/_trpc/client";

export default function AccountPage() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  if (me.isPending) return <Loading />;
  if (me.isError) return <ErrorState error={me.error} retry={() => me.refetch()} />;
  const user = me.data?.kind === "user" ? me.data : null;
  return (
    <>
      <PageHeader title="Account" subtitle={user ? `${user.name} · ${user.email}` : undefined} />
      <ChangePasswordPanel />
    </>
  );
}

const EMPTY = { currentPassword: "", newPassword: "", confirmPassword: "" };

function ChangePasswordPanel() {
  const trpc = useTRPC();
  const toast = useToast();
  const [values, setValues] = useState(EMPTY);
  const [submitted, setSubmitted] = useState(false);
  const change = useMutation(
    trpc.auth.changePassword.mutationOptions({
      onSuccess: (result) => {
        setValues(EMPTY);
        setSubmitted(false);
        const others = result.otherSessionsEnded;
        toast.success(others > 0 ? `Password changed. ${others} other session${others === 1 ? " was" : "s were"} signed out.` : "Password changed");
      },
    }),
  );
  const error = formError(change.error);
  const local = {
    currentPassword: values.currentPassword === "" ? "Current password is required" : undefined,
    newPassword: values.newPassword.length < 8 ? "Password must be at least 8 characters" : undefined,
    confirmPassword: values.confirmPassword !== values.newPassword ? "The two new passwords differ" : undefined,
  };
  const set = (field: keyof typeof EMPTY) => (event: { target: { value: string } }) => {
    if (change.error) change.reset();
    setValues((current) => ({ ...current, [field]: event.target.value }));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (local.currentPassword || local.newPassword || local.confirmPassword) return;
    change.mutate({ currentPassword: values.currentPassword, newPassword: values.newPassword });
  };
  return (
    <section className="panel" aria-labelledby="password-heading">
      <div className="panel-header">
        <h2 id="password-heading">Change password</h2>
      </div>
      <form className="panel-body stack" onSubmit={submit} noValidate>
        <p className="muted small">Your other sessions (other browsers and devices) are signed out; this one stays signed in.</p>
        <FormAlert message={unplacedError(error, "currentPassword", "newPassword")} />
        <TextInput
          label="Current password"
          type="password"
          autoComplete="current-password"
          value={values.currentPassword}
          onChange={set("currentPassword")}
          error={(submitted ? local.currentPassword : undefined) ?? fieldError(error, "currentPassword")}
        />
        <TextInput
          label="New password"
          type="password"
          autoComplete="new-password"
          hint="At least 8 characters."
          value={values.newPassword}
          onChange={set("newPassword")}
          error={(submitted ? local.newPassword : undefined) ?? fieldError(error, "newPassword")}
        />
        <TextInput
          label="Confirm new password"
          type="password"
          autoComplete="new-password"
          value={values.confirmPassword}
          onChange={set("confirmPassword")}
          error={submitted ? local.confirmPassword : undefined}
        />
        <div>
          <Button type="submit" variant="primary" busy={change.isPending}>
            Change password
          </Button>
        </div>
      </form>
    </section>
  );
}
