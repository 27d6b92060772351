/**
 * Every public HTTP API route (SDK, flagd, OFREP, event streams, health) in one table. Next.js route files re-export these
 * handlers (`next dev` and any request Next receives), and the production web server answers the
 * same paths directly from this table (web-server.ts) — one set of handlers, two transports.
 */
import { handleFlagdDiagnostics, handleFlagdSync } from "@/server/flagd/sync";
import { evaluateFlag, evaluateFlags } from "@/server/ofrep/service";
import { handleStream } from "@/server/streams/http";
import { deprecatedIdentityFlags, environmentDocument, environmentFlags, flagAnalytics, identityFlagsGet, identityFlagsPost, preflight } from "@/server/sdk/service";
import { apiJson } from "@/server/http/api";
import { route, type ApiRoute } from "@/server/http/route";
import { readiness } from "@/server/serving/health";

type Methods = Partial<Record<"GET" | "POST" | "OPTIONS", ApiRoute<Record<string, string>>>>;

const NO_STORE = Object.freeze({ "cache-control": "no-store" });
const LIVE = JSON.stringify({ status: "live" });

async function readinessAnswer() {
  const answer = await readiness();
  return apiJson(answer.status === "unavailable" || answer.status === "stopping" ? 503 : 200, answer, NO_STORE);
}

function cors(template: string) {
  return route(template, async (request) => preflight(request));
}

export const apiRoutes = {
  // Liveness: the process answers (nothing else is checked).
  live: { GET: route("/api/health/live", () => apiJson(200, LIVE, NO_STORE)) },
  // Readiness (serving/health.ts): 200 ready or degraded (serving last-good), 503 when it cannot serve.
  ready: { GET: route("/api/health/ready", readinessAnswer) },
  // The old health check, kept as an alias of readiness.
  health: { GET: route("/api/health", readinessAnswer) },
  flags: { GET: route("/api/v1/flags/", environmentFlags), OPTIONS: cors("/api/v1/flags/") },
  deprecatedIdentityFlags: {
    GET: route<Record<string, string>>("/api/v1/flags/:identifier/", (request, params) => deprecatedIdentityFlags(request, params.identifier)),
    OPTIONS: cors("/api/v1/flags/:identifier/"),
  },
  identities: { GET: route("/api/v1/identities/", identityFlagsGet), POST: route("/api/v1/identities/", identityFlagsPost), OPTIONS: cors("/api/v1/identities/") },
  environmentDocument: { GET: route("/api/v1/environment-document/", environmentDocument), OPTIONS: cors("/api/v1/environment-document/") },
  analytics: { POST: route("/api/v1/analytics/flags/", flagAnalytics), OPTIONS: cors("/api/v1/analytics/flags/") },
  flagdFlags: { GET: route("/api/v1/flagd/flags.json", handleFlagdSync) },
  flagdDiagnostics: { GET: route("/api/v1/flagd/diagnostics.json", handleFlagdDiagnostics) },
  ofrepFlags: { POST: route("/ofrep/v1/evaluate/flags", evaluateFlags), OPTIONS: cors("/ofrep/v1/evaluate/flags") },
  ofrepFlag: {
    POST: route<Record<string, string>>("/ofrep/v1/evaluate/flags/:key", (request, params) => evaluateFlag(request, params.key)),
    OPTIONS: cors("/ofrep/v1/evaluate/flags/:key"),
  },
  flagsmithStream: { GET: route<Record<string, string>>("/sse/environments/:key/stream", (request, params) => handleStream("flagsmith", request, params.key)) },
  ofrepStream: { GET: route<Record<string, string>>("/sse/environments/:key/ofrep", (request, params) => handleStream("ofrep", request, params.key)) },
} satisfies Record<string, Methods>;

const EXACT: Record<string, Methods> = {
  "/api/health": apiRoutes.health,
  "/api/health/live": apiRoutes.live,
  "/api/health/ready": apiRoutes.ready,
  "/api/v1/flags": apiRoutes.flags,
  "/api/v1/identities": apiRoutes.identities,
  "/api/v1/environment-document": apiRoutes.environmentDocument,
  "/api/v1/analytics/flags": apiRoutes.analytics,
  "/api/v1/flagd/flags.json": apiRoutes.flagdFlags,
  "/api/v1/flagd/diagnostics.json": apiRoutes.flagdDiagnostics,
  "/ofrep/v1/evaluate/flags": apiRoutes.ofrepFlags,
};

/** Routes with one path parameter (matched by pattern, the parameter URL-decoded). */
const PATTERNS: ReadonlyArray<{ pattern: RegExp; param: string; methods: Methods }> = [
  { pattern: /^\/api\/v1\/flags\/([^/]+)$/, param: "identifier", methods: apiRoutes.deprecatedIdentityFlags },
  { pattern: /^\/ofrep\/v1\/evaluate\/flags\/([^/]+)$/, param: "key", methods: apiRoutes.ofrepFlag },
  { pattern: /^\/sse\/environments\/([^/]+)\/stream$/, param: "key", methods: apiRoutes.flagsmithStream },
  { pattern: /^\/sse\/environments\/([^/]+)\/ofrep$/, param: "key", methods: apiRoutes.ofrepStream },
];

/**
 * The route for a request path (query ignored; a trailing slash optional), with its params, or
 * null when the path is not a public API path or the method is not served (Next answers those).
 */
export function matchApiRoute(method: string, rawPath: string): { route: ApiRoute<Record<string, string>>; params: Record<string, string> } | null {
  const query = rawPath.indexOf("?");
  let path = query >= 0 ? rawPath.slice(0, query) : rawPath;
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  const exact = EXACT[path];
  if (exact) {
    const found = exact[method as keyof Methods];
    return found ? { route: found, params: {} } : null;
  }
  for (const { pattern, param, methods } of PATTERNS) {
    const match = pattern.exec(path);
    if (!match) continue;
    const found = methods[method as keyof Methods];
    if (!found) return null;
    try {
      return { route: found, params: { [param]: decodeURIComponent(match[1]) } };
    } catch {
      // (the web server answers a path that does not decode with a 400 before matching: web-server.ts)
      return null;
    }
  }
  return null;
}
