"use client";

/** A small inline-SVG bar chart (no chart library): one bar per bucket, hover titles, an accessible summary. */

import { plural } from "@/server/text";

export interface Bucket {
  start: string;
  count: number;
}

export function BarChart({ buckets, granularity, label }: { buckets: readonly Bucket[]; granularity: "hour" | "day"; label: string }) {
  const width = 720;
  const height = 180;
  const padding = { top: 12, right: 8, bottom: 24, left: 44 };
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const innerWidth = width - padding.left - padding.right;
  const innerHeight = height - padding.top - padding.bottom;
  const step = buckets.length > 0 ? innerWidth / buckets.length : innerWidth;
  const barWidth = Math.max(1, step * 0.75);
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  const format = (start: string) =>
    granularity === "hour"
      ? new Date(start).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
      : new Date(start).toLocaleDateString(undefined, { month: "short", day: "numeric" });
  // Distinct (they are keys): with a peak of 1 the middle tick would repeat the top one.
  const ticks = [...new Set([0, Math.round(max / 2), max])];
  const labelEvery = Math.max(1, Math.ceil(buckets.length / 8));
  return (
    <svg className="bar-chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}: ${plural(total, "evaluation")} over ${plural(buckets.length, granularity)}, peak ${max}`}>
      {ticks.map((tick) => {
        const y = padding.top + innerHeight - (tick / max) * innerHeight;
        return (
          <g key={tick}>
            <line x1={padding.left} x2={width - padding.right} y1={y} y2={y} className="chart-grid" />
            <text x={padding.left - 6} y={y + 4} textAnchor="end" className="chart-label">
              {tick}
            </text>
          </g>
        );
      })}
      {buckets.map((bucket, index) => {
        const barHeight = (bucket.count / max) * innerHeight;
        const x = padding.left + index * step + (step - barWidth) / 2;
        return (
          <g key={bucket.start}>
            <rect x={x} y={padding.top + innerHeight - barHeight} width={barWidth} height={Math.max(barHeight, bucket.count > 0 ? 1 : 0)} className="chart-bar" rx={1.5}>
              <title>{`${format(bucket.start)}: ${bucket.count}`}</title>
            </rect>
            {index % labelEvery === 0 ? (
              <text x={x + barWidth / 2} y={height - 6} textAnchor="middle" className="chart-label">
                {format(bucket.start)}
              </text>
            ) : null}
          </g>
        );
      })}
    </svg>
  );
}
