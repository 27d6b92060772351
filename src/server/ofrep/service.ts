/**
 * OFREP 0.3 (the OpenFeature Remote Evaluation Protocol): `POST /ofrep/v1/evaluate/flags/{key}`
 * (one flag, for server-side providers) and `POST /ofrep/v1/evaluate/flags` (every flag, for
 * static-context providers such as the web provider), body `{"context": {…}}` (context.ts).
 *
 * - Auth: an environment key as the OpenFeature providers send it — `Authorization: Bearer <key>`
 *   or `X-API-Key: <key>` — through the environment-key gate. Client keys get what the SDK API gives
 *   client keys (no server-only features), server keys everything; hidden disabled flags are left
 *   out, as `/flags/` and `/identities/` leave them out.
 * - Evaluation: no targetingKey → the environment's flags (`environmentDefaults`, as `/flags/`);
 *   a targetingKey → what `/identities/` with `"transient": true` evaluates (a stored identity lends
 *   its traits and overrides; nothing is ever written). Values, variant names and reasons: flags.ts.
 * - Bulk: a strong ETag of the exact body (it changes with the document revision, with the context,
 *   and with the stored identity it lends from); `If-None-Match` → 304. `eventStreams` points at this
 *   environment's OFREP event stream (streams/), always by its client key; a re-fetch it triggers
 *   (`flagConfigEtag`) naming a revision newer than this process serves first checks the store.
 * - Errors: 400 PARSE_ERROR / INVALID_CONTEXT, 404 FLAG_NOT_FOUND (single), 401 missing or unknown
 *   key, 403 organisation stopped serving flags, 413 body over SDK_MAX_BODY_BYTES, 415 not JSON,
 *   429 + Retry-After (OFREP_RATE_LIMIT_PER_SECOND), 503 + Retry-After (no document yet, or the
 *   database unreachable for a key never seen). Documents are last-good: cached environments keep
 *   being answered while PostgreSQL is down.
 * - CORS open (browser providers), as the SDK API.
 */
import { createHash } from "node:crypto";
import { settings } from "@/server/config";
import { environmentDefaults, type SdkEvaluationResult } from "@/server/engine";
import { addressSubject, trustedClientAddress } from "@/server/http/client-address";
import { apiResponse, NOT_A_ROUTE, type ApiRequest, type ApiResponse } from "@/server/http/api";
import { etagMatches } from "@/server/http/conditional";
import { getLogger } from "@/server/observability/logger";
import { isGateOpen } from "@/server/rollouts/gates";
import { isHidden } from "@/server/sdk/flags";
import { CORS_HEADERS, readBodyText } from "@/server/sdk/http";
import { contextOf, evaluateTransientIdentity, templatesOf } from "@/server/sdk/service";
import { documentAtLeast, type ServedDocument } from "@/server/serving/document-cache";
import { openEnvironment, RETRY_AFTER_SECONDS, type GateRefusal, type GateResult } from "@/server/serving/gate";
import type { KeyKind } from "@/server/serving/key-cache";
import { processSlot } from "@/server/singleton";
import { revisionOfId } from "@/server/streams/events";
import { streamPath } from "@/server/streams/http";
import { parseEvaluationRequest, type EvaluationInput } from "./context";
import { resolve, revisionPlanOf, type RevisionPlan } from "./flags";
import { ofrepRequests, ofrepRevisionWaits } from "./metrics";
import { RateLimiter } from "./rate-limit";

const log = getLogger("ofrep");

type Endpoint = "single" | "bulk";

const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ "content-type": "application/json", ...CORS_HEADERS });
const RETRY_HEADERS = Object.freeze({ "retry-after": RETRY_AFTER_SECONDS });

function answer(endpoint: Endpoint, status: number, body: string | Uint8Array | null, headers: Record<string, string> = {}): ApiResponse {
  ofrepRequests.inc({ endpoint, status: String(status) });
  return apiResponse(status, body === null ? { ...CORS_HEADERS, ...headers } : { ...JSON_HEADERS, ...headers }, body);
}

/** A refusal outside evaluation (auth, limits, availability): `{"errorDetails": …}`. */
function refuse(endpoint: Endpoint, status: number, errorDetails: string, reason: string, headers: Record<string, string> = {}): ApiResponse {
  log.debug("request.refused", { ofrep__endpoint: endpoint, http__status: status, reason });
  return answer(endpoint, status, JSON.stringify({ errorDetails }), headers);
}

/** An evaluation error with OFREP's code: `{"key", "errorCode", "errorDetails"}` (single) or without `key` (bulk). */
function evaluationError(endpoint: Endpoint, status: number, errorCode: string, errorDetails: string, key?: string): ApiResponse {
  // The code only: the details may quote the request (a JSON parser's message quotes the body it
  // failed on, which may hold a targeting key or attribute values), and they go to the client anyway.
  log.debug("request.invalid", { ofrep__endpoint: endpoint, error__code: errorCode });
  return answer(endpoint, status, JSON.stringify(key === undefined ? { errorCode, errorDetails } : { key, errorCode, errorDetails }));
}

// ---------------------------------------------------------------------------------------------
// Auth, limits, body
// ---------------------------------------------------------------------------------------------

/** The environment key as the OFREP providers send it: `Authorization: Bearer <key>`, or `X-API-Key`. */
export function keyOf(request: Pick<ApiRequest, "headers">): string | null {
  const authorization = request.headers.get("authorization");
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization.trim()) : null;
  if (bearer) return bearer[1];
  const apiKey = request.headers.get("x-api-key")?.trim();
  return apiKey ? apiKey : null;
}

const INVALID_KEY = "Missing or invalid environment key: send Authorization: Bearer <key> or X-API-Key: <key>";

const GATE_REFUSALS: Readonly<Record<GateRefusal, { status: number; details: string }>> = {
  missing_key: { status: 401, details: INVALID_KEY },
  unknown_key: { status: 401, details: INVALID_KEY },
  server_key_required: { status: 401, details: INVALID_KEY },
  stop_serving_flags: { status: 403, details: "The organisation is disabled from serving flags" },
  document_unavailable: { status: 503, details: "Environment document not yet available: retry shortly" },
  database_unavailable: { status: 503, details: "Service temporarily unavailable: retry shortly" },
};

function refuseGate(endpoint: Endpoint, reason: GateRefusal): ApiResponse {
  const { status, details } = GATE_REFUSALS[reason];
  return refuse(endpoint, status, details, reason, status === 503 ? RETRY_HEADERS : {});
}

/** The `ofrep_api` gate is closed for the environment's organisation: answered as a path that does not exist. */
function switchedOff(endpoint: Endpoint): ApiResponse {
  ofrepRequests.inc({ endpoint, status: "404" });
  log.debug("request.refused", { ofrep__endpoint: endpoint, http__status: 404, reason: "gate_closed" });
  return NOT_A_ROUTE;
}

const limiterSlot = processSlot<RateLimiter>("ofrepRateLimiter");
const limiter = () => limiterSlot.getOrCreate(() => new RateLimiter(settings().ofrepRateLimitPerSecond));

/** Seconds to wait when the client is over the rate limit, else 0. */
function rateLimited(request: ApiRequest): number {
  const current = limiter();
  if (!current.enabled) return 0;
  const address = request.clientAddress ?? trustedClientAddress(request.headers);
  return current.take(address ? addressSubject(address) : "unknown");
}

function isJson(request: ApiRequest): boolean {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  return type === "" || type === "application/json" || type.endsWith("+json") || type === "text/plain";
}

type Prepared = { ok: true; served: ServedDocument; kind: KeyKind; input: EvaluationInput; streams: boolean } | { ok: false; response: ApiResponse };

/**
 * Everything before evaluating, in this order: rate limit (per client address, before any lookup:
 * it also bounds key probing), the environment key, the organisation's `ofrep_api` gate (closed:
 * the endpoint answers as if it did not exist, whatever the rest of the request), media type,
 * body, context. `streams`: whether the organisation's `realtime_streams` gate is open (the bulk
 * answer announces its event stream only then).
 */
async function prepare(endpoint: Endpoint, request: ApiRequest, flagKey?: string): Promise<Prepared> {
  const wait = rateLimited(request);
  if (wait > 0) return { ok: false, response: refuse(endpoint, 429, "Too many requests: retry later", "rate_limited", { "retry-after": String(wait) }) };
  const gate: GateResult = await openEnvironment(keyOf(request));
  if (!gate.ok) return { ok: false, response: refuseGate(endpoint, gate.reason) };
  if (!(await isGateOpen("ofrep_api", gate.key.organisationId))) return { ok: false, response: switchedOff(endpoint) };
  if (!isJson(request)) return { ok: false, response: refuse(endpoint, 415, "Send the evaluation request as application/json", "media_type") };
  const streams = endpoint === "bulk" && (await isGateOpen("realtime_streams", gate.key.organisationId));
  const body = await readBodyText(request);
  if (!body.ok) {
    if (body.response.status === 413) return { ok: false, response: refuse(endpoint, 413, `Request body exceeds ${settings().sdkMaxBodyBytes} bytes`, "body_too_large") };
    return { ok: false, response: evaluationError(endpoint, 400, "PARSE_ERROR", "Request body is not valid UTF-8", flagKey) };
  }
  const parsed = parseEvaluationRequest(body.text);
  if (!parsed.ok) return { ok: false, response: evaluationError(endpoint, 400, parsed.errorCode, parsed.errorDetails, flagKey) };
  return { ok: true, served: gate.served, kind: gate.key.kind, input: parsed.value, streams };
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/** The engine's result for the request: identity-less (once per revision) or the identity's. */
function engineResult(served: ServedDocument, kind: KeyKind, input: EvaluationInput): SdkEvaluationResult | Promise<SdkEvaluationResult> {
  if (input.identifier === null) return served.derived("ofrep.environment_defaults", (entry) => environmentDefaults(contextOf(entry)));
  return evaluateTransientIdentity(served, kind, input.identifier, input.traits);
}

interface Evaluated {
  plan: RevisionPlan;
  /** Visible flags (for the key kind), in document order: their OFREP JSON objects without metadata, and feature ids. */
  flags: Array<{ name: string; featureId: number; json: string }>;
}

/** `{"key","value"?,"reason","variant"?` — the object without its metadata (and closing brace). */
function evaluationHead(resolution: ReturnType<typeof resolve>): string {
  let out = `{"key":${JSON.stringify(resolution.key)}`;
  if (resolution.value !== undefined) out += `,"value":${JSON.stringify(resolution.value)}`;
  out += `,"reason":"${resolution.reason}"`;
  if (resolution.variant !== undefined) out += `,"variant":${JSON.stringify(resolution.variant)}`;
  return out;
}

function evaluated(served: ServedDocument, kind: KeyKind, result: SdkEvaluationResult, identityLess: boolean): Evaluated {
  const plan = revisionPlanOf(served);
  const templates = templatesOf(served);
  const flags: Evaluated["flags"] = [];
  for (const flag of Object.values(result.flags)) {
    const featureId = flag.metadata?.id;
    const template = typeof featureId === "number" ? templates.byFeatureId.get(featureId) : undefined;
    const flagPlan = plan.byName.get(flag.name);
    if (!template || !flagPlan || isHidden(template, flag.enabled, kind, templates.hideDisabled)) continue;
    flags.push({ name: flag.name, featureId: template.featureId, json: evaluationHead(resolve(flagPlan, flag, identityLess)) });
  }
  return { plan, flags };
}

async function evaluate(served: ServedDocument, kind: KeyKind, input: EvaluationInput): Promise<Evaluated> {
  if (input.identifier === null) {
    return served.derived(kind === "client" ? "ofrep.evaluated.client" : "ofrep.evaluated.server", (entry) => evaluated(entry, kind, engineResult(entry, kind, input) as SdkEvaluationResult, true));
  }
  return evaluated(served, kind, await engineResult(served, kind, input), false);
}

// ---------------------------------------------------------------------------------------------
// POST /ofrep/v1/evaluate/flags/{key}
// ---------------------------------------------------------------------------------------------

export async function evaluateFlag(request: ApiRequest, flagKey: string): Promise<ApiResponse> {
  const prepared = await prepare("single", request, flagKey);
  if (!prepared.ok) return prepared.response;
  const { served, kind, input } = prepared;
  const { plan, flags } = await evaluate(served, kind, input);
  const flag = flags.find((candidate) => candidate.name === flagKey);
  if (!flag) return evaluationError("single", 404, "FLAG_NOT_FOUND", `Flag '${flagKey.slice(0, 200)}' was not found`, flagKey);
  const metadata = JSON.stringify({ flagSetId: plan.flagSetId, version: plan.version, "flagpost.featureId": flag.featureId });
  return answer("single", 200, `${flag.json},"metadata":${metadata}}`);
}

// ---------------------------------------------------------------------------------------------
// POST /ofrep/v1/evaluate/flags
// ---------------------------------------------------------------------------------------------

/** The query parameters of a request (empty without a query). */
function queryOf(request: ApiRequest): URLSearchParams {
  const query = request.url.indexOf("?");
  return new URLSearchParams(query < 0 ? "" : request.url.slice(query + 1));
}

/**
 * A re-fetch triggered by a stream notification names the revision it announced
 * (`flagConfigEtag`); when this process has not served it yet (the notification came through
 * another web process first), the store is checked before answering.
 */
async function atAnnouncedRevision(request: ApiRequest, served: ServedDocument): Promise<ServedDocument> {
  if (!request.url.includes("flagConfigEtag")) return served;
  const announced = revisionOfId(queryOf(request).get("flagConfigEtag"));
  if (announced === null || announced <= served.revision) return served;
  const newer = await documentAtLeast(served.environmentId, announced);
  const caughtUp = newer !== null && newer.revision >= announced;
  ofrepRevisionWaits.inc({ result: caughtUp ? "caught_up" : "behind" });
  if (!caughtUp) log.debug("evaluation.revision_behind", { revision: served.revision, revision__announced: announced });
  return newer && newer.revision > served.revision ? newer : served;
}

interface BulkBody {
  bytes: Uint8Array;
  etag: string;
}

/** The bulk answer; `eventStreams` only when the organisation's `realtime_streams` gate is open (a closed one's stream answers 404). */
function bulkBody(served: ServedDocument, { plan, flags }: Evaluated, streams: boolean): BulkBody {
  const flagMetadata = (featureId: number) => `,"metadata":{"flagSetId":${JSON.stringify(plan.flagSetId)},"flagpost.featureId":${featureId}}}`;
  const eventStreams = [{ type: "sse", endpoint: { requestUri: streamPath("ofrep", served.document.api_key) } }];
  const text =
    `{"flags":[${flags.map((flag) => flag.json + flagMetadata(flag.featureId)).join(",")}]` +
    `,"metadata":${JSON.stringify({ flagSetId: plan.flagSetId, version: plan.version })}` +
    (streams ? `,"eventStreams":${JSON.stringify(eventStreams)}}` : "}");
  const bytes = Buffer.from(text);
  return { bytes, etag: `"${createHash("sha256").update(bytes).digest("base64url")}"` };
}

/** Per-revision cache keys of the identity-less bulk answer: by key kind, without and with `eventStreams`. */
const BULK_KEYS: Readonly<Record<KeyKind, readonly [string, string]>> = { client: ["ofrep.bulk.client", "ofrep.bulk.client.streams"], server: ["ofrep.bulk.server", "ofrep.bulk.server.streams"] };

export async function evaluateFlags(request: ApiRequest): Promise<ApiResponse> {
  const prepared = await prepare("bulk", request);
  if (!prepared.ok) return prepared.response;
  const { kind, input, streams } = prepared;
  const served = await atAnnouncedRevision(request, prepared.served);
  const body =
    input.identifier === null
      ? served.derived(BULK_KEYS[kind][streams ? 1 : 0], (entry) => bulkBody(entry, evaluated(entry, kind, engineResult(entry, kind, input) as SdkEvaluationResult, true), streams))
      : bulkBody(served, await evaluate(served, kind, input), streams);
  const ifNoneMatch = request.headers.get("if-none-match");
  if (ifNoneMatch !== null && etagMatches(ifNoneMatch, body.etag)) return answer("bulk", 304, null, { etag: body.etag });
  return answer("bulk", 200, body.bytes, { etag: body.etag });
}
