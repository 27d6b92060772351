/**
 * Engine benchmark: `npx tsx bench/engine.ts`.
 *
 * Evaluates distinct identities against one environment context of 100 features (a third
 * multivariate) and 50 segments of 3 conditions with 2 overrides each (every kind of operator,
 * percentage splits, semver, REGEX), and reports µs per evaluation, beside a baseline in the same
 * run: one MD5 digest per feature (the hashing floor of multivariate/percentage evaluation).
 */
import { createHash } from "node:crypto";
import { getEvaluationResult, type AnySegmentCondition, type EvaluationContext, type FeatureContext, type SegmentContext } from "../src/server/engine";
import { machine, percentile } from "./lib";

const RUNS = Number(process.env.BENCH_RUNS ?? 5000);

function feature(overrides: Partial<FeatureContext>): FeatureContext {
  return { key: "10", name: "f", enabled: false, value: "default", ...overrides };
}

function largeContext(): EvaluationContext {
  const conditions: AnySegmentCondition[] = [
    { property: "plan", operator: "EQUAL", value: "enterprise" },
    { property: "age", operator: "GREATER_THAN", value: "30" },
    { property: "country", operator: "IN", value: "de,fr,uk,us" },
    { property: "", operator: "PERCENTAGE_SPLIT", value: "40" },
    { property: "$.environment.name", operator: "EQUAL", value: "Env" },
    { property: "email", operator: "REGEX", value: ".*@example\\.com" },
    { property: "version", operator: "GREATER_THAN_INCLUSIVE", value: "2.1.0:semver" },
    { property: "beta", operator: "IS_SET", value: "" },
  ];
  const mv = (i: number) => [
    { key: `a${i}`, value: "a", weight: 30, priority: 2 * i },
    { key: `b${i}`, value: "b", weight: 30, priority: 2 * i + 1 },
  ];
  const features = Array.from({ length: 100 }, (_, i) => feature({ key: String(i), name: `f${i}`, ...(i % 3 === 0 ? { variants: mv(i) } : {}) }));
  const segments: SegmentContext[] = Array.from({ length: 50 }, (_, i) => ({
    key: String(i + 1),
    name: `s${i}`,
    rules: [{ type: "ALL", rules: [{ type: i % 2 ? "ANY" : "ALL", conditions: [conditions[i % 8], conditions[(i + 3) % 8], conditions[(i + 5) % 8]] }] }],
    overrides: [
      feature({ key: String(1000 + i), name: `f${i % 100}`, priority: i % 5 }),
      feature({ key: String(2000 + i), name: `f${(i * 7) % 100}`, priority: i % 4, ...(i % 3 === 0 ? { variants: mv(i) } : {}) }),
    ],
  }));
  return {
    environment: { key: "env", name: "Env" },
    features: Object.fromEntries(features.map((f) => [f.name, f])),
    segments: Object.fromEntries(segments.map((s) => [s.key, s])),
  };
}

function time(fn: (i: number) => void, runs: number): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    fn(i);
    samples.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  return samples;
}

const environment = largeContext();
const traits = { plan: "enterprise", age: 35, country: "de", email: "x@example.com", version: "2.3.0", beta: true };
time((i) => getEvaluationResult({ ...environment, identity: { identifier: `warm${i}`, traits } }), 500);
const evaluate = time((i) => getEvaluationResult({ ...environment, identity: { identifier: `user${i}`, traits } }), RUNS);
const md5 = time((i) => {
  for (let f = 0; f < 100; f++) createHash("md5").update(`${f},env_user${i}`).digest();
}, RUNS);

const row = (name: string, samples: number[]) =>
  `  ${name.padEnd(44)} p50 ${percentile(samples, 50).toFixed(1).padStart(7)} µs   p99 ${percentile(samples, 99).toFixed(1).padStart(7)} µs`;
process.stdout.write(
  [
    `machine: ${machine()}`,
    `engine, 100 features / 50 segments (3 conditions, 2 overrides each), ${RUNS} distinct identities:`,
    row("getEvaluationResult per identity", evaluate),
    row("baseline: 100 MD5 digests", md5),
  ].join("\n") + "\n",
);
