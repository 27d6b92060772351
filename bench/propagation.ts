/**
 * Change propagation benchmark: `npx tsx bench/propagation.ts`.
 *
 * Toggles a flag N times through the admin API (tRPC over HTTP, as the UI does) and measures, for
 * each toggle, the time from the mutation's response (its transaction has committed) until
 * `GET /api/v1/flags/` returns the new value: enqueue → worker pick-up (LISTEN/NOTIFY) → snapshot
 * build → store → NOTIFY → the web process's cache refresh → response. Reports p50/p99/max.
 * Target: p99 < 200 ms.
 *
 * Options (environment): BENCH_TOGGLES (default 200), BENCH_FEATURES (features in the environment, default 50).
 */
import { benchProject, log, machine, percentile, startBenchSystem } from "./lib";

const TOGGLES = Number(process.env.BENCH_TOGGLES ?? 200);
const FEATURES = Number(process.env.BENCH_FEATURES ?? 50);

async function main(): Promise<void> {
  const system = await startBenchSystem();
  try {
    const { session, environment: env, features } = await benchProject({ email: "propagation@example.com", project: "propagation", features: FEATURES, enabled: (i) => i % 2 === 0 });
    const target = features[0];
    const flagsUrl = `${system.url}/api/v1/flags/`;
    const headers = { "x-environment-key": env.apiKey };
    const enabledNow = async (): Promise<boolean | null> => {
      const response = await fetch(flagsUrl, { headers });
      if (response.status !== 200) return null;
      const flags = (await response.json()) as { feature: { id: number }; enabled: boolean }[];
      return flags.find((f) => f.feature.id === target.id)?.enabled ?? null;
    };
    while ((await enabledNow()) === null) await new Promise((r) => setTimeout(r, 50));

    const cookie = `flagpost_session=${session.token}`;
    let enabled = (await enabledNow())!;
    const latencies: number[] = [];
    log(`toggling ${TOGGLES} times`);
    for (let i = 0; i < TOGGLES; i++) {
      enabled = !enabled;
      const response = await fetch(`${system.url}/api/trpc/features.updateState`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify({ featureId: target.id, environmentId: env.id, enabled }),
      });
      if (response.status !== 200) throw new Error(`toggle failed: ${response.status} ${await response.text()}`);
      const committed = performance.now();
      for (;;) {
        if ((await enabledNow()) === enabled) break;
        if (performance.now() - committed > 10_000) throw new Error("change not visible after 10 s");
      }
      latencies.push(performance.now() - committed);
    }
    const p = (q: number) => percentile(latencies, q).toFixed(1);
    process.stdout.write(
      [
        `machine: ${machine()}`,
        `commit → visible on GET /api/v1/flags/ (${TOGGLES} toggles, ${FEATURES} features in the environment):`,
        `  p50 ${p(50)} ms   p90 ${p(90)} ms   p99 ${p(99)} ms   max ${Math.max(...latencies).toFixed(1)} ms`,
        `  target p99 < 200 ms: ${percentile(latencies, 99) < 200 ? "met" : "NOT met"}`,
      ].join("\n") + "\n",
    );
  } finally {
    await system.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
