/**
 * SDK API benchmark: `npx tsx bench/sdk.ts`.
 *
 * Starts its own embedded PostgreSQL, `next start` and the worker (tests/support/system.ts), creates a
 * realistic environment (50 features, 10 of them multivariate, 12 segments with overrides, identity
 * overrides) through the tRPC callers, then measures with autocannon on loopback:
 *
 *   1. a bare Node `http` server (own process) answering the same `/flags/` bytes from memory;
 *   2. `GET /api/v1/flags/` (client key; the warm path is a cache hit);
 *   3. `POST /api/v1/identities/` with 5 traits over 1,000 rotating, stored identities whose traits do
 *      not change (what server-side SDKs send for returning users: mostly answered from the web
 *      process's identity cache, see sdk/identity-cache.ts);
 *
 * in alternating rounds (1, 2, 3, 1, 2, 3, …; the machine's load drifts) with the median ratios, then
 * once each:
 *
 *   4. `POST /api/v1/identities/` where every request changes one trait (a write and an evaluation
 *      per request);
 *   5. single-connection latency of the bare server and of `/flags/`;
 *
 * and prints RPS, p50/p99 latency, the ratios against the targets (flags ≥ 0.5× bare,
 * identities ≥ 0.3× flags), CPU time per request of the server process, the time spent inside the
 * route handler (wall time from `flagsmith_http_request_duration_seconds`: includes waiting for a
 * database connection under load), how the identity cache answered, and the machine.
 *
 * Options (environment): BENCH_DURATION (seconds per run, default 10), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (default 32), BENCH_FEATURES (default 50). The web process inherits the
 * environment: `IDENTITY_CACHE_ENTRIES=0 npx tsx bench/sdk.ts` measures without the identity cache.
 */
import type { ChildProcess } from "node:child_process";
import os from "node:os";
import { autocannon, log, machine, median, startBareServer, startBenchSystem, treeCpuSeconds, type AutocannonOptions, type AutocannonRequest } from "./lib";

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const FEATURES = Number(process.env.BENCH_FEATURES ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IDENTITY_POOL = 1000;

/** Sum and count of `flagsmith_http_request_duration_seconds` for one route/method/status. */
async function handlerTime(base: string, route: string, method: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const labels = `route="${route}",method="${method}",status="200"`;
  const read = (suffix: string) => Number(new RegExp(`flagsmith_http_request_duration_seconds_${suffix}\\{${labels.replace(/[/.]/g, "\\$&")}\\} ([0-9.e+-]+)`).exec(text)?.[1] ?? 0);
  return { sum: read("sum"), count: read("count") };
}

/** The web process's identity-cache lookups by result (flagsmith_sdk_identity_cache_lookups_total). */
async function identityCacheLookups(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const match of text.matchAll(/^flagsmith_sdk_identity_cache_lookups_total\{result="(\w+)"\} (\d+)/gm)) out[match[1]] = Number(match[2]);
  return out;
}

function cacheSummary(before: Record<string, number>, after: Record<string, number>): string {
  const delta = (result: string) => (after[result] ?? 0) - (before[result] ?? 0);
  return `identity cache: ${delta("answered")} answered, ${delta("hit")} hit, ${delta("miss")} miss`;
}

interface Measured {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
  cpuMicrosPerRequest: number | null;
  handlerMicrosPerRequest: number | null;
}

async function measure(
  name: string,
  options: AutocannonOptions,
  cpu: { rootPid: number } | null,
  handler: { base: string; route: string; method: string } | null,
): Promise<Measured> {
  log(`${name}: warm-up`);
  await autocannon({ ...options, duration: Math.min(3, DURATION) });
  const cpuBefore = cpu ? treeCpuSeconds(cpu.rootPid) : 0;
  const handlerBefore = handler ? await handlerTime(handler.base, handler.route, handler.method) : null;
  log(`${name}: ${DURATION}s × ${options.connections} connections`);
  const result = await autocannon({ ...options, duration: DURATION });
  const cpuUsed = cpu ? treeCpuSeconds(cpu.rootPid) - cpuBefore : 0;
  const handlerAfter = handler ? await handlerTime(handler.base, handler.route, handler.method) : null;
  const total = result.requests.total;
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total,
    cpuMicrosPerRequest: cpu && total > 0 ? (cpuUsed / total) * 1e6 : null,
    handlerMicrosPerRequest:
      handlerBefore && handlerAfter && handlerAfter.count > handlerBefore.count
        ? ((handlerAfter.sum - handlerBefore.sum) / (handlerAfter.count - handlerBefore.count)) * 1e6
        : null,
  };
}

function traitsFor(index: number): { trait_key: string; trait_value: string | number | boolean }[] {
  return [
    { trait_key: "age", trait_value: 18 + (index % 60) },
    { trait_key: "plan", trait_value: ["free", "pro", "team"][index % 3] },
    { trait_key: "country", trait_value: ["fr", "de", "us", "gb"][index % 4] },
    { trait_key: "beta", trait_value: index % 5 === 0 },
    { trait_key: "email", trait_value: `user${index}@${index % 2 ? "acme.io" : "example.com"}` },
  ];
}

async function main(): Promise<void> {
  const system = await startBenchSystem({ LOG_LEVEL: "info" });
  let bare: { url: string; child: ChildProcess } | null = null;
  try {
    const { signUp } = await import("../src/server/auth/service");
    const { principalFromSessionToken } = await import("../src/server/auth/principal");
    const { createCaller } = await import("../src/server/api/trpc-router");
    const { createCallerContext } = await import("../src/server/auth/procedures");
    const { sql } = await import("drizzle-orm");
    const { getDb, closeDb } = await import("../src/server/db/client");

    log(`creating the environment (${FEATURES} features, segments, overrides)`);
    const session = await signUp({ email: "bench@example.com", name: "Bench", password: "correct horse battery" });
    const principal = await principalFromSessionToken(session.token);
    if (!principal) throw new Error("no principal");
    const caller = createCaller(createCallerContext(principal, {}));
    const project = await caller.projects.create({ organisationId: session.organisationId, name: "Bench", defaultEnvironments: false });
    const environment = await caller.environments.create({ projectId: project.id, name: "Production" });
    const featureIds: number[] = [];
    for (let i = 0; i < FEATURES; i++) {
      const name = `feature_${String(i).padStart(2, "0")}`;
      const input =
        i % 5 === 4
          ? {
              initialValue: "control",
              defaultEnabled: true,
              options: [
                { value: `${name}_a`, key: "a", defaultPercentageAllocation: 33 },
                { value: `${name}_b`, key: "b", defaultPercentageAllocation: 33 },
              ],
            }
          : { initialValue: i % 3 === 0 ? i : i % 3 === 1 ? `value ${i}` : i % 2 === 0, defaultEnabled: i % 4 !== 0, isServerKeyOnly: i % 17 === 16 };
      featureIds.push((await caller.features.create({ projectId: project.id, name, description: `Feature ${i}`, ...input })).id);
    }
    const segments = [
      { name: "adults", conditions: [{ operator: "GREATER_THAN_INCLUSIVE", property: "age", value: "18" }] },
      { name: "seniors", conditions: [{ operator: "GREATER_THAN", property: "age", value: "65" }] },
      { name: "pro", conditions: [{ operator: "EQUAL", property: "plan", value: "pro" }] },
      { name: "team_or_pro", conditions: [{ operator: "IN", property: "plan", value: "pro,team" }] },
      { name: "europe", conditions: [{ operator: "IN", property: "country", value: "fr,de,gb,es,it" }] },
      { name: "acme", conditions: [{ operator: "CONTAINS", property: "email", value: "@acme.io" }] },
      { name: "corp_regex", conditions: [{ operator: "REGEX", property: "email", value: "^user[0-9]+@acme\\.io$" }] },
      { name: "beta", conditions: [{ operator: "EQUAL", property: "beta", value: "true" }] },
      { name: "rollout_10", conditions: [{ operator: "PERCENTAGE_SPLIT", property: null, value: "10" }] },
      { name: "rollout_50", conditions: [{ operator: "PERCENTAGE_SPLIT", property: null, value: "50" }] },
      { name: "no_country", conditions: [{ operator: "IS_NOT_SET", property: "country", value: null }] },
      { name: "even_age", conditions: [{ operator: "MODULO", property: "age", value: "2|0" }] },
    ];
    const segmentIds: number[] = [];
    for (const segment of segments) {
      const rules = [{ type: "ALL", conditions: [], rules: [{ type: "ANY", conditions: segment.conditions, rules: [] }] }];
      segmentIds.push((await caller.segments.create({ projectId: project.id, name: segment.name, rules })).id);
    }
    for (let i = 0; i < 20; i++) {
      for (let j = 0; j < 2; j++) {
        await caller.segmentOverrides.create({
          featureId: featureIds[i * 2 + j],
          environmentId: environment.id,
          segmentId: segmentIds[(i + j * 5) % segmentIds.length],
          enabled: true,
          value: `override ${i}.${j}`,
        });
      }
    }
    for (let i = 0; i < 20; i++) {
      const identity = await caller.identities.create({ environmentId: environment.id, identifier: `identity-${i * 50}` });
      await caller.identities.createOverride({ identityId: identity.id, featureId: featureIds[i], enabled: true, value: `identity override ${i}` });
    }
    for (;;) {
      const [row] = (
        await getDb().execute<{ revision: number; stored: number | null }>(
          sql`select e.revision, d.revision as stored from environments e left join environment_documents d on d.environment_id = e.id where e.id = ${environment.id}`,
        )
      ).rows;
      if (row.stored !== null && Number(row.stored) >= Number(row.revision)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const key = environment.apiKey;
    const flagsUrl = `${system.url}/api/v1/flags/`;
    let reference = await fetch(flagsUrl, { headers: { "x-environment-key": key } });
    for (let i = 0; i < 50 && reference.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      reference = await fetch(flagsUrl, { headers: { "x-environment-key": key } });
    }
    const body = Buffer.from(await reference.arrayBuffer());
    const documentBytes = (await getDb().execute<{ bytes: number }>(sql`select bytes from environment_documents where environment_id = ${environment.id}`)).rows[0].bytes;
    log(`/flags/ body: ${body.length} bytes; environment document: ${documentBytes} bytes`);
    // Create the identity pool once (the measured run then hits existing identities with unchanged traits).
    for (let i = 0; i < IDENTITY_POOL; i++) {
      await fetch(`${system.url}/api/v1/identities/`, {
        method: "POST",
        headers: { "x-environment-key": key, "content-type": "application/json" },
        body: JSON.stringify({ identifier: `identity-${i}`, traits: traitsFor(i) }),
      });
    }
    await closeDb();

    bare = await startBareServer({
      status: 200,
      body,
      headers: { "content-type": "application/json", "x-flagsmith-document-updated-at": reference.headers.get("x-flagsmith-document-updated-at") ?? "" },
      key,
    });
    const headers = { "x-environment-key": key };

    const flagsRoute = { base: system.url, route: "/api/v1/flags/", method: "GET" };
    const identitiesRoute = { base: system.url, route: "/api/v1/identities/", method: "POST" };
    let counter = 0;
    const identityRequests: AutocannonRequest[] = [
      {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        setupRequest: (request) => {
          const index = counter++ % IDENTITY_POOL;
          return { ...request, body: JSON.stringify({ identifier: `identity-${index}`, traits: traitsFor(index) }) };
        },
      },
    ];
    let visits = 0;
    const changingRequests: AutocannonRequest[] = [
      {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        setupRequest: (request) => {
          const index = counter++ % IDENTITY_POOL;
          const traits = [...traitsFor(index).slice(0, 4), { trait_key: "visits", trait_value: visits++ }];
          return { ...request, body: JSON.stringify({ identifier: `identity-${index}`, traits }) };
        },
      },
    ];
    const bareCpu = { rootPid: bare.child.pid ?? 0 };
    const webCpu = { rootPid: system.webPid };
    const identitiesUrl = `${system.url}/api/v1/identities/`;
    const rounds: { bare: Measured; flags: Measured; identities: Measured; cache: string }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round}/${ROUNDS}`);
      const bareRun = await measure("bare node:http, same bytes", { url: `${bare.url}/api/v1/flags/`, connections: CONNECTIONS, duration: DURATION, headers }, bareCpu, null);
      const flagsRun = await measure("GET /api/v1/flags/", { url: flagsUrl, connections: CONNECTIONS, duration: DURATION, headers }, webCpu, flagsRoute);
      const cacheBefore = await identityCacheLookups(system.url);
      const identitiesRun = await measure("POST /api/v1/identities/ (5 traits, unchanged)", { url: identitiesUrl, connections: CONNECTIONS, duration: DURATION, requests: identityRequests }, webCpu, identitiesRoute);
      rounds.push({ bare: bareRun, flags: flagsRun, identities: identitiesRun, cache: cacheSummary(cacheBefore, await identityCacheLookups(system.url)) });
    }
    const cacheBefore = await identityCacheLookups(system.url);
    const changing = await measure("POST /api/v1/identities/ (5 traits, 1 changed per request)", { url: identitiesUrl, connections: CONNECTIONS, duration: DURATION, requests: changingRequests }, webCpu, identitiesRoute);
    const changingCache = cacheSummary(cacheBefore, await identityCacheLookups(system.url));
    const results: Measured[] = rounds.flatMap((round) => [round.bare, round.flags, round.identities]);
    results.push(changing);
    results.push(await measure("bare node:http (1 connection)", { url: `${bare.url}/api/v1/flags/`, connections: 1, duration: DURATION, headers }, bareCpu, null));
    results.push(await measure("GET /api/v1/flags/ (1 connection)", { url: flagsUrl, connections: 1, duration: DURATION, headers }, webCpu, flagsRoute));

    const lines: string[] = [];
    lines.push(`machine: ${machine()}`);
    lines.push(`setup: ${FEATURES} features, ${segments.length} segments, 40 segment overrides, 20 identity overrides; /flags/ body ${body.length} B; document ${documentBytes} B`);
    lines.push(`runs: ${DURATION}s each after a warm-up, ${CONNECTIONS} connections (unless noted), autocannon on loopback, same machine`);
    lines.push(`load average at the end (1/5/15 min): ${os.loadavg().map((l) => l.toFixed(2)).join(" / ")} (other work on the machine skews every figure)`);
    lines.push("");
    lines.push("| run | req/s | p50 ms | p99 ms | errors/non-2xx | server CPU µs/req | handler wall µs/req |");
    lines.push("|---|---:|---:|---:|---:|---:|---:|");
    for (const r of results) {
      lines.push(
        `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors}/${r.non2xx} | ${r.cpuMicrosPerRequest === null ? "—" : Math.round(r.cpuMicrosPerRequest)} | ${r.handlerMicrosPerRequest === null ? "—" : Math.round(r.handlerMicrosPerRequest)} |`,
      );
    }
    lines.push("");
    rounds.forEach((round, i) =>
      lines.push(
        `round ${i + 1}: flags / bare = ${(round.flags.rps / round.bare.rps).toFixed(2)}, identities / flags = ${(round.identities.rps / round.flags.rps).toFixed(2)} (${round.cache})`,
      ),
    );
    lines.push(`changing traits: identities / flags (last round) = ${(changing.rps / rounds[rounds.length - 1].flags.rps).toFixed(2)} (${changingCache})`);
    const flagsRatio = median(rounds.map((round) => round.flags.rps / round.bare.rps));
    const identitiesRatio = median(rounds.map((round) => round.identities.rps / round.flags.rps));
    lines.push(`median flags / bare = ${flagsRatio.toFixed(2)} (target ≥ 0.5: ${flagsRatio >= 0.5 ? "met" : "NOT met"})`);
    lines.push(`median identities / flags = ${identitiesRatio.toFixed(2)} (target ≥ 0.3: ${identitiesRatio >= 0.3 ? "met" : "NOT met"})`);
    process.stdout.write(lines.join("\n") + "\n");
  } finally {
    bare?.child.kill();
    await system.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
