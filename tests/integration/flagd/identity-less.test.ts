/**
 * One answer without an identity, through the running system: for generated environments imported into Flagpost
 * (segments that match without traits, multivariate features, disabled defaults with enabled overrides, hidden
 * disabled flags), flagd-core evaluating the served `flags.json` without a targetingKey gives, for every flag, what
 * the SDK API's `GET /api/v1/flags/` answers over HTTP (under the value mapping of docs/flagd.md).
 */
import { describe, expect, inject, it } from "vitest";

// The system under test (next start + worker) runs on its own database: import there.
process.env.DATABASE_URL = inject("systemDatabaseUrl");
const { resetSettingsForTests } = await import("../../../src/server/config");
resetSettingsForTests();

const { buildEnvironmentContext, environmentDefaults, getEvaluationResult } = await import("../../../src/server/engine");
const { importFlagsmithEnvironment } = await import("../../../src/server/imports/flagsmith");
const { SYSTEM_ACTOR } = await import("../../../src/server/auth/principal");
const { TRANSLATOR_VERSION } = await import("../../../src/server/flagd/translator");
const { generateRandomDocument } = await import("../../support/flagsmith-documents");
const { comparable, expectedObservation } = await import("../../unit/flagd/fixtures");
const { loadStrict, observe } = await import("../../unit/flagd/helpers");
const { waitForDocuments } = await import("../support/documents");
const { signUpUser } = await import("../support/fixtures");

import type { EnvironmentDocument } from "../../../src/server/engine/document";
import type { FlagdDiagnostics, FlagdDocument } from "../../../src/server/flagd/types";

const base = inject("systemUrl");

interface SdkFlagObject {
  feature: { name: string };
  enabled: boolean;
  feature_state_value: string | number | boolean | null;
}

/** Identity-less flagd contexts: nothing, attributes only (ignored without an identity), an empty targetingKey. */
const CONTEXTS: Array<Record<string, string | number | boolean>> = [{}, { plan: "pro", age: 40, country: "fr", beta: true }, { targetingKey: "" }];

async function getJson<T>(path: string, headers: Record<string, string>): Promise<T> {
  const response = await fetch(`${base}${path}`, { headers });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

describe("identity-less evaluation: flagd without targetingKey vs GET /api/v1/flags/", () => {
  it("identityLess__generatedEnvironments__flagdEqualsSdkEnvironmentFlagsForEveryFlag", { timeout: 180_000 }, async () => {
    // Given generated environments (one hiding disabled flags) imported into the running system, the flagd
    // integration on, and segments that would change identity-less results if they were evaluated without traits
    const user = await signUpUser();
    const environments: Array<{ environmentId: number; serverKey: string; generated: EnvironmentDocument }> = [];
    for (let seed = 1; seed <= 6; seed++) {
      const generated = generateRandomDocument({ seed, hideDisabledFlags: seed === 6 ? true : null }) as unknown as EnvironmentDocument;
      const imported = await importFlagsmithEnvironment(SYSTEM_ACTOR, generated, { organisationId: user.organisationId });
      await user.caller.flagd.setEnabled({ projectId: imported.projectId, enabled: true });
      environments.push({ environmentId: imported.environmentId, serverKey: imported.serverKey, generated });
    }
    await waitForDocuments(environments.map((e) => e.environmentId), 60_000);
    let segmentSensitive = 0;
    for (const { generated } of environments) {
      const context = buildEnvironmentContext(generated);
      const withSegments = getEvaluationResult(context).flags;
      for (const flag of Object.values(environmentDefaults(context).flags)) {
        const other = withSegments[flag.name];
        if (other.enabled !== flag.enabled || JSON.stringify(other.value) !== JSON.stringify(flag.value)) segmentSensitive++;
      }
    }
    expect(segmentSensitive).toBeGreaterThan(0);

    // When each environment's flags are read over HTTP from the SDK API and from the flagd sync endpoint, and
    // flagd-core evaluates every flag without a targetingKey
    const differences: string[] = [];
    let compared = 0;
    let hidden = 0;
    for (const { serverKey } of environments) {
      const sdkList = await getJson<SdkFlagObject[]>("/api/v1/flags/", { "x-environment-key": serverKey });
      const document = await getJson<FlagdDocument>("/api/v1/flagd/flags.json", { authorization: `Bearer ${serverKey}` });
      const diagnostics = await getJson<FlagdDiagnostics>("/api/v1/flagd/diagnostics.json", { authorization: `Bearer ${serverKey}` });
      expect(document.metadata["flagpost.translatorVersion"]).toBe(TRANSLATOR_VERSION);
      const core = loadStrict(document);
      const sdk = new Map(sdkList.map((flag) => [flag.feature.name, flag]));
      expect([...sdk.keys()].filter((name) => document.flags[name] === undefined)).toEqual([]);
      for (const feature of diagnostics.features) {
        const flag = sdk.get(feature.name);
        if (flag === undefined) hidden++;
        // A flag /flags/ leaves out (hidden because disabled) is "no value" for a flagd consumer.
        const expected = flag === undefined ? "none" : expectedObservation({ enabled: flag.enabled, value: flag.feature_state_value }, feature);
        for (const context of CONTEXTS) {
          compared++;
          const actual = comparable(observe(core, document, feature.name, context));
          if (actual !== expected) differences.push(`${document.metadata.flagSetId} ${feature.name} ${JSON.stringify(context)}: /flags/ ${expected}, flagd ${actual}`);
        }
      }
    }

    // Then there is no identity-less difference, for every flag of every environment
    expect(differences).toEqual([]);
    expect(compared).toBe(6 * 12 * CONTEXTS.length);
    expect(hidden).toBeGreaterThan(0);
  });
});
