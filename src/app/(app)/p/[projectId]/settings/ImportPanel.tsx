"use client";

/**
 * Project settings → "Import from Flagsmith": pick or drop a Flagsmith environment document (JSON of
 * `GET /api/v1/environment-document/`); it is checked in the browser (same validation as the server, so
 * problems show with their JSON path before anything is sent), then imported by `imports.flagsmith`.
 * On success: a link to the new environment, its client key (the document's own) and a new server-side
 * key, shown once.
 */
import Link from "next/link";
import { useRef, useState, type DragEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Button, CopyField } from "@/app/_components/ui";
import { formError } from "@/app/_components/errors";
import { useTRPC } from "@/app/_trpc/client";
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
  const run = useMutation(
    trpc.imports.flagsmith.mutationOptions({
      onSuccess: async () => {
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
        const form = formError(error);
        setProblem(splitProblem(form?.fieldErrors.document ?? form?.message ?? "Import failed"));
      },
    }),
  );

  const handleFile = async (file: File | undefined) => {
    if (!file) return;
    run.reset();
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
    run.mutate({ projectId, document });
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
          <Button type="button" onClick={() => input.current?.click()} busy={reading || run.isPending}>
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
        {fileName && run.isPending ? <p className="muted small" style={{ margin: 0 }}>Importing {fileName}…</p> : null}
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
