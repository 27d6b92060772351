import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { buildEnvironmentDocument } from "../../../src/server/documents/build";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";

// Text values that look like JSON, numbers, booleans or null, and non-text values of each allowed type.
const VALUES = ['{"colour":"blue"}', "[1,2]", "42", "1.5", "true", "null", '"quoted"', 42, true, false, ""] as const;

describe("stored values round-trip with their type", () => {
  it("featureValues__textThatLooksLikeJson__readBackAsTheSameTypeEverywhere", async () => {
    // Given a project with one environment
    const user = await signUpUser();
    const { project, environments } = await projectWithEnvironments(user, ["Production"]);
    const environmentId = environments[0].id;

    for (const [index, value] of VALUES.entries()) {
      // When a feature is created with the value, and the value is set again through an update
      const feature = await user.caller.features.create({ projectId: project.id, name: `value_${index}`, initialValue: value });

      // Then the feature, its environment state and the built document all carry exactly that value
      expect((await user.caller.features.get({ featureId: feature.id })).initialValue, `feature ${JSON.stringify(value)}`).toStrictEqual(value);
      const [state] = await user.caller.features.states({ featureId: feature.id });
      expect(state.value, `state ${JSON.stringify(value)}`).toStrictEqual(value);
    }
    const built = await buildEnvironmentDocument(getDb(), environmentId);
    const byName = new Map(built.document.feature_states.map((s) => [s.feature.name, s.feature_state_value]));
    for (const [index, value] of VALUES.entries()) expect(byName.get(`value_${index}`), `document ${JSON.stringify(value)}`).toStrictEqual(value);
  });

  it("traits__textThatLooksLikeANumber__keepsTextType", async () => {
    // Given an identity
    const user = await signUpUser();
    const { environments } = await projectWithEnvironments(user, ["Production"]);
    const identity = await user.caller.identities.create({ environmentId: environments[0].id, identifier: "round-trip" });

    // When text traits that parse as JSON are set
    await user.caller.identities.setTrait({ identityId: identity.id, key: "plan", value: "42" });
    await user.caller.identities.setTrait({ identityId: identity.id, key: "prefs", value: '{"a":1}' });
    await user.caller.identities.setTrait({ identityId: identity.id, key: "count", value: 42 });

    // Then they read back as text, and the number stays a number
    const traits = new Map((await user.caller.identities.get({ identityId: identity.id })).traits.map((t) => [t.key, t]));
    expect([traits.get("plan")?.value, traits.get("plan")?.type]).toStrictEqual(["42", "unicode"]);
    expect([traits.get("prefs")?.value, traits.get("prefs")?.type]).toStrictEqual(['{"a":1}', "unicode"]);
    expect([traits.get("count")?.value, traits.get("count")?.type]).toStrictEqual([42, "int"]);
  });
});
