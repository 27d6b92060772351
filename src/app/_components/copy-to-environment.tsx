"use client";

/**
 * "Copy to environment…": the differences copying the chosen features from `source` would make in
 * the target (computed by the server: `promotion.preview`), then the copy (`promotion.copy`, with the
 * revisions the preview was computed at). A protected target asks for confirmation first; a preview
 * that went stale meanwhile is refused by the server, and shown again, fresh, to review.
 */
import { useState, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { formError } from "@/app/_components/errors";
import { useProtectedChange } from "@/app/_components/protected-change";
import type { RouterOutputs } from "@/app/_components/types";
import { Button, Dialog, ErrorState, FormAlert, Loading, Select, useToast } from "@/app/_components/ui";
import { formatPercent, ValuePreview } from "@/app/_components/values";
import { useTRPC } from "@/app/_trpc/client";
import { plural } from "@/server/text";
import "./copy-to-environment.css";

type Preview = RouterOutputs["promotion"]["preview"];
type FeatureChanges = Preview["features"][number];
type StateChanges = FeatureChanges["defaults"];

export interface CopyEnvironment {
  id: number;
  name: string;
  isProtected: boolean;
}

export function CopyToEnvironmentDialog({
  open,
  onClose,
  onCopied,
  projectId,
  source,
  environments,
  features,
}: {
  open: boolean;
  onClose: () => void;
  onCopied: () => void;
  projectId: number;
  source: CopyEnvironment;
  environments: readonly CopyEnvironment[];
  features: readonly { id: number; name: string }[];
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const guard = useProtectedChange();
  const targets = environments.filter((e) => e.id !== source.id);
  const [chosenId, setChosenId] = useState<number | null>(null);
  const [stale, setStale] = useState(false);
  const target = targets.find((e) => e.id === chosenId) ?? targets[0];
  const request = { projectId, sourceEnvironmentId: source.id, targetEnvironmentId: target?.id ?? 0, featureIds: features.map((f) => f.id) };
  // Always computed afresh when the dialog opens: a preview is only good for the revisions it carries.
  const preview = useQuery({ ...trpc.promotion.preview.queryOptions(request), enabled: open && target !== undefined && features.length > 0, staleTime: 0, gcTime: 0 });
  const copy = useMutation(
    trpc.promotion.copy.mutationOptions({
      onSuccess: async (result) => {
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.promotion.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.features.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.segmentOverrides.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.audit.pathKey() }),
        ]);
        toast.success(result.changed === 0 ? `${target?.name} already matched ${source.name}` : `Copied ${plural(result.changed, "feature")} from ${source.name} to ${target?.name}`);
        onCopied();
        close();
      },
      onError: (error) => {
        // A stale preview: show the differences as they are now, to review before copying again.
        if ((error as { data?: { code?: string } }).data?.code === "PRECONDITION_FAILED") {
          setStale(true);
          void preview.refetch();
        }
      },
    }),
  );
  const close = () => {
    setChosenId(null);
    setStale(false);
    copy.reset();
    onClose();
  };
  const error = formError(copy.error);
  const data = open ? preview.data : undefined;
  const changed = data?.features.filter((f) => !f.identical) ?? [];
  const submit = () => {
    if (!data || !target) return;
    setStale(false);
    copy.reset();
    void guard(
      target,
      `Copy ${plural(changed.length, "feature")} from ${source.name}`,
      () => copy.mutate({ ...request, sourceRevision: data.source.revision, targetRevision: data.target.revision }),
      `Copy to ${target.name}`,
    );
  };
  return (
    <Dialog
      open={open}
      title="Copy to environment"
      wide
      onClose={close}
      footer={
        target ? (
          <>
            <Button type="button" onClick={close}>
              Cancel
            </Button>
            <Button type="button" variant="primary" disabled={!data || changed.length === 0 || preview.isFetching} busy={copy.isPending} onClick={submit}>
              Copy to {target.name}
            </Button>
          </>
        ) : undefined
      }
    >
      {target ? (
        <div className="stack">
          <p className="copy-text">
            Copies the state of {plural(features.length, "feature")} in <strong>{source.name}</strong> — on/off, value, variation weights and segment overrides — to the
            environment you choose. Identity overrides are not copied.
          </p>
          <Select
            label="To environment"
            value={target.id}
            onChange={(e) => {
              setChosenId(Number(e.target.value));
              setStale(false);
              copy.reset();
            }}
          >
            {targets.map((environment) => (
              <option key={environment.id} value={environment.id}>
                {environment.name}
                {environment.isProtected ? " (protected)" : ""}
              </option>
            ))}
          </Select>
          {stale && !copy.isPending ? (
            <p className="notice copy-text" role="alert">
              {error?.message ?? "The environments changed since this preview."} The differences below are up to date.
            </p>
          ) : (
            <FormAlert message={error?.message} />
          )}
          <section aria-label={`Differences in ${target.name}`} className="stack">
            {preview.isError ? (
              <ErrorState error={preview.error} retry={() => void preview.refetch()} />
            ) : !data || (preview.isFetching && stale) ? (
              <Loading label="Computing the differences…" />
            ) : (
              <>
                <p className="copy-text">
                  {changed.length === 0
                    ? `Every selected feature is already the same in ${target.name}: nothing to copy.`
                    : `${plural(changed.length, "feature")} of ${features.length} will change in ${target.name}.`}
                </p>
                <ul className="copy-preview">
                  {data.features.map((feature) => (
                    <FeatureDifferences key={feature.id} feature={feature} />
                  ))}
                </ul>
              </>
            )}
          </section>
        </div>
      ) : (
        <p>This project has no other environment to copy to.</p>
      )}
    </Dialog>
  );
}

function FeatureDifferences({ feature }: { feature: FeatureChanges }) {
  const lines: ReactNode[] = [...stateLines(feature.defaults)];
  for (const override of feature.overrides) {
    if (override.kind === "added" && override.copied) {
      lines.push(
        <>
          Segment override “{override.segment}” added: {override.copied.enabled ? "on" : "off"}, value <ValuePreview value={override.copied.value} />
          {override.copied.weights.length > 0 ? `, weights ${override.copied.weights.map((w) => `${w.option} ${formatPercent(w.percentage)}`).join(", ")}` : null}
        </>,
      );
    } else if (override.kind === "removed") {
      lines.push(<>Segment override “{override.segment}” removed</>);
    } else {
      lines.push(
        <>
          Segment override “{override.segment}”:{" "}
          {stateLines(override.changes).map((line, index) => (
            <span key={index}>
              {index > 0 ? "; " : null}
              {line}
            </span>
          ))}
        </>,
      );
    }
  }
  if (feature.reordered) lines.push(<>Segment override order: {feature.reordered.from.join(" > ")} → {feature.reordered.to.join(" > ")}</>);
  return (
    <li data-testid={`copy-preview-${feature.name}`}>
      <strong>{feature.name}</strong>
      {feature.identical ? (
        <span className="muted"> — already the same</span>
      ) : (
        <ul>
          {lines.map((line, index) => (
            <li key={index}>{line}</li>
          ))}
        </ul>
      )}
    </li>
  );
}

function stateLines(changes: StateChanges): ReactNode[] {
  const lines: ReactNode[] = [];
  if (changes.enabled) lines.push(<>{changes.enabled.to ? "Turned on" : "Turned off"}</>);
  if (changes.value) {
    lines.push(
      <>
        Value <ValuePreview value={changes.value.from} /> → <ValuePreview value={changes.value.to} />
      </>,
    );
  }
  if (changes.weights) lines.push(<>Weights {changes.weights.map((w) => `${w.option} ${formatPercent(w.from)} → ${formatPercent(w.to)}`).join(", ")}</>);
  if (changes.weightOrder) lines.push(<>Order of the variations</>);
  return lines;
}
