import { describe, expect, it } from "vitest";
import type { DocFeatureState, EnvironmentDocument } from "@/server/engine/document";
import type { SdkExtras } from "@/server/documents/types";
import {
  buildFlagTemplates,
  effectiveHideDisabledFlags,
  isHidden,
  renderFlags,
  renderIdentityResponse,
  type EvaluatedFlag,
} from "@/server/sdk/flags";

function state(id: number, name: string, enabled: boolean, value: DocFeatureState["feature_state_value"], type: "STANDARD" | "MULTIVARIATE" = "STANDARD"): DocFeatureState {
  return {
    feature: { id, name, type },
    enabled,
    django_id: id * 10,
    featurestate_uuid: `uuid-${id}`,
    feature_state_value: value,
    feature_segment: null,
    multivariate_feature_state_values: [],
  };
}

function documentWith(overrides: Partial<EnvironmentDocument> = {}, project: Partial<EnvironmentDocument["project"]> = {}): EnvironmentDocument {
  return {
    id: 12561,
    api_key: "key",
    name: "Development",
    allow_client_traits: true,
    updated_at: "2026-01-01T00:00:00.000000+00:00",
    hide_sensitive_data: false,
    hide_disabled_flags: null,
    use_identity_composite_key_for_hashing: true,
    use_identity_overrides_in_local_eval: true,
    project: {
      id: 1,
      name: "P",
      hide_disabled_flags: false,
      enable_realtime_updates: false,
      server_key_only_feature_ids: [15061],
      organisation: { id: 13, name: "O", feature_analytics: false, stop_serving_flags: false, persist_trait_data: true },
      segments: [],
      ...project,
    },
    feature_states: [state(15062, "mv_feature", true, "foo", "MULTIVARIATE"), state(15061, "secret", true, 7), state(15063, "off", false, null)],
    identity_overrides: [],
    ...overrides,
  };
}

const extras: SdkExtras = {
  environmentId: 12561,
  updatedAtEpoch: 1767225600.5,
  flagdEnabled: false,
  features: {
    "15062": { stateId: 78986, createdDate: "2021-11-29T17:17:23Z", description: null, initialValue: "foo", defaultEnabled: false },
    "15061": { stateId: 78987, createdDate: "2021-11-29T17:17:24Z", description: "only servers", initialValue: "7", defaultEnabled: true },
    "15063": { stateId: 78988, createdDate: "2021-11-29T17:17:25Z", description: null, initialValue: null, defaultEnabled: false },
  },
};

const evaluated = (doc: EnvironmentDocument): EvaluatedFlag[] =>
  doc.feature_states.map((fs) => ({ featureId: fs.feature.id, enabled: fs.enabled, value: fs.feature_state_value, variant: null }));

describe("flag objects", () => {
  it("renderFlags__environmentFlags__exactFlagsmithObjects", () => {
    // Given a document and its SDK extras
    const doc = documentWith();
    const templates = buildFlagTemplates(doc, extras);

    // When its environment flags are rendered for a server key
    const rendered = renderFlags(templates, evaluated(doc), "server");

    // Then each object is Flagsmith's, keys in Flagsmith's order
    const flags = JSON.parse(rendered.list);
    expect(flags[0]).toEqual({
      id: 78986,
      feature: { id: 15062, name: "mv_feature", created_date: "2021-11-29T17:17:23Z", description: null, initial_value: "foo", default_enabled: false, type: "MULTIVARIATE" },
      feature_state_value: "foo",
      environment: 12561,
      identity: null,
      feature_segment: null,
      enabled: true,
    });
    expect(Object.keys(flags[0])).toEqual(["id", "feature", "feature_state_value", "environment", "identity", "feature_segment", "enabled"]);
    expect(flags.map((f: { feature_state_value: unknown }) => f.feature_state_value)).toEqual(["foo", 7, null]);
  });

  it("renderFlags__identityFlags__variantAndOverridingIdentity", () => {
    // Given identity flags, one of them overridden for identity 42, one with a variant
    const doc = documentWith();
    const templates = buildFlagTemplates(doc, extras);
    const flags: EvaluatedFlag[] = [
      { featureId: 15062, enabled: true, value: "bar", variant: "variant_bar" },
      { featureId: 15061, enabled: false, value: 8, variant: null },
    ];

    // When rendered with the identity
    const rendered = JSON.parse(renderFlags(templates, flags, "server", { id: 42, overriddenFeatureIds: new Set([15061]) }).list);

    // Then identity flags carry `variant`, and the overridden one names the identity
    expect(rendered[0]).toMatchObject({ feature_state_value: "bar", variant: "variant_bar", identity: null });
    expect(rendered[1]).toMatchObject({ feature_state_value: 8, enabled: false, variant: null, identity: 42 });
  });

  it("renderFlags__byName__singleObjectsOfVisibleFlags", () => {
    // Given a client key (the server-key-only feature is hidden)
    const doc = documentWith();

    // When rendered with the by-name index
    const rendered = renderFlags(buildFlagTemplates(doc, extras), evaluated(doc), "client", undefined, { byName: true });

    // Then visible flags are indexed by feature name, hidden ones are not
    expect(JSON.parse(rendered.byName.get("mv_feature")!).feature.name).toBe("mv_feature");
    expect(rendered.byName.has("secret")).toBe(false);
  });

  it("renderFlags__hideSensitiveData__idsAndMetadataNull", () => {
    // Given an environment hiding sensitive data
    const doc = documentWith({ hide_sensitive_data: true });

    // When rendered (as identity flags of an overriding identity)
    const [flag] = JSON.parse(renderFlags(buildFlagTemplates(doc, extras), evaluated(doc), "server", { id: 42, overriddenFeatureIds: new Set([15062]) }).list);

    // Then ids, environment, identity and feature metadata are null
    expect(flag).toEqual({
      id: null,
      feature: { id: 15062, name: "mv_feature", created_date: null, description: null, initial_value: null, default_enabled: null, type: "MULTIVARIATE" },
      feature_state_value: "foo",
      environment: null,
      identity: null,
      feature_segment: null,
      enabled: true,
      variant: null,
    });
  });

  it("buildFlagTemplates__featureWithoutExtras__nullMetadata", () => {
    // Given extras that do not know a feature
    const doc = documentWith();

    // When rendered
    const [flag] = JSON.parse(renderFlags(buildFlagTemplates(doc, null), evaluated(doc), "server").list);

    // Then its state id and metadata are null rather than failing
    expect(flag.id).toBeNull();
    expect(flag.feature).toMatchObject({ id: 15062, name: "mv_feature", created_date: null });
  });
});

describe("filters", () => {
  it.each([
    [null, false, false],
    [null, true, true],
    [true, false, true],
    [false, true, false],
  ])("effectiveHideDisabledFlags__environment %s project %s__%s", (environment, project, expected) => {
    // Given the environment and project settings
    const doc = documentWith({ hide_disabled_flags: environment }, { hide_disabled_flags: project });

    // When the effective setting is read
    // Then the environment's wins unless null
    expect(effectiveHideDisabledFlags(doc)).toBe(expected);
  });

  it("renderFlags__hideDisabled__disabledFlagsLeftOut", () => {
    // Given an environment hiding disabled flags
    const doc = documentWith({ hide_disabled_flags: true });

    // When rendered for a server key
    const names = JSON.parse(renderFlags(buildFlagTemplates(doc, extras), evaluated(doc), "server").list).map((f: { feature: { name: string } }) => f.feature.name);

    // Then the disabled flag is gone
    expect(names).toEqual(["mv_feature", "secret"]);
  });

  it("renderFlags__clientKeyWithHideDisabled__serverKeyOnlyStillHidden", () => {
    // Given hide-disabled on (Flagsmith's /flags/ would then skip the server-key-only filter)
    const doc = documentWith({ hide_disabled_flags: true });

    // When rendered for a client key
    const names = JSON.parse(renderFlags(buildFlagTemplates(doc, extras), evaluated(doc), "client").list).map((f: { feature: { name: string } }) => f.feature.name);

    // Then both filters apply: the enabled server-key-only feature is not exposed
    expect(names).toEqual(["mv_feature"]);
  });

  it("isHidden__kinds__serverKeyOnlyHiddenFromClientsOnly", () => {
    // Given a server-key-only template
    const template = { serverKeyOnly: true };

    // When checked per key kind
    // Then only client keys lose it
    expect(isHidden(template, true, "client", false)).toBe(true);
    expect(isHidden(template, true, "server", false)).toBe(false);
    expect(isHidden({ serverKeyOnly: false }, false, "server", true)).toBe(true);
  });
});

describe("identity response", () => {
  it("renderIdentityResponse__traits__identifierTraitsFlags", () => {
    // Given effective traits
    const traits = [
      { key: "age", value: 30, transient: false },
      { key: "tmp", value: "x", transient: true },
    ];

    // When the response is rendered
    const body = JSON.parse(renderIdentityResponse("u1", traits, "[]", false));

    // Then it has Flagsmith's shape
    expect(body).toEqual({
      identifier: "u1",
      traits: [
        { id: null, trait_key: "age", trait_value: 30, transient: false },
        { id: null, trait_key: "tmp", trait_value: "x", transient: true },
      ],
      flags: [],
    });
  });

  it("renderIdentityResponse__sensitive__noTraits", () => {
    // Given an environment hiding sensitive data
    // When the response is rendered
    const body = JSON.parse(renderIdentityResponse("u1", [{ key: "age", value: 30, transient: false }], "[]", true));

    // Then traits are not returned
    expect(body.traits).toEqual([]);
  });
});
