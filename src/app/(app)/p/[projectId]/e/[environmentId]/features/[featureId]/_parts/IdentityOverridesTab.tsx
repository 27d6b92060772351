"use client";

import Link from "next/link";
import { useState, type FormEvent } from "react";
import { useInfiniteQuery, useMutation } from "@tanstack/react-query";
import { fieldError, formError, unplacedError } from "@/app/_components/errors";
import { useIdentityByIdentifier } from "@/app/_components/identity-lookup";
import type { FlagValue, RouterOutputs } from "@/app/_components/types";
import { Button, Checkbox, EmptyState, ErrorState, FormAlert, LoadMore, Loading, TextInput, useDebouncedValue, useToast } from "@/app/_components/ui";
import { useInvalidateFlags } from "@/app/_components/use-invalidate";
import { ValueEditor, draftOf, parseValue, type ValueDraft } from "@/app/_components/values";
import { useRemoveIdentityOverride } from "@/app/_components/identity-override-form";
import { OverrideRow } from "@/app/_components/override-row";
import { useEnvironmentProtection, useProtectedChange, type EnvironmentProtection } from "@/app/_components/protected-change";
import { useTRPC, useTRPCClient } from "@/app/_trpc/client";

type Feature = RouterOutputs["features"]["get"];

/** The feature's identity overrides in this environment: search, add by identifier, edit, remove. */
export function IdentityOverridesTab({ feature, projectId, environmentId, environmentName }: { feature: Feature; projectId: number; environmentId: number; environmentName: string }) {
  const trpc = useTRPC();
  const [search, setSearch] = useState("");
  const debounced = useDebouncedValue(search.trim());
  const removal = useRemoveIdentityOverride();
  const protection = useEnvironmentProtection(environmentId);
  const overrides = useInfiniteQuery(
    trpc.identities.overridesForFeature.infiniteQueryOptions(
      { featureId: feature.id, environmentId, search: debounced || undefined, limit: 25 },
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const items = overrides.data?.pages.flatMap((page) => page.items) ?? [];

  return (
    <div className="stack">
      <p className="muted" style={{ margin: 0 }}>
        An identity override beats segment overrides and the environment value for one user in {environmentName}.
      </p>
      <div className="filters" role="search">
        <div className="field grow">
          <label htmlFor="identity-override-search">Search identities</label>
          <input
            id="identity-override-search"
            className="input"
            type="search"
            value={search}
            placeholder="Identifier…"
            aria-keyshortcuts="/"
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
      </div>
      {overrides.isPending ? (
        <Loading />
      ) : overrides.isError ? (
        <ErrorState error={overrides.error} retry={() => overrides.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState title={debounced ? "No matching identity overrides" : "No identity overrides"}>{debounced ? "Try another identifier." : "Add one below to give a single user a different state."}</EmptyState>
      ) : (
        <>
          <ul className="plain-list override-list" aria-label="Identity overrides">
            {items.map((override) => (
              <OverrideRow
                key={override.id}
                kind="identity"
                override={override}
                name={override.identifier}
                featureName={feature.name}
                testId={`identity-override-${override.identifier}`}
                target={<Link href={`/p/${projectId}/e/${environmentId}/identities/${override.identityId}`}>{override.identifier}</Link>}
                protection={protection}
                onRemove={() => removal.ask({ id: override.id, featureName: feature.name, identifier: override.identifier })}
              />
            ))}
          </ul>
          <LoadMore hasMore={overrides.hasNextPage} loading={overrides.isFetchingNextPage} onClick={() => void overrides.fetchNextPage()} />
        </>
      )}
      <AddIdentityOverride feature={feature} environmentId={environmentId} protection={protection} />
      {removal.dialog}
    </div>
  );
}

/** Adds an identity override (asking first in a protected environment, or one not known yet). */
function AddIdentityOverride({ feature, environmentId, protection }: { feature: Feature; environmentId: number; protection: EnvironmentProtection }) {
  const trpc = useTRPC();
  const guard = useProtectedChange();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const lookup = useIdentityByIdentifier();
  const client = useTRPCClient();
  const [identifier, setIdentifier] = useState("");
  const [enabled, setEnabled] = useState(true);
  const [value, setValue] = useState<ValueDraft>(draftOf(feature.initialValue));
  const [submitted, setSubmitted] = useState(false);
  const create = useMutation({
    mutationKey: trpc.identities.createOverride.mutationKey(),
    mutationFn: async (input: { identifier: string; enabled: boolean; value: FlagValue }) => {
      const identity = await lookup(environmentId, input.identifier);
      const override = await client.identities.createOverride.mutate({ identityId: identity.id, featureId: feature.id, enabled: input.enabled, value: input.value });
      return { identity, override };
    },
    onSuccess: async ({ identity }) => {
      await invalidate();
      toast.success(`Override added for "${identity.identifier}"`);
      setIdentifier("");
      setSubmitted(false);
    },
  });

  const server = formError(create.error);
  const parsedValue = parseValue(value);
  const identifierError = identifier.trim() === "" ? "Enter an identifier" : undefined;
  const edit = <T,>(set: (v: T) => void) => (v: T) => {
    if (create.error) create.reset();
    set(v);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (identifierError || !parsedValue.ok) return;
    const input = { identifier, enabled, value: parsedValue.value };
    void guard(protection.environment, `Add an override of ${feature.name} for identity "${identifier.trim()}"`, () => create.mutate(input), "Add override");
  };
  const top = unplacedError(server, "identifier", "featureId", "value");
  return (
    <form className="panel-inset stack" onSubmit={submit} noValidate aria-labelledby="add-identity-override-heading">
      <h3 id="add-identity-override-heading">Add an identity override</h3>
      <FormAlert message={top} />
      <div className="grid-2">
        <TextInput
          label="Identifier"
          value={identifier}
          onChange={(e) => edit(setIdentifier)(e.target.value)}
          placeholder="user-123"
          autoComplete="off"
          hint="The identity is created if it does not exist yet."
          error={(submitted ? identifierError : undefined) ?? fieldError(server, "identifier", "featureId")}
        />
        <ValueEditor
          label="Identity value"
          draft={value}
          onChange={edit(setValue)}
          multiline={false}
          error={(submitted && !parsedValue.ok ? parsedValue.error : undefined) ?? fieldError(server, "value")}
        />
      </div>
      <Checkbox label="Enabled for this identity" checked={enabled} onChange={(e) => edit(setEnabled)(e.target.checked)} />
      <div>
        <Button type="submit" variant="primary" busy={create.isPending} disabled={protection.checking}>
          Add override
        </Button>
      </div>
    </form>
  );
}
