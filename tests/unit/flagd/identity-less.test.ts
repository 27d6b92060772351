/**
 * One answer without an identity: a flagd evaluation without a targetingKey yields exactly what the SDK API's
 * `GET /api/v1/flags/` serves for the same environment (its environment feature states: no segments, no split),
 * under the value mapping of docs/flagd.md. The `/flags/` side is computed as sdk/service.ts does it: the engine
 * context of the document, `environmentDefaults`, then the SDK's flag rendering and filters (server key).
 */
import { describe, expect, it } from "vitest";
import type { EnvironmentDocument } from "@/server/engine/document";
import { buildEnvironmentContext, environmentDefaults, getEvaluationResult, toSdkFlags } from "@/server/engine";
import { translateEnvironment } from "@/server/flagd/translator";
import { buildFlagTemplates, renderFlags } from "@/server/sdk/flags";
import { comparable, cond, environment, expectedObservation, featureState, rule, segment } from "./fixtures";
import { loadStrict, observe } from "./helpers";

interface SdkFlagObject {
  feature: { name: string };
  enabled: boolean;
  feature_state_value: string | number | boolean | null;
}

/** The `/flags/` list for a server key, through the SDK's own steps (environmentFlagsOf in sdk/service.ts). */
function sdkEnvironmentFlags(doc: EnvironmentDocument): Map<string, SdkFlagObject> {
  const context = buildEnvironmentContext(doc, { includeIdentityOverrides: false });
  const rendered = renderFlags(buildFlagTemplates(doc, null), toSdkFlags(environmentDefaults(context)), "server");
  const list = JSON.parse(rendered.list) as SdkFlagObject[];
  return new Map(list.map((flag) => [flag.feature.name, flag]));
}

/** Per flag: what `/flags/` implies for a flagd consumer, and what flagd-core answers for each identity-less context. */
function compareIdentityLess(doc: EnvironmentDocument, contexts: Array<Record<string, string | number | boolean>>) {
  const { document, diagnostics } = translateEnvironment(doc, { flagSetId: "acme/production" });
  const core = loadStrict(document);
  const sdk = sdkEnvironmentFlags(doc);
  const rows: Array<{ name: string; context: string; sdk: string; flagd: string }> = [];
  for (const feature of diagnostics.features) {
    const flag = sdk.get(feature.name);
    // A flag absent from /flags/ (hidden because disabled) is "no value" for a flagd consumer.
    const expected = flag === undefined ? "none" : expectedObservation({ enabled: flag.enabled, value: flag.feature_state_value }, feature);
    for (const context of contexts) {
      rows.push({ name: feature.name, context: JSON.stringify(context), sdk: expected, flagd: comparable(observe(core, document, feature.name, context)) });
    }
  }
  return { rows, sdk, document };
}

/** A value-bearing segment override. */
const override = (name: string, value: string | number | boolean | null, options: { enabled?: boolean; priority?: number } = {}) =>
  featureState(name, { value, enabled: options.enabled ?? true, priority: options.priority ?? 0 });

/**
 * Segments that match an identity without traits — NONE[plan CONTAINS "pro"] and ALL[plan IS_NOT_SET] — overriding
 * a plain feature, a multivariate feature, a disabled default (with an enabled override), a switch and a number.
 */
function craftedEnvironment(parts: { hideDisabledFlags?: boolean } = {}): EnvironmentDocument {
  const doc = environment({
    features: [
      featureState("banner", { value: "blue" }),
      featureState("checkout", { value: "control", mv: [{ value: "a", weight: 30 }, { value: "b", weight: 70 }] }),
      featureState("beta_banner", { value: "off", enabled: false }),
      featureState("new_ui", { value: null, enabled: false }),
      featureState("limit", { value: 10 }),
      featureState("copy", { value: null }),
    ],
    segments: [
      segment(7, "not pro", rule("NONE", [cond("plan", "CONTAINS", "pro")]), [
        override("banner", "red"),
        override("checkout", "segment-checkout"),
        override("beta_banner", "on"),
        override("new_ui", null),
      ]),
      segment(8, "no plan", rule("ALL", [cond("plan", "IS_NOT_SET", null)]), [override("limit", 99), override("copy", "filled")]),
      segment(9, "pro plan", rule("ALL", [cond("plan", "EQUAL", "pro")]), [override("banner", "gold", { priority: 1 })]),
    ],
  });
  if (parts.hideDisabledFlags !== undefined) doc.hide_disabled_flags = parts.hideDisabledFlags;
  return doc;
}

const IDENTITY_LESS_CONTEXTS: Array<Record<string, string>> = [{}, { plan: "pro" }, { plan: "free", country: "de" }, { targetingKey: "" }];

describe("identity-less evaluation", () => {
  it("noTargetingKey__segmentsMatchingEmptyTraitsMultivariateAndDisabledDefault__sameAsSdkEnvironmentFlags", () => {
    // Given an environment whose segments match an identity without traits (so evaluating segments without an
    // identity would change banner, checkout, beta_banner, new_ui, limit and copy)
    const doc = craftedEnvironment();
    const withSegments = getEvaluationResult(buildEnvironmentContext(doc)).flags;
    expect([withSegments.banner.value, withSegments.beta_banner.enabled, withSegments.limit.value]).toEqual(["red", true, 99]);

    // When flagd-core evaluates every flag without a targetingKey (with and without other attributes)
    const { rows, sdk } = compareIdentityLess(doc, IDENTITY_LESS_CONTEXTS);

    // Then every answer is the SDK's environment flag: default values, the multivariate control value, the
    // disabled default as no value
    expect(rows.filter((row) => row.sdk !== row.flagd)).toEqual([]);
    expect(sdk.size).toBe(6);
    const answers = Object.fromEntries(rows.filter((row) => row.context === "{}").map((row) => [row.name, row.flagd]));
    expect(answers).toEqual({
      banner: '"blue"',
      checkout: '"control"',
      beta_banner: "none",
      new_ui: "none",
      limit: "10",
      copy: "none",
    });
  });

  it("noTargetingKey__hiddenDisabledFlags__noValueWhereSdkOmitsTheFlag", () => {
    // Given the same environment with hide_disabled_flags on (the SDK leaves disabled flags out of /flags/)
    const doc = craftedEnvironment({ hideDisabledFlags: true });

    // When flagd-core evaluates every flag without a targetingKey
    const { rows, sdk, document } = compareIdentityLess(doc, IDENTITY_LESS_CONTEXTS);

    // Then the flags the SDK omits give no value, the others the SDK's value; identities still get their segments
    expect(rows.filter((row) => row.sdk !== row.flagd)).toEqual([]);
    expect([...sdk.keys()].sort()).toEqual(["banner", "checkout", "copy", "limit"]);
    const core = loadStrict(document);
    expect(comparable(observe(core, document, "beta_banner", { targetingKey: "u" }))).toBe('"on"');
    expect(comparable(observe(core, document, "banner", { targetingKey: "u", plan: "pro" }))).toBe('"gold"');
  });
});
