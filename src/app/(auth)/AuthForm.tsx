"use client";

import Link from "next/link";
import { useRouter } from "@/app/_components/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Button, FormAlert, TextInput } from "@/app/_components/ui";
import { formError, unplacedError } from "@/app/_components/errors";
import { useTRPC } from "@/app/_trpc/client";
import { useLocationHash } from "@/app/(auth)/invite/InvitePage";
import { tokenFromHash } from "@/app/(auth)/invite/token";

export function AuthForm({ mode }: { mode: "login" | "signup" }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [organisationName, setOrganisationName] = useState("");
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  // `#invite=<token>`: signing in comes back to the invitation; signing up happens on it.
  const hash = useLocationHash();
  const invite = hash?.startsWith("#invite=") ? tokenFromHash(hash) : null;
  useEffect(() => {
    if (invite && mode === "signup") router.replace(`/invite#${encodeURIComponent(invite)}`);
  }, [invite, mode, router]);
  const queryClient = useQueryClient();
  const onSuccess = () => {
    // Anything cached while signed out (the invitation page's "who am I") is stale now.
    queryClient.clear();
    router.replace(invite ? `/invite#${encodeURIComponent(invite)}` : "/");
    router.refresh();
  };
  const signIn = useMutation(trpc.auth.signIn.mutationOptions({ onSuccess }));
  const signUp = useMutation(trpc.auth.signUp.mutationOptions({ onSuccess }));
  const mutation = mode === "login" ? signIn : signUp;
  const server = formError(mutation.error);
  const errors = { ...(server?.fieldErrors ?? {}), ...clientErrors };

  function submit(event: FormEvent) {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (!/^\S+@\S+\.\S+$/.test(email.trim())) found.email = "Enter a valid email address";
    if (mode === "signup" && !name.trim()) found.name = "Name is required";
    if (mode === "signup" && password.length < 8) found.password = "Password must be at least 8 characters";
    if (mode === "login" && !password) found.password = "Password is required";
    setClientErrors(found);
    if (Object.keys(found).length > 0) return;
    if (mode === "login") signIn.mutate({ email, password });
    else signUp.mutate({ email, name, password, organisationName: organisationName || undefined });
  }

  return (
    <main className="auth-page">
      <form className="auth-card" onSubmit={submit} noValidate>
        <div className="brand">
          <span className="brand-mark" /> Flagpost
        </div>
        <h1>{mode === "login" ? "Sign in" : "Create your account"}</h1>
        {invite ? (
          <p className="muted" style={{ margin: 0 }}>
            Sign in with the invited email address to accept your invitation.
          </p>
        ) : null}
        <FormAlert message={unplacedError(server, "email", "name", "password", "organisationName")} />
        {mode === "signup" ? (
          <TextInput label="Your name" name="name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} error={errors.name} autoFocus />
        ) : null}
        <TextInput
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={errors.email}
          autoFocus={mode === "login"}
        />
        <TextInput
          label="Password"
          name="password"
          type="password"
          autoComplete={mode === "login" ? "current-password" : "new-password"}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
          hint={mode === "signup" ? "At least 8 characters" : undefined}
        />
        {mode === "signup" ? (
          <TextInput
            label="Organisation name"
            name="organisationName"
            value={organisationName}
            onChange={(e) => setOrganisationName(e.target.value)}
            hint="Optional — you can rename it later"
            error={errors.organisationName}
          />
        ) : null}
        <Button type="submit" variant="primary" busy={mutation.isPending}>
          {mode === "login" ? "Sign in" : "Create account"}
        </Button>
        <p className="switch-auth">
          {mode === "login" ? (
            <>
              New to Flagpost? <Link href={invite ? `/invite#${encodeURIComponent(invite)}` : "/signup"}>Create an account</Link>
            </>
          ) : (
            <>
              Already have an account? <Link href="/login">Sign in</Link>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
