/**
 * The flagd HTTP sync contract as flagd's poller uses it, against the running system (web + worker).
 */
import { inject } from "vitest";
process.env.DATABASE_URL = inject("systemDatabaseUrl");

import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { getDb } from "../../../src/server/db/client";
import { resetSettingsForTests } from "../../../src/server/config";
import type { FlagdDocument } from "../../../src/server/flagd/types";
import { loadStrict, schemaErrors } from "../../unit/flagd/helpers";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";
import { waitForDocuments } from "../support/documents";

resetSettingsForTests();
const base = inject("systemUrl");
const flagsUrl = `${base}/api/v1/flagd/flags.json`;

async function setup(options: { enable?: boolean } = {}) {
  const user = await signUpUser();
  const { project, environments: [env] } = await projectWithEnvironments(user, ["Production"]);
  const feature = await user.caller.features.create({ projectId: project.id, name: "checkout", defaultEnabled: true, initialValue: "v1" });
  const { key } = await user.caller.environments.createServerKey({ environmentId: env.id, name: "flagd" });
  if (options.enable !== false) await user.caller.flagd.setEnabled({ projectId: project.id, enabled: true });
  await waitForDocuments([env.id]);
  return { user, project, env, feature, key };
}

function expectValid(document: FlagdDocument): void {
  expect(schemaErrors(document)).toEqual([]);
  expect(() => loadStrict(document)).not.toThrow();
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("GET /api/v1/flagd/flags.json", () => {
  it("poll__bearerKeyThenIfNoneMatch__200WithEtagThen304ThenNewEtagAfterChange", async () => {
    // Given an environment of a project with the flagd integration on
    const { user, env, feature, key } = await setup();

    // When flagd polls as its poller does (authHeader Bearer; If-None-Match with the last ETag)
    const first = await fetch(flagsUrl, { headers: { authorization: `Bearer ${key}`, accept: "application/json" } });
    const etag = first.headers.get("etag")!;
    const document = (await first.json()) as FlagdDocument;
    const repeat = await fetch(flagsUrl, { headers: { authorization: `Bearer ${key}`, "if-none-match": etag } });
    await user.caller.features.updateState({ featureId: feature.id, environmentId: env.id, value: "v2" });
    await waitForDocuments([env.id]);
    // (the web process had it cached: it serves the new revision once its notification is handled, so polled)
    let changed = await fetch(flagsUrl, { headers: { authorization: `Bearer ${key}`, "if-none-match": etag } });
    await until(async () => (changed = await fetch(flagsUrl, { headers: { authorization: `Bearer ${key}`, "if-none-match": etag } })).status === 200, 10_000);

    // Then: 200 with a strong ETag and a valid document; 304 with no body; 200 with a new ETag and the new value
    expect(first.status).toBe(200);
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(first.headers.get("last-modified")).toMatch(/GMT$/);
    expectValid(document);
    expect(document.flags.checkout.variants[document.flags.checkout.defaultVariant!]).toBe("v1");
    expect(repeat.status).toBe(304);
    expect(await repeat.text()).toBe("");
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    const next = (await changed.json()) as FlagdDocument;
    expectValid(next);
    expect(next.flags.checkout.variants[next.flags.checkout.defaultVariant!]).toBe("v2");
  });

  it("poll__environmentKeyHeaderAndIfModifiedSince__304UntilModified", async () => {
    // Given the integration on and a first response
    const { key } = await setup();
    const first = await fetch(flagsUrl, { headers: { "x-environment-key": key } });
    const lastModified = first.headers.get("last-modified")!;

    // When polling with If-Modified-Since equal to Last-Modified, and an older date
    const same = await fetch(flagsUrl, { headers: { "x-environment-key": key, "if-modified-since": lastModified } });
    const older = await fetch(flagsUrl, { headers: { "x-environment-key": key, "if-modified-since": new Date(Date.parse(lastModified) - 60_000).toUTCString() } });

    // Then 304 for the same date, 200 for an older one; and never a 304 without a conditional header
    expect(first.status).toBe(200);
    expect(same.status).toBe(304);
    expect(older.status).toBe(200);
  });

  it("scheduledChange__reachesLiveFrom__newEtagAndLaterLastModified", { timeout: 60_000 }, async () => {
    // Given a change scheduled a few seconds ahead
    const { user, env, feature, key } = await setup();
    const before = await fetch(flagsUrl, { headers: { authorization: `Bearer ${key}` } });
    const etag = before.headers.get("etag")!;
    const lastModified = Date.parse(before.headers.get("last-modified")!);
    await new Promise((r) => setTimeout(r, 1100));
    await user.caller.features.schedule({ environmentId: env.id, featureId: feature.id, value: "scheduled", liveFrom: new Date(Date.now() + 4000) });

    // When its time comes (the worker applies it and rewrites the documents)
    await until(async () => {
      const poll = await fetch(flagsUrl, { headers: { authorization: `Bearer ${key}`, "if-none-match": etag } });
      return poll.status === 200;
    }, 30_000);
    const after = await fetch(flagsUrl, { headers: { authorization: `Bearer ${key}` } });

    // Then flagd sees a new ETag, a later Last-Modified and the scheduled value
    expect(after.headers.get("etag")).not.toBe(etag);
    expect(Date.parse(after.headers.get("last-modified")!)).toBeGreaterThan(lastModified);
    const document = (await after.json()) as FlagdDocument;
    expect(document.flags.checkout.variants[document.flags.checkout.defaultVariant!]).toBe("scheduled");
  });

  it("access__missingUnknownClientKeyOrDisabledProject__401_403_404", async () => {
    // Given a project with the integration off, and one with it on
    const off = await setup({ enable: false });
    const on = await setup();

    // When polled without a key, with an unknown key, with a client key, and for the disabled project
    const missing = await fetch(flagsUrl);
    const unknown = await fetch(flagsUrl, { headers: { authorization: "Bearer ser.nope-nope-nope" } });
    const client = await fetch(flagsUrl, { headers: { authorization: `Bearer ${on.env.apiKey}` } });
    const disabled = await fetch(flagsUrl, { headers: { authorization: `Bearer ${off.key}` } });
    const disabledDiagnostics = await fetch(`${base}/api/v1/flagd/diagnostics.json`, { headers: { authorization: `Bearer ${off.key}` } });

    // Then each gets its own status with a JSON detail
    expect([missing.status, unknown.status, client.status, disabled.status, disabledDiagnostics.status]).toEqual([401, 401, 403, 404, 404]);
    expect((await disabled.json()).detail).toContain("not enabled");
    const metrics = await (await fetch(inject("systemMetricsUrl"))).text();
    for (const status of ["401", "403", "404"]) expect(metrics).toMatch(new RegExp(`flagsmith_flagd_sync_requests_total\\{status="${status}"\\} [1-9]`));
  });

  it("access__organisationStopsServingFlags__401ForSyncAndDiagnostics", async () => {
    // Given a project with the integration on whose organisation then stops serving flags
    const { user, env, key } = await setup();
    await user.caller.organisations.update({ organisationId: user.organisationId, stopServingFlags: true });
    await waitForDocuments([env.id]);

    // When flagd polls (also with its last ETag) and the diagnostics are fetched
    const sync = await fetch(flagsUrl, { headers: { authorization: `Bearer ${key}`, "if-none-match": "*" } });
    const diagnostics = await fetch(`${base}/api/v1/flagd/diagnostics.json`, { headers: { authorization: `Bearer ${key}` } });

    // Then both are refused with the SDK API's message, as any other SDK call of that organisation
    expect([sync.status, diagnostics.status]).toEqual([401, 401]);
    expect(await sync.json()).toEqual({ detail: "Organisation is disabled from serving flags." });
  });

  it("diagnostics__regexSegmentOverride__listsRegexWarningAndLossyVerdict", async () => {
    // Given a segment with a REGEX condition flagd cannot express, overriding a feature
    const { user, project, env, feature, key } = await setup();
    const segment = await user.caller.segments.create({
      projectId: project.id,
      name: "emails",
      rules: [{ type: "ALL", conditions: [{ operator: "REGEX", property: "email", value: "^[a-z]+[0-9]{2,}@example\\.com$" }], rules: [] }],
    });
    await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: env.id, segmentId: segment.id, enabled: true, value: "regex" });
    await waitForDocuments([env.id]);

    // When the diagnostics are fetched (HTTP and tRPC)
    const response = await fetch(`${base}/api/v1/flagd/diagnostics.json`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await response.json()) as { features: { name: string; fidelity: string; warnings: { reason: string }[] }[] };
    const viaTrpc = await user.caller.flagd.diagnostics({ environmentId: env.id });

    // Then the feature is lossy with a regex_unsupported warning, and the document stays valid
    const checkout = body.features.find((f) => f.name === "checkout")!;
    expect(checkout.fidelity).toBe("lossy");
    expect(JSON.stringify(body)).toContain("regex_unsupported");
    expect(JSON.stringify(viaTrpc?.diagnostics)).toContain("regex_unsupported");
    const document = (await (await fetch(flagsUrl, { headers: { authorization: `Bearer ${key}` } })).json()) as FlagdDocument;
    expectValid(document);
  });

  it("setEnabled__toggleOnAndOff__auditedAndEndpointFollows", async () => {
    // Given a project with the integration on
    const { user, project, env, key } = await setup();

    // When it is turned off
    await user.caller.flagd.setEnabled({ projectId: project.id, enabled: false });
    await waitForDocuments([env.id]);
    const response = await fetch(flagsUrl, { headers: { authorization: `Bearer ${key}` } });

    // Then the endpoint answers 404 and both switches are in the audit log
    expect(response.status).toBe(404);
    const actions = await getDb().execute<{ action: string }>(sql`select action from audit_log where project_id = ${project.id} and action like 'flagd_integration.%' order by id`);
    expect(actions.rows.map((r) => r.action)).toEqual(["flagd_integration.enabled", "flagd_integration.disabled"]);
  });
});
