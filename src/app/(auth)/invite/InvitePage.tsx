"use client";

/**
 * `/invite#<token>`: the link an admin hands over. The token lives in the fragment (never sent to the
 * server with the page request, so never in an access log) and goes to tRPC in POST bodies only.
 *
 * - signed out: create an account for the invited email (joining the organisation), or sign in
 *   (`/login#invite=<token>` comes back here signed in);
 * - signed in as the invited email: "Join <organisation>";
 * - signed in as someone else: told so, with a way to sign out.
 */
import Link from "next/link";
import { useState, useSyncExternalStore, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "@/app/_components/navigation";
import { Button, FormAlert, formatDate, Loading, TextInput } from "@/app/_components/ui";
import { formError, unplacedError } from "@/app/_components/errors";
import { useTRPC } from "@/app/_trpc/client";
import { tokenFromHash } from "./token";

function subscribeToHash(onChange: () => void): () => void {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

/** `window.location.hash`, following changes; null while rendering on the server (no fragment there). */
export function useLocationHash(): string | null {
  return useSyncExternalStore(
    subscribeToHash,
    () => window.location.hash,
    () => null,
  );
}

export function InvitePage() {
  const hash = useLocationHash();
  // undefined until the fragment can be read (in the browser).
  const token = hash === null ? undefined : tokenFromHash(hash);
  return (
    <main className="auth-page">
      <div className="auth-card">
        <div className="brand">
          <span className="brand-mark" /> Flagpost
        </div>
        {token === undefined ? <Loading /> : token === null ? <Invalid message="This invitation link is incomplete: open the whole link you were sent." /> : <Invitation token={token} />}
      </div>
    </main>
  );
}

function Invalid({ message }: { message: string }) {
  return (
    <>
      <h1>Invitation</h1>
      <div className="form-error" role="alert">
        {message}
      </div>
      <p className="switch-auth">
        <Link href="/login">Sign in</Link> · <Link href="/signup">Create an account</Link>
      </p>
    </>
  );
}

function Invitation({ token }: { token: string }) {
  const trpc = useTRPC();
  const invitation = useQuery({ ...trpc.invitations.lookup.queryOptions({ token }), retry: false });
  const me = useQuery(trpc.auth.me.queryOptions());
  if (invitation.isPending || me.isPending) return <Loading />;
  if (invitation.isError) return <Invalid message={formError(invitation.error)?.message ?? "This invitation could not be loaded. Try again."} />;
  const details = invitation.data;
  const role = details.role === "ADMIN" ? "an admin" : "a member";
  return (
    <>
      <h1>Join {details.organisationName}</h1>
      <p style={{ margin: 0 }}>
        You are invited to join <strong>{details.organisationName}</strong> on Flagpost as {role}. The invitation is for <strong>{details.email}</strong> and
        is valid until {formatDate(details.expiresAt)}.
      </p>
      {me.data?.kind === "user" ? (
        me.data.email.toLowerCase() === details.email ? (
          <Accept token={token} organisationName={details.organisationName} />
        ) : (
          <OtherAccount signedInAs={me.data.email} invited={details.email} />
        )
      ) : (
        <SignUp token={token} email={details.email} />
      )}
    </>
  );
}

function Accept({ token, organisationName }: { token: string; organisationName: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const accept = useMutation(
    trpc.invitations.accept.mutationOptions({
      onSuccess: async (result) => {
        await queryClient.invalidateQueries({ queryKey: trpc.organisations.list.queryKey() });
        window.history.replaceState(null, "", "/invite");
        router.replace(`/o/${result.organisationId}`);
      },
    }),
  );
  return (
    <>
      <FormAlert message={formError(accept.error)?.message} />
      <Button type="button" variant="primary" autoFocus busy={accept.isPending} onClick={() => accept.mutate({ token })}>
        Join {organisationName}
      </Button>
    </>
  );
}

function OtherAccount({ signedInAs, invited }: { signedInAs: string; invited: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const signOut = useMutation(trpc.auth.signOut.mutationOptions({ onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.auth.me.queryKey() }) }));
  return (
    <>
      <div className="notice" role="status">
        You are signed in as <strong>{signedInAs}</strong>. Only the account of <strong>{invited}</strong> can accept this invitation.
      </div>
      <Button type="button" busy={signOut.isPending} onClick={() => signOut.mutate()}>
        Sign out
      </Button>
    </>
  );
}

function SignUp({ token, email }: { token: string; email: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const signUp = useMutation(
    trpc.invitations.signUp.mutationOptions({
      onSuccess: (result) => {
        window.history.replaceState(null, "", "/invite");
        router.replace(`/o/${result.organisationId}`);
        router.refresh();
      },
    }),
  );
  const server = formError(signUp.error);
  const errors = { ...(server?.fieldErrors ?? {}), ...clientErrors };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (!name.trim()) found.name = "Name is required";
    if (password.length < 8) found.password = "Password must be at least 8 characters";
    setClientErrors(found);
    if (Object.keys(found).length > 0 || signUp.isPending) return;
    signUp.mutate({ token, name, password });
  };
  return (
    <form className="stack" onSubmit={submit} noValidate aria-label="Create your account">
      <h2 style={{ margin: 0, fontSize: 16 }}>New to Flagpost? Create your account</h2>
      <FormAlert message={unplacedError(server, "name", "password")} />
      <TextInput label="Email" name="email" type="email" value={email} readOnly hint="The invited address" />
      <TextInput label="Your name" name="name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} error={errors.name} autoFocus />
      <TextInput
        label="Password"
        name="password"
        type="password"
        autoComplete="new-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={errors.password}
        hint="At least 8 characters"
      />
      <Button type="submit" variant="primary" busy={signUp.isPending}>
        Create account and join
      </Button>
      <p className="switch-auth">
        Already have an account? <Link href={`/login#invite=${encodeURIComponent(token)}`}>Sign in to accept</Link>
      </p>
    </form>
  );
}
