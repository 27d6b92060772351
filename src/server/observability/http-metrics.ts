import { histogram } from "./metrics";

export const httpRequestDuration = histogram(
  "flagsmith_http_request_duration_seconds",
  "Time to answer an HTTP request, by route template, method and status code.",
  ["route", "method", "status"],
  [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
);
