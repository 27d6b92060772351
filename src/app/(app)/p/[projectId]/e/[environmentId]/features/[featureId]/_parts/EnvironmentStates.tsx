"use client";

import Link from "next/link";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { RouterOutputs } from "@/app/_components/types";
import { useToggleWithUndo } from "@/app/_components/protected-change";
import { Badge, ErrorState, Loading, Switch, useToast } from "@/app/_components/ui";
import { ValuePreview } from "@/app/_components/values";
import { useTRPC } from "@/app/_trpc/client";

type Feature = RouterOutputs["features"]["get"];

/** The feature's default state in every environment, each with its own toggle (optimistic). */
export function EnvironmentStates({ feature, projectId, currentEnvironmentId }: { feature: Feature; projectId: number; currentEnvironmentId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const statesKey = trpc.features.states.queryKey({ featureId: feature.id });
  const states = useQuery(trpc.features.states.queryOptions({ featureId: feature.id }));
  const toggle = useMutation(
    trpc.features.updateState.mutationOptions({
      onMutate: async (variables) => {
        await queryClient.cancelQueries({ queryKey: statesKey });
        const previous = queryClient.getQueryData(statesKey);
        queryClient.setQueryData(statesKey, (rows) => rows?.map((row) => (row.environmentId === variables.environmentId ? { ...row, enabled: variables.enabled ?? row.enabled } : row)));
        return { previous };
      },
      onError: (error, _variables, context) => {
        if (context?.previous) queryClient.setQueryData(statesKey, context.previous);
        toast.error(error);
      },
      onSettled: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.features.pathKey() });
        await queryClient.invalidateQueries({ queryKey: trpc.audit.pathKey() });
      },
    }),
  );

  const environments = useQuery(trpc.environments.list.queryOptions({ projectId }));
  const guarded = new Map(environments.data?.map((env) => [env.id, env]));
  const toggleFeature = useToggleWithUndo(toggle.mutateAsync);

  return (
    <section className="panel" aria-labelledby="environments-heading">
      <div className="panel-header">
        <h2 id="environments-heading">Environments</h2>
        <span className="muted small">Toggle the flag in each environment; open one to edit its value and overrides.</span>
      </div>
      {states.isPending ? (
        <Loading />
      ) : states.isError ? (
        <div className="panel-body">
          <ErrorState error={states.error} retry={() => states.refetch()} />
        </div>
      ) : (
        <table className="table table-cards" aria-label="Value in every environment">
          <thead>
            <tr>
              <th>Environment</th>
              <th>Value</th>
              <th style={{ textAlign: "right" }}>Enabled</th>
            </tr>
          </thead>
          <tbody>
            {states.data.map((state) => (
              <tr key={state.environmentId} data-testid={`environment-state-${state.environmentName}`}>
                <td className="cell-main">
                  {state.environmentId === currentEnvironmentId ? (
                    <span className="row">
                      <strong>{state.environmentName}</strong> <Badge tone="primary">current</Badge>
                      {guarded.get(state.environmentId)?.isProtected ? <Badge tone="warning">protected</Badge> : null}
                    </span>
                  ) : (
                    <span className="row">
                      <Link href={`/p/${projectId}/e/${state.environmentId}/features/${feature.id}`}>{state.environmentName}</Link>
                      {guarded.get(state.environmentId)?.isProtected ? <Badge tone="warning">protected</Badge> : null}
                    </span>
                  )}
                </td>
                <td data-label="Value">
                  <ValuePreview value={state.value} />
                  {state.allocations.some((a) => a.percentageAllocation > 0) ? (
                    <span className="muted small"> · split {state.allocations.map((a) => `${a.percentageAllocation}%`).join(" / ")}</span>
                  ) : null}
                </td>
                <td className="cell-end" style={{ textAlign: "right" }}>
                  <Switch
                    label={`Enable in ${state.environmentName}`}
                    checked={state.enabled}
                    disabled={!environments.data}
                    onChange={(enabled) =>
                      void toggleFeature({
                        featureId: feature.id,
                        featureName: feature.name,
                        environmentId: state.environmentId,
                        environment: guarded.get(state.environmentId),
                        enabled,
                      })
                    }
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
