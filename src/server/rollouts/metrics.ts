/** Metrics of Flagpost's own OpenFeature client (docs/metrics.md, docs/rollouts.md). */
import { counter, gauge } from "@/server/observability/metrics";

export const gateEvaluations = counter(
  "flagsmith_rollouts_gate_evaluations_total",
  "Evaluations of Flagpost's own gates (docs/rollouts.md) that were not answered from the per-process memo, by gate and result (on, off, or error: the gate's default was used).",
  ["gate", "result"],
);

export const flagsRefreshes = counter(
  "flagsmith_rollouts_flags_refreshes_total",
  "Refreshes of Flagpost's own flags from FLAGPOST_FLAGS_API_URL, by result (success, failure: the last document, or the shipped file, stays in use).",
  ["result"],
);

export const flagsSource = gauge(
  "flagsmith_rollouts_flags_source",
  "Where Flagpost's own flags come from in this process: 1 for the source in use (shipped: the file in the repository; api: the last document fetched from FLAGPOST_FLAGS_API_URL).",
  ["source"],
);
