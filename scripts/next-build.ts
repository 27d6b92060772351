/**
 * Whether `.next` holds a production build of the current sources, and building it when not: shared
 * by the launcher (`npm start`) and the tests that run the built system (tests/support/system.ts).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** Everything `next build` reads that a change could make a build stale by. */
const BUILD_INPUTS = ["src", "public", "next.config.ts", "package.json", "package-lock.json", "tsconfig.json"];

function newestMtime(entry: string): number {
  if (!fs.existsSync(entry)) return 0;
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const child of fs.readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, child)));
  return newest;
}

/** `missing` (never built), `stale` (an input changed since) or `current`. */
export function nextBuildState(root: string): "missing" | "stale" | "current" {
  const buildId = path.join(root, ".next", "BUILD_ID");
  if (!fs.existsSync(buildId)) return "missing";
  const builtAt = fs.statSync(buildId).mtimeMs;
  return builtAt >= Math.max(...BUILD_INPUTS.map((input) => newestMtime(path.join(root, input)))) ? "current" : "stale";
}

/** Runs `next build` in `root`; returns its exit status. */
export function runNextBuild(root: string): number {
  const result = spawnSync(process.execPath, [path.join(root, "node_modules", "next", "dist", "bin", "next"), "build"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  return result.status ?? 1;
}
