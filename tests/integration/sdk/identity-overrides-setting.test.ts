import { inject } from "vitest";
process.env.DATABASE_URL = inject("systemDatabaseUrl");

import { describe, expect, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";
import { waitForDocuments } from "../support/documents";
import { sdkClient } from "./support";

resetSettingsForTests();
const base = inject("systemUrl");

describe("identity overrides outside local evaluation", () => {
  it("identities__overridesExcludedFromLocalEval__remoteStillAppliesThemDocumentOmitsThem", async () => {
    // Given an identity override in an environment that keeps identity overrides out of local evaluation
    const user = await signUpUser();
    const { project, environments: [env] } = await projectWithEnvironments(user, ["Production"]);
    const feature = await user.caller.features.create({ projectId: project.id, name: "vip_banner", initialValue: "default" });
    const identity = await user.caller.identities.create({ environmentId: env.id, identifier: "vip-1" });
    await user.caller.identities.createOverride({ identityId: identity.id, featureId: feature.id, enabled: true, value: "for-vip" });
    await user.caller.environments.update({ environmentId: env.id, useIdentityOverridesInLocalEval: false });
    const { key } = await user.caller.environments.createServerKey({ environmentId: env.id, name: "server" });
    await waitForDocuments([env.id]);

    // When the identity asks remotely, and a local-evaluation SDK fetches the document
    const remote = await (await sdkClient(base, env.apiKey).post("identities/", { identifier: "vip-1", traits: [] })).json();
    const document = await (await sdkClient(base, key).get("environment-document/")).json();

    // Then remote evaluation applies the override (as Flagsmith does), and the document leaves it out
    const flag = (remote.flags as { feature: { name: string }; enabled: boolean; feature_state_value: unknown }[]).find((f) => f.feature.name === "vip_banner");
    expect(flag).toMatchObject({ enabled: true, feature_state_value: "for-vip" });
    expect(document.use_identity_overrides_in_local_eval).toBe(false);
    expect(document.identity_overrides).toEqual([]);
  });
});
