/**
 * The SDK API (Flagsmith-compatible): environment flags, identity flags, the environment document
 * and flag analytics. Route files (src/app/api/v1/...) only delegate here.
 *
 * Every request: `X-Environment-Key` → cached key resolution → the environment's stored document
 * (serving/document-cache.ts, cached by revision; one gate: serving/gate.ts) → answer. Data derived from a document (engine context,
 * identity-override index, flag templates, pre-serialised `/flags/` bodies per key kind, the
 * document's ETag) is computed once per revision through `served.derived`, so the warm `/flags/`
 * path is a cache hit and `/identities/` only evaluates and concatenates.
 */
import { createHash } from "node:crypto";
import { apiResponse, type ApiRequest, type ApiResponse } from "@/server/http/api";
import { isNotModified } from "@/server/http/conditional";
import type { DocFeatureState } from "@/server/engine/document";
import type { ServedDocument } from "@/server/serving/document-cache";
import type { KeyKind } from "@/server/serving/key-cache";
import {
  buildEnvironmentContext,
  environmentDefaults,
  getEvaluationResult,
  indexIdentityOverrides,
  toSdkFlags,
  withIdentity,
  type SdkEvaluationContext,
  type SdkEvaluationResult,
} from "@/server/engine";
import { assertDatabaseUp, reportDatabaseError, unlessDatabaseGoesDown } from "@/server/db/availability";
import { isForeignKeyViolation } from "@/server/errors";
import { upsertTraits } from "@/server/identities/service";
import { getLogger } from "@/server/observability/logger";
import { boundCounter } from "@/server/observability/metrics";
import { recordEvaluations, validateAnalyticsBody } from "./analytics";
import { buildFlagTemplates, renderFlags, renderIdentityResponse, type FlagTemplates } from "./flags";
import { authenticate, CORS_HEADERS, detail, documentHeaders, okJsonHeaders, readBody, type Authenticated } from "./http";
import { identityCache, isCachedIdentity, type CachedIdentity } from "./identity-cache";
import { skippedPersisting } from "./degraded";
import { cachedIdentityWithTraits, identityWithTraits, readIdentityWithTraits, type IdentityWithTraits } from "./identity-store";
import { identityCacheLookups, identityRequests, traitWrites } from "./metrics";
import {
  markTransient,
  parseBoolean,
  parseIdentifier,
  parseIdentifyBody,
  planTraits,
  traitsForEvaluation,
  transientIdentifier,
  type EffectiveTrait,
  type IncomingTrait,
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

export function templatesOf(served: ServedDocument): FlagTemplates {
  return served.derived("sdk.templates", (entry) => buildFlagTemplates(entry.document, entry.sdkExtras));
}

/** Environment, features and segments (identity overrides are added per request). */
export function contextOf(served: ServedDocument): SdkEvaluationContext {
  return served.derived("sdk.context", (entry) => buildEnvironmentContext(entry.document, { includeIdentityOverrides: false }));
}

/** Identifier → that identity's override feature states. */
export function overridesOf(served: ServedDocument): Map<string, readonly DocFeatureState[]> {
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

/** The `/flags/` bodies of one key kind: environment defaults only (no segments, no identity: engine `environmentDefaults`). */
function environmentFlagsOf(served: ServedDocument, kind: KeyKind): EnvironmentFlagsBodies {
  return served.derived(FLAGS_KEY[kind], (entry) => {
    const result = environmentDefaults(contextOf(entry));
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

/**
 * The hashing key of a stored identity: Flagsmith's composite `<api key>_<identifier>` (the
 * engine's default, undefined here) unless the environment hashes stored identities by id.
 */
export function identityHashKey(served: ServedDocument, identity: { id: number; djangoId?: number | null } | null): string | undefined {
  return !served.document.use_identity_composite_key_for_hashing && identity ? String(identity.djangoId ?? identity.id) : undefined;
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

/** The request's query parameters (without parsing the whole URL). */
function queryOf(request: ApiRequest): URLSearchParams {
  const query = request.url.indexOf("?");
  return new URLSearchParams(query < 0 ? "" : request.url.slice(query + 1));
}

/** One query parameter; nothing is parsed when the URL has no query (the warm `/flags/` path). */
function queryParam(request: ApiRequest, name: string): string | null {
  return request.url.includes("?") ? queryOf(request).get(name) : null;
}

function renderEnvironmentFlags(request: ApiRequest, auth: Authenticated): ApiResponse {
  if (!auth.ok) return auth.response;
  const { key, served } = auth;
  const bodies = environmentFlagsOf(served, key.kind);
  const feature = queryParam(request, "feature");
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

const answeredFromCache = boundCounter(identityCacheLookups, { result: "answered" });

type TraitPlan = ReturnType<typeof planTraits>;

function hasWrites(plan: TraitPlan): boolean {
  return plan.upserts.length > 0 || plan.deletes.length > 0;
}

/** Stores a plan's changes; the identity is no longer trusted from this process's cache (its notification follows). */
async function writeTraits(identityId: number, plan: TraitPlan): Promise<void> {
  try {
    await upsertTraits(identityId, [...plan.upserts, ...plan.deletes.map((key) => ({ key, value: null }))]);
  } finally {
    identityCache().invalidateId(identityId);
  }
  if (plan.upserts.length > 0) traitWrites.inc({ operation: "upserted" }, plan.upserts.length);
  if (plan.deletes.length > 0) traitWrites.inc({ operation: "deleted" }, plan.deletes.length);
}

/**
 * Resolves the identity and its traits per Flagsmith's rules, writes traits, evaluates and answers.
 * `feature`: the `?feature=` parameter (null: the whole list). `request`: what besides the identity
 * state and the document revision the answer depends on (key kind, media type, body or query): when
 * a cached identity already answered the same request against the same revision, without changing
 * its traits, that answer is given again (identity-cache.ts). `shape`: Flagsmith's identity response
 * (`{identifier, flags, traits}`), or only the flags (the deprecated `/flags/<identifier>`).
 */
async function answerIdentity(
  served: ServedDocument,
  kind: KeyKind,
  input: IdentifyInput,
  feature: string | null,
  request: string,
  shape: "identity" | "flags" = "identity",
): Promise<ApiResponse> {
  const document = served.document;
  const environmentId = served.environmentId;
  // Client keys may not set traits when the environment disallows it: dropped silently (Flagsmith).
  const incoming = kind === "client" && !document.allow_client_traits ? [] : input.traits;

  let mode: IdentityMode;
  let identifier: string;
  let identity: IdentityWithTraits | CachedIdentity | null = null;
  let plan: TraitPlan;
  let wrote = false;
  // The database could not be reached: answered from the request's traits and what this process's
  // identity cache holds, nothing written (sdk/degraded.ts).
  let degraded = false;
  if (input.identifier === null) {
    mode = "transient";
    identifier = transientIdentifier(incoming);
    plan = planTraits([], markTransient(incoming), { persist: false });
  } else {
    mode = input.transient ? "identified_transient" : "persisted";
    identifier = input.identifier;
    ({ identity, degraded } = await findIdentity(environmentId, identifier, !input.transient));
    const answer = isCachedIdentity(identity) && !degraded ? identity.answer : undefined;
    if (feature === null && answer && answer.document === served && answer.request === request) {
      identityRequests.inc({ mode });
      answeredFromCache.inc();
      return ok(served, answer.body);
    }
    if (input.transient) {
      plan = planTraits(identity?.traits ?? [], markTransient(incoming), { persist: false });
    } else if (degraded) {
      // Answered as if stored (the traits as the SDK sent them), but nothing is written.
      plan = planTraits(identity?.traits ?? [], incoming, { persist: false });
      skippedPersisting(environmentId, planTraits(identity?.traits ?? [], incoming, { persist: document.project.organisation.persist_trait_data }));
    } else {
      const persist = document.project.organisation.persist_trait_data;
      plan = planTraits(identity!.traits, incoming, { persist });
      if (hasWrites(plan)) {
        wrote = true;
        try {
          await unlessDatabaseGoesDown(writeTraits(identity!.id, plan));
        } catch (error) {
          if (reportDatabaseError(error)) {
            // The database went away between the read and the write: answered, not stored.
            degraded = true;
            skippedPersisting(environmentId, plan);
          } else {
            // A cached identity deleted elsewhere moments ago (its notification not yet here): read
            // it again (created anew) and plan against what is stored now.
            if (!isCachedIdentity(identity) || !isForeignKeyViolation(error)) throw error;
            identity = (await identityWithTraits(environmentId, identifier, true))!;
            plan = planTraits(identity.traits, incoming, { persist });
            if (hasWrites(plan)) await writeTraits(identity.id, plan);
          }
        }
      }
    }
  }
  identityRequests.inc({ mode });

  const { result, overrides } = identityEvaluation(served, identifier, identity, degraded, plan.effective);
  const flags = toSdkFlags(result);
  const overriddenFeatureIds = overrides ? new Set(overrides.map((fs) => fs.feature.id)) : NO_FEATURE_IDS;
  const rendered = renderFlags(templatesOf(served), flags, kind, { id: identity?.id ?? null, overriddenFeatureIds }, { byName: feature !== null });
  if (feature !== null) {
    const single = rendered.byName.get(feature);
    return single ? ok(served, single) : detail(404, FEATURE_NOT_FOUND);
  }
  const body = encoder.encode(shape === "flags" ? rendered.list : renderIdentityResponse(identifier, plan.effective, rendered.list, templatesOf(served).sensitive));
  // Remembered only when this request left the cached state as it was.
  if (isCachedIdentity(identity) && !wrote && !degraded) identity.answer = { document: served, request, body };
  return ok(served, body);
}

/**
 * The stored identity `identifier` of the environment (created when `create`), or — the database
 * being unreachable — what this process's identity cache holds of it, if anything (`degraded`:
 * answered, nothing written: sdk/degraded.ts).
 */
export async function findIdentity(
  environmentId: number,
  identifier: string,
  create: boolean,
): Promise<{ identity: IdentityWithTraits | CachedIdentity | null; degraded: boolean }> {
  try {
    // A cached identity is answered without a promise race: the outage guard only wraps database reads.
    const cached = cachedIdentityWithTraits(environmentId, identifier);
    if (cached) return { identity: cached, degraded: false };
    assertDatabaseUp();
    return { identity: await unlessDatabaseGoesDown(readIdentityWithTraits(environmentId, identifier, create)), degraded: false };
  } catch (error) {
    if (!reportDatabaseError(error)) throw error;
    return { identity: identityCache().peek(environmentId, identifier) ?? null, degraded: true };
  }
}

/**
 * The engine's result for an identity with `traits`, as `/identities/` evaluates it. Stored
 * identities only: their overrides (from this revision's document) beat every segment. An
 * identifier with overrides is a stored identity, so they apply when the database is away too.
 */
export function identityEvaluation(
  served: ServedDocument,
  identifier: string,
  identity: IdentityWithTraits | null,
  degraded: boolean,
  traits: readonly EffectiveTrait[],
): { result: SdkEvaluationResult; overrides: readonly DocFeatureState[] | undefined } {
  const overrides = identity || degraded ? overridesOf(served).get(identifier) : undefined;
  const context = withIdentity(contextOf(served), { identifier, key: identityHashKey(served, identity), traits: traitsForEvaluation(traits) }, overrides);
  return { result: getEvaluationResult(context), overrides };
}

/**
 * What `POST /api/v1/identities/` with `"transient": true` evaluates for `identifier` and
 * `incoming` traits, for protocols that evaluate without writing (OFREP): a stored identity with
 * that identifier lends its traits (overlaid by the incoming ones) and its overrides; nothing is
 * created or written; client keys' traits are dropped when the environment disallows client
 * traits. While the database is unreachable, from the identity cache (as `/identities/`).
 */
export async function evaluateTransientIdentity(served: ServedDocument, kind: KeyKind, identifier: string, incoming: readonly IncomingTrait[]): Promise<SdkEvaluationResult> {
  const allowed = kind === "client" && !served.document.allow_client_traits ? [] : incoming;
  const { identity, degraded } = await findIdentity(served.environmentId, identifier, false);
  const plan = planTraits(identity?.traits ?? [], markTransient(allowed), { persist: false });
  return identityEvaluation(served, identifier, identity, degraded, plan.effective).result;
}

/** `GET /api/v1/identities/?identifier=…[&transient=…][&feature=…]` */
export async function identityFlagsGet(request: ApiRequest): Promise<ApiResponse> {
  const auth = await authenticate(request);
  if (!auth.ok) return auth.response;
  const params = queryOf(request);
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
  return answerIdentity(auth.served, auth.key.kind, { identifier: identifier.value, traits: [], transient }, feature, `${auth.key.kind} GET ${params}`);
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
  const feature = queryParam(request, "feature");
  return answerIdentity(auth.served, auth.key.kind, parsed.value, feature, `${auth.key.kind} POST ${body.mediaType}\n${body.text}`);
}

/** Deprecated `GET /api/v1/flags/<identifier>`: the identity's flags as a list. */
export async function deprecatedIdentityFlags(request: ApiRequest, rawIdentifier: string): Promise<ApiResponse> {
  const auth = await authenticate(request);
  if (!auth.ok) return auth.response;
  const identifier = parseIdentifier(rawIdentifier);
  if (!identifier.ok) return detail(400, identifier.detail);
  if (identifier.value === null) return detail(400, "Missing identifier");
  const params = queryOf(request);
  const input = { identifier: identifier.value, traits: [], transient: false };
  return answerIdentity(auth.served, auth.key.kind, input, params.get("feature"), `${auth.key.kind} GET /flags/ ${identifier.value}`, "flags");
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
  // Counts need the database: while it is away the SDK is told to retry (503, route.ts).
  assertDatabaseUp();
  await unlessDatabaseGoesDown(recordEvaluations(auth.served.environmentId, counts.value, featureNamesOf(auth.served)));
  return apiResponse(200, { ...CORS_HEADERS });
}
