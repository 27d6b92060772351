/**
 * The SDK API (Flagsmith-compatible): environment flags, identity flags, the environment document
 * and flag analytics. Route files (src/app/api/v1/...) only delegate here.
 *
 * Every request: `X-Environment-Key` → cached key resolution → the environment's stored document
 * (documents/serving.ts, cached by revision) → answer. Data derived from a document (engine context,
 * identity-override index, flag templates, pre-serialised `/flags/` bodies per key kind, the
 * document's ETag) is computed once per revision through `served.derived`, so the warm `/flags/`
 * path is a cache hit and `/identities/` only evaluates and concatenates.
 */
import { createHash } from "node:crypto";
import { apiResponse, type ApiRequest, type ApiResponse } from "../http/api";
import type { DocFeatureState } from "../documents/types";
import type { ServedDocument } from "../documents/serving";
import {
  buildEnvironmentContext,
  getEvaluationResult,
  indexIdentityOverrides,
  toSdkFlags,
  withIdentity,
  type SdkEvaluationContext,
} from "../engine";
import { upsertTraits } from "../identities/service";
import { getLogger } from "../observability/logger";
import { recordEvaluations, validateAnalyticsBody } from "./analytics";
import { buildFlagTemplates, renderFlags, renderIdentityResponse, type FlagTemplates, type KeyKind } from "./flags";
import { authenticate, CORS_HEADERS, detail, documentHeaders, isNotModified, okJsonHeaders, readBody, type Authenticated } from "./http";
import { identityWithTraits } from "./identity-store";
import { identityRequests, traitWrites } from "./metrics";
import {
  markTransient,
  parseBoolean,
  parseIdentifier,
  parseIdentifyBody,
  planTraits,
  traitsForEvaluation,
  transientIdentifier,
  type IncomingTrait,
  type StoredTrait,
} from "./traits";

const log = getLogger("sdk");

/** CORS preflight of every SDK route. */
export { preflight } from "./http";

const FEATURE_NOT_FOUND = "Given feature not found";
const NO_FEATURE_IDS: ReadonlySet<number> = new Set();
const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Per-revision derived data
// ---------------------------------------------------------------------------------------------

function templatesOf(served: ServedDocument): FlagTemplates {
  return served.derived("sdk.templates", (entry) => buildFlagTemplates(entry.document, entry.sdkExtras));
}

/** Environment, features and segments (identity overrides are added per request). */
function contextOf(served: ServedDocument): SdkEvaluationContext {
  return served.derived("sdk.context", (entry) => buildEnvironmentContext(entry.document, { includeIdentityOverrides: false }));
}

/** Identifier → that identity's override feature states. */
function overridesOf(served: ServedDocument): Map<string, readonly DocFeatureState[]> {
  // Remote evaluation applies identity overrides whether or not the document carries them for local evaluation.
  return served.derived("sdk.identity_overrides", (entry) =>
    indexIdentityOverrides(entry.sdkExtras.identityOverrides ? { ...entry.document, identity_overrides: entry.sdkExtras.identityOverrides } : entry.document),
  );
}

interface EnvironmentFlagsBodies {
  list: Uint8Array;
  byName: Map<string, Uint8Array>;
}

const FLAGS_KEY: Record<KeyKind, string> = { client: "sdk.flags.client", server: "sdk.flags.server" };

/** The `/flags/` bodies of one key kind: environment defaults only (no segments, no identity). */
function environmentFlagsOf(served: ServedDocument, kind: KeyKind): EnvironmentFlagsBodies {
  return served.derived(FLAGS_KEY[kind], (entry) => {
    const context = contextOf(entry);
    const environmentOnly: SdkEvaluationContext = { environment: context.environment, features: context.features };
    const result = getEvaluationResult(environmentOnly);
    const rendered = renderFlags(templatesOf(entry), toSdkFlags(result), kind, undefined, { byName: true });
    const byName = new Map<string, Uint8Array>();
    for (const [name, json] of rendered.byName) byName.set(name, encoder.encode(json));
    return { list: encoder.encode(rendered.list), byName };
  });
}

interface DocumentBody {
  bytes: Uint8Array;
  etag: string;
  lastModified: string;
  /** Last-Modified at second precision (ms), for If-Modified-Since. */
  lastModifiedMs: number;
}

function documentBodyOf(served: ServedDocument): DocumentBody {
  return served.derived("sdk.environment_document", (entry) => {
    const bytes = encoder.encode(entry.text);
    const lastModifiedMs = Math.floor(entry.updatedAt.getTime() / 1000) * 1000;
    return {
      bytes,
      etag: `"${createHash("sha256").update(bytes).digest("base64url")}"`,
      lastModified: new Date(lastModifiedMs).toUTCString(),
      lastModifiedMs,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// GET /api/v1/flags/
// ---------------------------------------------------------------------------------------------

/** A 200 JSON response with this revision's shared headers. */
function ok(served: ServedDocument, body: string | Uint8Array): ApiResponse {
  return apiResponse(200, okJsonHeaders(served), body);
}

export function environmentFlags(request: ApiRequest): ApiResponse | Promise<ApiResponse> {
  // Not async: a warm request (key, document and rendered bodies cached) answers synchronously.
  const auth = authenticate(request);
  return auth instanceof Promise ? auth.then((a) => renderEnvironmentFlags(request, a)) : renderEnvironmentFlags(request, auth);
}

function renderEnvironmentFlags(request: ApiRequest, auth: Authenticated): ApiResponse {
  if (!auth.ok) return auth.response;
  const { key, served } = auth;
  const bodies = environmentFlagsOf(served, key.kind);
  const query = request.url.indexOf("?");
  const feature = query < 0 ? null : new URLSearchParams(request.url.slice(query + 1)).get("feature");
  if (feature !== null) {
    const single = bodies.byName.get(feature);
    return single ? ok(served, single) : detail(404, FEATURE_NOT_FOUND);
  }
  return ok(served, bodies.list);
}

// ---------------------------------------------------------------------------------------------
// Identities
// ---------------------------------------------------------------------------------------------

type IdentityMode = "persisted" | "identified_transient" | "transient";

interface IdentifyInput {
  /** null: derive a transient identifier from the traits. */
  identifier: string | null;
  traits: IncomingTrait[];
  transient: boolean;
}

interface IdentityEvaluation {
  identifier: string;
  /** `byName` is only filled when a single feature was asked for. */
  body: { flags: string; byName: Map<string, string> };
  traits: ReturnType<typeof planTraits>["effective"];
}

/**
 * Resolves the identity and its traits per Flagsmith's rules, writes traits, evaluates and renders.
 * `feature`: the `?feature=` parameter (null: the whole list is answered, no per-name index needed).
 */
async function evaluateIdentity(served: ServedDocument, kind: KeyKind, input: IdentifyInput, feature: string | null): Promise<IdentityEvaluation> {
  const document = served.document;
  const environmentId = served.environmentId;
  // Client keys may not set traits when the environment disallows it: dropped silently (Flagsmith).
  const incoming = kind === "client" && !document.allow_client_traits ? [] : input.traits;

  let mode: IdentityMode;
  let identifier: string;
  let identity: { id: number; djangoId: number | null } | null = null;
  let stored: StoredTrait[] = [];
  let plan: ReturnType<typeof planTraits>;
  if (input.identifier === null) {
    mode = "transient";
    identifier = transientIdentifier(incoming);
    plan = planTraits([], markTransient(incoming), { persist: false });
  } else if (input.transient) {
    mode = "identified_transient";
    identifier = input.identifier;
    const found = await identityWithTraits(environmentId, identifier, false);
    identity = found;
    stored = found?.traits ?? [];
    plan = planTraits(stored, markTransient(incoming), { persist: false });
  } else {
    mode = "persisted";
    identifier = input.identifier;
    const found = (await identityWithTraits(environmentId, identifier, true))!;
    identity = found;
    stored = found.traits;
    plan = planTraits(stored, incoming, { persist: document.project.organisation.persist_trait_data });
    const writes = [...plan.upserts, ...plan.deletes.map((key) => ({ key, value: null }))];
    if (writes.length > 0) {
      await upsertTraits(found.id, writes);
      if (plan.upserts.length > 0) traitWrites.inc({ operation: "upserted" }, plan.upserts.length);
      if (plan.deletes.length > 0) traitWrites.inc({ operation: "deleted" }, plan.deletes.length);
    }
  }
  identityRequests.inc({ mode });

  // Stored identities only: their overrides (from this revision's document) beat every segment.
  const overrides = identity ? overridesOf(served).get(identifier) : undefined;
  // Hashing key: Flagsmith's composite `<api key>_<identifier>` (the engine's default) unless the
  // environment hashes stored identities by id.
  const hashKey = !document.use_identity_composite_key_for_hashing && identity ? String(identity.djangoId ?? identity.id) : undefined;
  const context = withIdentity(contextOf(served), { identifier, key: hashKey, traits: traitsForEvaluation(plan.effective) }, overrides);
  const flags = toSdkFlags(getEvaluationResult(context));
  const overriddenFeatureIds = overrides ? new Set(overrides.map((fs) => fs.feature.id)) : NO_FEATURE_IDS;
  const rendered = renderFlags(templatesOf(served), flags, kind, { id: identity?.id ?? null, overriddenFeatureIds }, { byName: feature !== null });
  return { identifier, body: { flags: rendered.list, byName: rendered.byName }, traits: plan.effective };
}

function identityResponse(served: ServedDocument, evaluation: IdentityEvaluation, feature: string | null): ApiResponse {
  if (feature !== null) {
    const single = evaluation.body.byName.get(feature);
    return single ? ok(served, single) : detail(404, FEATURE_NOT_FOUND);
  }
  const body = renderIdentityResponse(evaluation.identifier, evaluation.traits, evaluation.body.flags, templatesOf(served).sensitive);
  return ok(served, body);
}

/** `GET /api/v1/identities/?identifier=…[&transient=…][&feature=…]` */
export async function identityFlagsGet(request: ApiRequest): Promise<ApiResponse> {
  const auth = await authenticate(request);
  if (!auth.ok) return auth.response;
  const params = new URL(request.url).searchParams;
  const identifier = parseIdentifier(params.get("identifier"));
  if (!identifier.ok) return detail(400, identifier.detail);
  // Flagsmith answers 200 (sic) without an identifier.
  if (identifier.value === null) return detail(200, "Missing identifier");
  let transient = false;
  const rawTransient = params.get("transient");
  if (rawTransient !== null && rawTransient !== "") {
    const parsed = parseBoolean(rawTransient);
    if (parsed === undefined) return detail(400, "transient: Must be a valid boolean.");
    transient = parsed;
  }
  const feature = params.get("feature");
  const evaluation = await evaluateIdentity(auth.served, auth.key.kind, { identifier: identifier.value, traits: [], transient }, feature);
  return identityResponse(auth.served, evaluation, feature);
}

/** `POST /api/v1/identities/` with `{identifier, traits?, transient?}` (JSON or form). */
export async function identityFlagsPost(request: ApiRequest): Promise<ApiResponse> {
  const auth = await authenticate(request);
  if (!auth.ok) return auth.response;
  const body = await readBody(request, { jsonFields: ["traits"] });
  if (!body.ok) return body.response;
  const parsed = parseIdentifyBody(body.value);
  if (!parsed.ok) {
    log.debug("request.invalid", { reason: parsed.detail.slice(0, 200) });
    return detail(400, parsed.detail);
  }
  const feature = new URL(request.url).searchParams.get("feature");
  const evaluation = await evaluateIdentity(auth.served, auth.key.kind, parsed.value, feature);
  return identityResponse(auth.served, evaluation, feature);
}

/** Deprecated `GET /api/v1/flags/<identifier>`: the identity's flags as a list. */
export async function deprecatedIdentityFlags(request: ApiRequest, rawIdentifier: string): Promise<ApiResponse> {
  const auth = await authenticate(request);
  if (!auth.ok) return auth.response;
  const identifier = parseIdentifier(rawIdentifier);
  if (!identifier.ok) return detail(400, identifier.detail);
  if (identifier.value === null) return detail(400, "Missing identifier");
  const feature = new URL(request.url).searchParams.get("feature");
  const evaluation = await evaluateIdentity(auth.served, auth.key.kind, { identifier: identifier.value, traits: [], transient: false }, feature);
  if (feature !== null) return identityResponse(auth.served, evaluation, feature);
  return ok(auth.served, evaluation.body.flags);
}

// ---------------------------------------------------------------------------------------------
// GET /api/v1/environment-document/
// ---------------------------------------------------------------------------------------------

/**
 * The stored document bytes verbatim (server keys only). Conditional: a strong ETag (sha256 of the
 * bytes) with If-None-Match, else Last-Modified (environment `updated_at`) with If-Modified-Since;
 * 304 only when the request carried one of those headers. (Next compresses the body per request for
 * clients accepting gzip; it strips a route handler's own Content-Encoding, so the bytes cannot be
 * pre-compressed per revision here.)
 */
export async function environmentDocument(request: ApiRequest): Promise<ApiResponse> {
  const auth = await authenticate(request, { serverKeyOnly: true });
  if (!auth.ok) return auth.response;
  const body = documentBodyOf(auth.served);
  const validators = { etag: body.etag, "last-modified": body.lastModified };
  if (isNotModified(request, body.etag, body.lastModifiedMs)) return apiResponse(304, { ...CORS_HEADERS, ...documentHeaders(auth.served), ...validators });
  return apiResponse(200, { ...okJsonHeaders(auth.served), ...validators }, body.bytes);
}

// ---------------------------------------------------------------------------------------------
// POST /api/v1/analytics/flags/
// ---------------------------------------------------------------------------------------------

function featureNamesOf(served: ServedDocument): Set<string> {
  return served.derived("sdk.feature_names", (entry) => new Set(entry.document.feature_states.map((fs) => fs.feature.name)));
}

/**
 * `{"<feature name>": <count>, …}` → hourly counts in `feature_evaluations`. Names not in the
 * environment's current document are dropped (and counted), so the table only grows with real
 * features. 200 with an empty body, as Flagsmith.
 */
export async function flagAnalytics(request: ApiRequest): Promise<ApiResponse> {
  const auth = await authenticate(request);
  if (!auth.ok) return auth.response;
  const body = await readBody(request);
  if (!body.ok) return body.response;
  const counts = validateAnalyticsBody(body.value);
  if (!counts.ok) {
    log.debug("request.invalid", { reason: counts.detail.slice(0, 200) });
    return detail(400, counts.detail);
  }
  await recordEvaluations(auth.served.environmentId, counts.value, featureNamesOf(auth.served));
  return apiResponse(200, { ...CORS_HEADERS });
}
