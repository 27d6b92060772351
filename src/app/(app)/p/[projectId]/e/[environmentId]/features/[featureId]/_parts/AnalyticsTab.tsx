"use client";

import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { BarChart } from "@/app/_components/charts";
import { EmptyState, ErrorState, Loading } from "@/app/_components/ui";
import { useTRPC } from "@/app/_trpc/client";

const RANGES = [
  { days: 1, label: "Last 24 hours" },
  { days: 7, label: "Last 7 days" },
  { days: 30, label: "Last 30 days" },
  { days: 90, label: "Last 90 days" },
] as const;

/** Evaluation counts reported by SDKs (flag analytics) for this feature in this environment. */
export function AnalyticsTab({ featureId, environmentId, environmentName }: { featureId: number; environmentId: number; environmentName: string }) {
  const trpc = useTRPC();
  const [days, setDays] = useState<number>(7);
  const analytics = useQuery({ ...trpc.sdk.analytics.queryOptions({ featureId, environmentId, days }), placeholderData: (previous) => previous });
  return (
    <div className="stack">
      <div className="row-between">
        <p className="muted" style={{ margin: 0 }}>
          How often SDKs evaluated this flag in {environmentName} (SDKs report this when flag analytics is enabled in them).
        </p>
        <div className="field">
          <label htmlFor="analytics-range" className="sr-only">
            Period
          </label>
          <select id="analytics-range" className="input" value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {RANGES.map((range) => (
              <option key={range.days} value={range.days}>
                {range.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      {analytics.isPending ? (
        <Loading />
      ) : analytics.isError ? (
        <ErrorState error={analytics.error} retry={() => analytics.refetch()} />
      ) : analytics.data.total === 0 ? (
        <EmptyState title="No evaluations reported">
          Enable analytics in your SDK (e.g. <code>enableAnalytics: true</code>) to see how often this flag is evaluated.
        </EmptyState>
      ) : (
        <>
          <p style={{ margin: 0 }}>
            <strong>{analytics.data.total.toLocaleString()}</strong> evaluations
          </p>
          <BarChart buckets={analytics.data.buckets} granularity={analytics.data.granularity} label={`Evaluations of ${analytics.data.featureName}`} />
        </>
      )}
    </div>
  );
}
