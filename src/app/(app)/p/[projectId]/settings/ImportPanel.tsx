"use client";

/**
 * Project settings → "Import from Flagsmith": pick or drop a Flagsmith environment document (JSON of
 * `GET /api/v1/environment-document/`); it is checked in the browser (same validation as the server, so
 * problems show with their JSON path before anything is sent), then previewed by
 * `imports.previewFlagsmith` (the real import, rolled back): counts and lists of what will be created
 * or reused, and warnings. "Import" applies exactly that plan (`planHash`; a project changed
 * meanwhile is refused and previewed again); Cancel drops it. On success: a link to the new
 * environment, its client key (the document's own) and a new server-side key, shown once.
 */
import Link from "next/link";
import { useRef, useState, type DragEvent, type ReactNode } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Badge, Button, CopyField } from "@/app/_components/ui";
import { formError } from "@/app/_components/errors";
import { useTRPC } from "@/app/_trpc/client";
import type { RouterOutputs } from "@/app/_components/types";
import { validateFlagsmithDocument } from "@/server/imports/validation";
import { plural } from "@/server/text";

/** Mirrors MAX_IMPORT_DOCUMENT_BYTES of src/server/imports/router.ts (larger files: the CLI). */
const MAX_BYTES = 20 * 1024 * 1024;

type Problem = { path: string | null; message: string };

/** "$.a.b[0]: message" → path and message. */
function splitProblem(message: string): Problem {
  const match = /^(\$[^:]*?): (.*)$/s.exec(message);
  return match ? { path: match[1], message: match[2] } : { path: null, message };
}

export function ImportPanel({ projectId }: { projectId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [fileName, setFileName] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [dragging, setDragging] = useState(false);
  const [reading, setReading] = useState(false);
  const [pending, setPending] = useState<{ document: unknown } | null>(null);
  const onError = (error: unknown) => {
    const form = formError(error);
    setProblem(splitProblem(form?.fieldErrors.document ?? form?.fieldErrors.planHash ?? form?.message ?? "Import failed"));
  };
  const preview = useMutation(trpc.imports.previewFlagsmith.mutationOptions({ onError }));
  const run = useMutation(
    trpc.imports.flagsmith.mutationOptions({
      onSuccess: async () => {
        setPending(null);
        preview.reset();
        // A new environment, and features and segments matched by name or added: every list refreshes.
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.environments.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.features.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.segments.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.flagd.pathKey() }),
          queryClient.invalidateQueries({ queryKey: trpc.audit.pathKey() }),
        ]);
      },
      onError: (error) => {
        // The plan changed since the preview (or the import failed): the preview is stale.
        preview.reset();
        onError(error);
      },
    }),
  );

  const cancel = () => {
    setPending(null);
    setFileName(null);
    setProblem(null);
    preview.reset();
    run.reset();
  };

  const handleFile = async (file: File | undefined) => {
    if (!file) return;
    run.reset();
    preview.reset();
    setPending(null);
    setProblem(null);
    setFileName(file.name);
    if (file.size > MAX_BYTES) {
      setProblem({ path: null, message: `This file is ${Math.ceil(file.size / 1024 / 1024)} MB; the web import takes up to ${MAX_BYTES / 1024 / 1024} MB. Use npm run import:flagsmith for larger documents.` });
      return;
    }
    setReading(true);
    let document: unknown;
    try {
      document = JSON.parse(await file.text());
    } catch (error) {
      setProblem({ path: "$", message: `not valid JSON (${(error as Error).message})` });
      return;
    } finally {
      setReading(false);
    }
    const checked = validateFlagsmithDocument(document);
    if (!checked.ok) {
      setProblem({ path: checked.path, message: checked.problem });
      return;
    }
    setPending({ document });
    preview.mutate({ projectId, document });
  };

  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    void handleFile(event.dataTransfer.files?.[0]);
  };

  const result = run.data;
  return (
    <section className="panel" aria-labelledby="project-import">
      <div className="panel-header">
        <h2 id="project-import">Import from Flagsmith</h2>
      </div>
      <div className="panel-body stack">
        <p className="muted small" style={{ margin: 0 }}>
          Adds one environment from a Flagsmith environment document (the JSON served by <code>/api/v1/environment-document/</code>). It keeps its client key, segment
          ids and hashing seeds, so SDKs switch over without any user changing bucket. Features and segments are matched by name; segments are reused only when
          identical.
        </p>
        <div
          role="group"
          aria-label="Drop a Flagsmith environment document here"
          onDragOver={(event) => {
            event.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
          className="row"
          style={{
            border: `2px dashed ${dragging ? "var(--primary)" : "var(--border)"}`,
            borderRadius: 8,
            padding: "18px 16px",
            justifyContent: "center",
            background: dragging ? "var(--primary-soft)" : undefined,
          }}
        >
          <span className="muted">Drop a .json file here, or</span>
          <Button type="button" onClick={() => input.current?.click()} busy={reading || preview.isPending || run.isPending}>
            Choose file…
          </Button>
          <input
            ref={input}
            type="file"
            accept="application/json,.json"
            hidden
            aria-label="Flagsmith environment document"
            onChange={(event) => {
              void handleFile(event.target.files?.[0]);
              event.target.value = "";
            }}
          />
        </div>
        {fileName && preview.isPending ? (
          <p className="muted small" role="status" style={{ margin: 0 }}>
            Checking what importing {fileName} would do…
          </p>
        ) : null}
        {pending && preview.data && !run.data ? (
          <Preview
            fileName={fileName ?? "the document"}
            preview={preview.data}
            busy={run.isPending}
            onCancel={cancel}
            onImport={() => run.mutate({ projectId, document: pending.document, planHash: preview.data.planHash })}
          />
        ) : null}
        {problem ? (
          <div className="form-error" role="alert">
            <strong>{fileName ? `${fileName} was not imported` : "Not imported"}</strong>
            <div>
              {problem.path ? <code>{problem.path}</code> : null}
              {problem.path ? ": " : null}
              {problem.message}
            </div>
          </div>
        ) : null}
        {result ? (
          <div className="stack">
            <p className="notice notice-success" role="status" style={{ margin: 0 }}>
              Imported environment{" "}
              <Link href={`/p/${result.projectId}/e/${result.environmentId}/features`}>
                <strong>{result.environmentName}</strong>
              </Link>{" "}
              ({plural(result.counts.features, "feature")}, {plural(result.counts.segments, "segment")}, {plural(result.counts.identityOverrides, "identity override")}).
            </p>
            <CopyField label="Client-side environment key (unchanged from Flagsmith)" value={result.environmentKey} />
            <p className="notice" style={{ margin: 0 }}>
              Copy this server-side key now: it is shown only once.
            </p>
            <CopyField label="Server-side key" value={result.serverKey} />
          </div>
        ) : null}
      </div>
    </section>
  );
}

type PreviewData = RouterOutputs["imports"]["previewFlagsmith"];

const ACTION_LABEL = { create: "New", reuse: "Existing", update: "Existing, becomes multivariate" } as const;
const ACTION_TONE = { create: "success", reuse: undefined, update: "warning" } as const;

/** A list of names with how many more there are beyond the first `shown`. */
function Listing<T>({ label, items, total, render }: { label: string; items: T[]; total: number; render: (item: T) => ReactNode }) {
  const [all, setAll] = useState(false);
  const shown = all ? items : items.slice(0, 10);
  if (total === 0) return null;
  return (
    <details className="import-listing">
      <summary>{label}</summary>
      <ul aria-label={label}>
        {shown.map((item, index) => (
          <li key={index}>{render(item)}</li>
        ))}
      </ul>
      {shown.length < items.length ? (
        <Button type="button" variant="ghost" onClick={() => setAll(true)}>
          Show all {items.length}
        </Button>
      ) : null}
      {items.length < total ? <p className="muted small">… and {total - items.length} more</p> : null}
    </details>
  );
}

function Preview({ fileName, preview, busy, onCancel, onImport }: { fileName: string; preview: PreviewData; busy: boolean; onCancel: () => void; onImport: () => void }) {
  const { plan } = preview;
  const { counts } = plan;
  const existingFeatures = counts.features - counts.featuresCreated;
  const reusedSegments = counts.segments - counts.segmentsCreated;
  return (
    <section className="stack import-preview" role="region" aria-labelledby="import-preview-heading">
      <h3 id="import-preview-heading" style={{ margin: 0 }}>
        Preview: importing {fileName}
      </h3>
      <p style={{ margin: 0 }}>
        Creates environment <strong>{plan.environment.name}</strong> in project <strong>{plan.project.name}</strong> with client key <code>{plan.environment.clientKey}</code>{" "}
        and a new server-side key. Nothing has been written yet.
      </p>
      {/* Cards on narrow screens (each count labelled), like the other tables. */}
      <table className="table table-cards" aria-label="Import counts">
        <thead>
          <tr>
            <th>What</th>
            <th>Total</th>
            <th>New</th>
            <th>Existing</th>
          </tr>
        </thead>
        <tbody>
          {[
            ["Features", counts.features, counts.featuresCreated, existingFeatures],
            ["Segments", counts.segments, counts.segmentsCreated, reusedSegments],
            ["Segment overrides", counts.segmentOverrides, counts.segmentOverrides, 0],
            ["Identities with overrides", counts.identityOverrides, counts.identityOverrides, 0],
          ].map(([what, total, created, existing]) => (
            <tr key={what}>
              <td className="cell-main">{what}</td>
              <td data-label="Total">{total}</td>
              <td data-label="New">{created}</td>
              <td data-label="Existing">{existing}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {plan.warnings.length > 0 ? (
        <div className="notice" role="note" aria-label="Warnings">
          <strong>{plural(plan.warnings.length, "warning")}</strong>
          <ul style={{ margin: "4px 0 0", paddingLeft: 20 }}>
            {plan.warnings.map((warning) => (
              <li key={warning}>{warning}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <Listing
        label={`Features (${counts.features})`}
        items={plan.features}
        total={counts.features}
        render={(feature) => (
          <>
            <code>{feature.name}</code> <Badge tone={ACTION_TONE[feature.action]}>{ACTION_LABEL[feature.action]}</Badge> {feature.enabled ? "on" : "off"}
            {feature.type === "MULTIVARIATE" ? ", multivariate" : ""}
            {feature.newVariants > 0 && feature.action !== "create" ? `, ${plural(feature.newVariants, "new variant")}` : ""}
          </>
        )}
      />
      <Listing
        label={`Segments (${counts.segments})`}
        items={plan.segments}
        total={counts.segments}
        render={(segment) => (
          <>
            {segment.name} <Badge tone={segment.action === "create" ? "success" : undefined}>{segment.action === "create" ? "New" : "Existing, identical"}</Badge>{" "}
            {plural(segment.overrides, "override")}
          </>
        )}
      />
      <Listing label={`Identities with overrides (${counts.identityOverrides})`} items={plan.identities} total={counts.identityOverrides} render={(identifier) => <code>{identifier}</code>} />
      <Listing
        label={`Project features not in the document (${plan.unmentionedFeatures.length})`}
        items={plan.unmentionedFeatures}
        total={plan.unmentionedFeatures.length}
        render={(name) => <code>{name}</code>}
      />
      <div className="row" style={{ justifyContent: "flex-end" }}>
        {/* Focus starts on Cancel, as in confirmations: Enter must not import by accident. */}
        <Button type="button" onClick={onCancel} disabled={busy} autoFocus>
          Cancel
        </Button>
        <Button type="button" variant="primary" onClick={onImport} busy={busy}>
          Import
        </Button>
      </div>
    </section>
  );
}
