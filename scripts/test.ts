/**
 * `npm test`: typecheck, lint, unit tests, production build, integration tests (real PostgreSQL,
 * real worker, `next start`), and Playwright e2e in Chromium. Every step runs even after a failure
 * (a step that could not run counts as failed); the last line is `N passed, N failed` over all
 * tests and checks. Skipped tests are reported separately and never counted as passed.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "..");
const results = path.join(root, "test-results");
fs.mkdirSync(results, { recursive: true });
const bin = (name: string) => path.join(root, "node_modules", ".bin", name);

interface Outcome {
  step: string;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
}
const outcomes: Outcome[] = [];
const only = process.argv.slice(2);

function selected(step: string): boolean {
  return only.length === 0 || only.includes(step);
}

function run(step: string, command: string, args: string[], env: Record<string, string> = {}): { ok: boolean; seconds: number } {
  process.stdout.write(`\n=== ${step}: ${command} ${args.join(" ")}\n`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env } });
  return { ok: result.status === 0, seconds: (Date.now() - started) / 1000 };
}

function check(step: string, command: string, args: string[]): void {
  if (!selected(step)) return;
  const { ok, seconds } = run(step, command, args);
  outcomes.push({ step, passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0, seconds });
}

function vitest(step: "unit" | "integration"): void {
  if (!selected(step)) return;
  const report = path.join(results, `${step}.json`);
  fs.rmSync(report, { force: true });
  const { ok, seconds } = run(step, bin("vitest"), ["run", "--project", step, "--reporter=default", "--reporter=json", `--outputFile.json=${report}`]);
  if (!fs.existsSync(report)) {
    outcomes.push({ step, passed: 0, failed: 1, skipped: 0, seconds });
    return;
  }
  const json = JSON.parse(fs.readFileSync(report, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
    numFailedTestSuites: number;
  };
  // A file that fails to load has no failed tests but a failed suite: count it.
  const failed = json.numFailedTests + (json.numFailedTests === 0 && (!ok || json.numFailedTestSuites > 0) ? Math.max(1, json.numFailedTestSuites) : 0);
  outcomes.push({ step, passed: json.numPassedTests, failed, skipped: json.numPendingTests + json.numTodoTests, seconds });
}

function e2e(): void {
  if (!selected("e2e")) return;
  const report = path.join(results, "e2e.json");
  fs.rmSync(report, { force: true });
  const { ok, seconds } = run("e2e", bin("playwright"), ["test"], { CI: "true" });
  if (!fs.existsSync(report)) {
    outcomes.push({ step: "e2e", passed: 0, failed: 1, skipped: 0, seconds });
    return;
  }
  const json = JSON.parse(fs.readFileSync(report, "utf8")) as { stats: { expected: number; unexpected: number; flaky: number; skipped: number }; errors?: unknown[] };
  const failed = json.stats.unexpected + json.stats.flaky + (json.stats.unexpected === 0 && !ok ? 1 : 0);
  outcomes.push({ step: "e2e", passed: json.stats.expected, failed, skipped: json.stats.skipped, seconds });
}

check("typecheck", bin("tsc"), ["--noEmit", "-p", "tsconfig.json"]);
check("lint", bin("eslint"), ["--max-warnings=0", "."]);
vitest("unit");
check("build", process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"]);
vitest("integration");
e2e();

process.stdout.write("\n=== summary\n");
for (const o of outcomes) {
  process.stdout.write(`${o.step.padEnd(12)} ${String(o.passed).padStart(5)} passed ${String(o.failed).padStart(4)} failed ${o.skipped ? `${o.skipped} skipped ` : ""}(${o.seconds.toFixed(0)} s)\n`);
}
const passed = outcomes.reduce((n, o) => n + o.passed, 0);
const failed = outcomes.reduce((n, o) => n + o.failed, 0);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
