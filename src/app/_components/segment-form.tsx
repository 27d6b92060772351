"use client";

/**
 * Create / edit a segment: name, description and rules. The shared validator runs as the user
 * edits (messages appear for inputs left or after a submit); the server's field errors show at
 * the same places.
 */
import { useRef, useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { validateSegment } from "@/server/segments/validation";
import { useTRPC } from "@/app/_trpc/client";
import { formError } from "./errors";
import { RuleBuilder, draftsOf, initialRules, rulesInput, type RuleDraft } from "./rule-builder";
import { Button, FormAlert, TextInput, useToast } from "./ui";
import { useInvalidateFlags } from "./use-invalidate";
import type { RouterOutputs } from "./types";

type Segment = RouterOutputs["segments"]["get"];

export function SegmentForm({
  projectId,
  segment,
  onSaved,
  onCancel,
}: {
  projectId: number;
  /** The segment to edit; a new one when absent. */
  segment?: Segment;
  onSaved: (saved: { id: number; name: string }) => void;
  onCancel?: () => void;
}) {
  const trpc = useTRPC();
  const toast = useToast();
  const invalidate = useInvalidateFlags();
  const formRef = useRef<HTMLFormElement>(null);
  const [name, setName] = useState(segment?.name ?? "");
  const [description, setDescription] = useState(segment?.description ?? "");
  const [rules, setRules] = useState<RuleDraft[]>(() => (segment ? draftsOf(segment.rules) : initialRules()));
  const [submitted, setSubmitted] = useState(false);
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());

  const onSuccess = async (saved: { id: number; name: string }) => {
    await invalidate();
    toast.success(segment ? `Segment "${saved.name}" saved` : `Segment "${saved.name}" created`);
    onSaved(saved);
  };
  const create = useMutation(trpc.segments.create.mutationOptions({ onSuccess }));
  const update = useMutation(trpc.segments.update.mutationOptions({ onSuccess }));
  const mutation = segment ? update : create;
  const server = formError(mutation.error);

  const input = { name, description: description.trim() === "" ? null : description, rules: rulesInput(rules) };
  const clientErrors = validateSegment(input);
  // What to show: the validator's messages for touched inputs (all after a submit), then the server's.
  const shown: Record<string, string> = {};
  for (const [path, message] of Object.entries(clientErrors)) {
    if (submitted || touched.has(path)) shown[path] = message;
  }
  for (const [path, message] of Object.entries(server?.fieldErrors ?? {})) shown[path] ??= message;
  const unplaced = server && Object.keys(server.fieldErrors).length === 0 ? server.message : undefined;

  const edit = () => {
    if (mutation.error) mutation.reset();
  };
  const touch = (path: string) => setTouched((current) => (current.has(path) ? current : new Set(current).add(path)));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (Object.keys(clientErrors).length > 0) {
      // Move focus to the first invalid input once the messages have rendered.
      requestAnimationFrame(() => formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    if (segment) update.mutate({ segmentId: segment.id, name: input.name.trim(), description: input.description, rules: input.rules });
    else create.mutate({ projectId, name: input.name.trim(), description: input.description, rules: input.rules });
  };

  return (
    <form ref={formRef} className="stack" onSubmit={submit} noValidate aria-label={segment ? `Edit segment ${segment.name}` : "New segment"}>
      <FormAlert message={unplaced} />
      <div className="grid-2">
        <TextInput
          label="Segment name"
          value={name}
          autoFocus={!segment}
          autoComplete="off"
          placeholder="beta_users"
          onChange={(e) => {
            edit();
            setName(e.target.value);
          }}
          onBlur={() => touch("name")}
          error={shown.name}
        />
        <TextInput
          label="Description"
          value={description}
          placeholder="optional"
          onChange={(e) => {
            edit();
            setDescription(e.target.value);
          }}
          onBlur={() => touch("description")}
          error={shown.description}
        />
      </div>
      <section aria-labelledby="rules-heading" className="stack">
        <div>
          <h3 id="rules-heading">Rules</h3>
          <p className="muted small" style={{ margin: "4px 0 0" }}>
            An identity is in the segment when every top-level rule matches. Traits are compared as the SDK sends them; <code>$.identity.identifier</code> and other
            JSONPaths read the evaluation context.
          </p>
        </div>
        <RuleBuilder
          rules={rules}
          onChange={(next) => {
            edit();
            setRules(next);
          }}
          errors={shown}
          onTouch={touch}
          disabled={mutation.isPending}
        />
      </section>
      <div className="row">
        <Button type="submit" variant="primary" busy={mutation.isPending}>
          {segment ? "Save segment" : "Create segment"}
        </Button>
        {onCancel ? (
          <Button type="button" onClick={onCancel}>
            Cancel
          </Button>
        ) : null}
      </div>
    </form>
  );
}
