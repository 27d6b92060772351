"use client";

import Link from "next/link";
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { flagdStartCommand, SERVER_KEY_PLACEHOLDER } from "@/app/_components/connect-snippets";
import { Button, ErrorState, Loading, SettingRow, Switch, formatDate, useToast } from "@/app/_components/ui";
import { useTRPC } from "@/app/_trpc/client";
import type { FeatureDiagnostics, FlagdDiagnostics } from "@/server/flagd/types";

const FIDELITY_BADGE: Record<string, string> = { exact: "badge-success", approximate: "badge-warning", lossy: "badge-danger" };

export function FlagdPanel({ projectId }: { projectId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const status = useQuery(trpc.flagd.status.queryOptions({ projectId }));
  const [open, setOpen] = useState<number | null>(null);
  const toggle = useMutation(
    trpc.flagd.setEnabled.mutationOptions({
      onSuccess: async (result) => {
        await queryClient.invalidateQueries({ queryKey: trpc.flagd.status.queryKey({ projectId }) });
        toast.success(result.enabled ? "flagd integration enabled" : "flagd integration disabled");
      },
      onError: (error) => toast.error(error),
    }),
  );
  const origin = typeof window === "undefined" ? "http://127.0.0.1:3000" : window.location.origin;

  return (
    <section className="panel" aria-labelledby="flagd-heading">
      <div className="panel-header">
        <h2 id="flagd-heading">flagd</h2>
        {status.data ? <span className="muted small">translator {status.data.translatorVersion}</span> : null}
      </div>
      <div className="panel-body stack">
        {status.isPending ? (
          <Loading />
        ) : status.isError ? (
          <ErrorState error={status.error} retry={() => status.refetch()} />
        ) : (
          <>
            <SettingRow
              label="Publish to flagd"
              help="Serve each environment of this project as a flagd flag-definition document at /api/v1/flagd/flags.json (server-side keys only). Off: the endpoints answer 404."
            >
              <Switch label="Publish to flagd" checked={status.data.enabled} disabled={toggle.isPending} onChange={(enabled) => toggle.mutate({ projectId, enabled })} />
            </SettingRow>
            {status.data.enabled ? (
              <>
                <div>
                  <strong>Point flagd at Flagpost</strong>
                  <pre className="code-block" aria-label="flagd command">{flagdStartCommand({ origin })}</pre>
                  <p className="muted small" style={{ margin: 0 }}>
                    Put a server-side key of the environment (Environment settings → SDK keys) in place of <code>{SERVER_KEY_PLACEHOLDER}</code>; each environment&apos;s Connect page has
                    this command and the SDK snippets ready to copy.{" "}
                    <a href="https://flagd.dev" target="_blank" rel="noreferrer noopener">
                      flagd documentation<span className="sr-only"> (opens in a new tab)</span>
                    </a>
                  </p>
                </div>
                <table className="table" aria-label="flagd documents per environment">
                  <thead>
                    <tr>
                      <th>Environment</th>
                      <th>Document</th>
                      <th>Flags</th>
                      <th>Warnings</th>
                      <th />
                    </tr>
                  </thead>
                  <tbody>
                    {status.data.environments.map((env) => (
                      <tr key={env.id}>
                        <td>{env.name}</td>
                        <td className="muted small">{env.etag ? `${env.etag.slice(1, 11)}… · ${formatDate(env.written_at)}` : "not written yet"}</td>
                        <td>
                          {env.summary ? (
                            <span className="row" style={{ gap: 4 }}>
                              <span className="badge badge-success">{env.summary.exact} exact</span>
                              {env.summary.approximate ? <span className="badge badge-warning">{env.summary.approximate} approximate</span> : null}
                              {env.summary.lossy ? <span className="badge badge-danger">{env.summary.lossy} lossy</span> : null}
                            </span>
                          ) : (
                            "—"
                          )}
                        </td>
                        <td>{env.summary ? env.summary.totalWarnings : "—"}</td>
                        <td style={{ textAlign: "right" }}>
                          <Button className="btn-sm" variant="ghost" aria-expanded={open === env.id} onClick={() => setOpen(open === env.id ? null : env.id)}>
                            {open === env.id ? "Hide diagnostics" : "Diagnostics"}
                          </Button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                {open !== null ? <DiagnosticsView environmentId={open} projectId={projectId} /> : null}
              </>
            ) : null}
          </>
        )}
      </div>
    </section>
  );
}

function DiagnosticsView({ environmentId, projectId }: { environmentId: number; projectId: number }) {
  const trpc = useTRPC();
  const query = useQuery(trpc.flagd.diagnostics.queryOptions({ environmentId }));
  const [onlyIssues, setOnlyIssues] = useState(true);
  if (query.isPending) return <Loading label="Loading diagnostics…" />;
  if (query.isError) return <ErrorState error={query.error} retry={() => query.refetch()} />;
  const diagnostics = query.data?.diagnostics as FlagdDiagnostics | null | undefined;
  if (!diagnostics) return <p className="muted">No flagd document has been written for this environment yet.</p>;
  const features = diagnostics.features.filter((f: FeatureDiagnostics) => !onlyIssues || f.fidelity !== "exact" || f.warnings.length > 0);
  return (
    <div className="stack" aria-label="flagd diagnostics">
      <div className="row-between">
        <strong>Diagnostics · flag set {diagnostics.flagSetId}</strong>
        <label className="row small">
          <input type="checkbox" checked={onlyIssues} onChange={(e) => setOnlyIssues(e.target.checked)} /> Only flags that are not exact or have warnings
        </label>
      </div>
      {diagnostics.environmentWarnings.length > 0 ? (
        <ul className="notice">
          {diagnostics.environmentWarnings.map((w, i) => (
            <li key={i}>
              <code>{w.reason}</code> {w.detail}
            </li>
          ))}
        </ul>
      ) : null}
      {features.length === 0 ? (
        <p className="notice notice-success">Every flag translates exactly.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Feature</th>
              <th>Fidelity</th>
              <th>Why / warnings</th>
            </tr>
          </thead>
          <tbody>
            {features.map((feature) => (
              <tr key={feature.name}>
                <td>
                  <Link href={`/p/${projectId}/e/${environmentId}/features/${feature.featureId}`}>{feature.name}</Link>
                </td>
                <td>
                  <span className={`badge ${FIDELITY_BADGE[feature.fidelity] ?? ""}`}>{feature.fidelity}</span>
                </td>
                <td className="small">
                  {feature.reasons.map((reason, i) => (
                    <div key={`r${i}`}>{reason}</div>
                  ))}
                  {feature.warnings.map((warning, i) => (
                    <div key={`w${i}`}>
                      <code>{warning.reason}</code> {warning.detail}
                    </div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
