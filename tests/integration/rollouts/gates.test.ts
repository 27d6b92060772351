/**
 * Flagpost's own gates with the shipped-file source: each state of a gate and what it does, and a
 * gate targeted at one organisation through a Flagsmith segment on the organisation's traits.
 */
import { afterEach, describe, expect, it } from "vitest";
import { resetSettingsForTests } from "../../../src/server/config";
import { writeEnvironmentDocument } from "../../../src/server/publishing/write-document";
import { closeOpenFeatureClient, flagsSourceKind } from "../../../src/server/rollouts/client";
import { clearEvaluationContexts } from "../../../src/server/rollouts/contexts";
import { gatesFor, isGateOpen } from "../../../src/server/rollouts/gates";
import { flagsFileWith } from "../../support/flags-files";
import { apiKeyCaller, expectTrpcError, joinOrganisation, projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";

async function useFlagsFile(file: string | undefined): Promise<void> {
  if (file === undefined) delete process.env.FLAGPOST_FLAGS_FILE;
  else process.env.FLAGPOST_FLAGS_FILE = file;
  resetSettingsForTests();
  await closeOpenFeatureClient();
  clearEvaluationContexts();
}

afterEach(async () => {
  await useFlagsFile(undefined);
});

async function evaluateSomething(user: TestUser) {
  const { environments } = await projectWithEnvironments(user, ["Dev"]);
  await writeEnvironmentDocument({ environmentId: environments[0].id });
  return user.caller.sdk.evaluateContext({ environmentId: environments[0].id, identifier: "someone", traits: [] });
}

/** A flags file where context_evaluation is off, except for a segment of one trait equal to one value (Flagsmith's document shape). */
function contextEvaluationOnlyFor(segment: { id: number; name: string; trait: string; value: string }): string {
  return flagsFileWith({ context_evaluation: false }, (document) => {
    const feature = document.feature_states.find((state) => state.feature.name === "context_evaluation")!.feature;
    const djangoId = 8500 + segment.id;
    document.project.segments.push({
      id: segment.id,
      name: segment.name,
      rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property_: segment.trait, value: segment.value }], rules: [] }],
      feature_states: [
        { feature, enabled: true, django_id: djangoId, featurestate_uuid: `00000000-0000-0000-0000-00000000${djangoId}`, feature_state_value: null, feature_segment: { priority: 0 }, multivariate_feature_state_values: [] },
      ],
    });
  });
}

describe("gates from the shipped file", () => {
  it("shippedFile__noFlagsVariables__everyGateOnAndContextEvaluationWorks", async () => {
    // Given the file shipped in the repository and no flags API
    await useFlagsFile(undefined);
    const user = await signUpUser();

    // When the gates are read and a context is evaluated
    const gates = await user.caller.rollouts.gates({ organisationId: user.organisationId });
    const evaluated = await evaluateSomething(user);

    // Then every gate is on, offline, and the capability answers
    expect(flagsSourceKind()).toBe("shipped");
    expect(gates).toEqual({ ofrep_api: true, realtime_streams: true, flagd_grpc_sync: true, context_evaluation: true });
    expect(evaluated.flags).toEqual([]);
  });

  it("contextEvaluation__gateOff__proceduresAnswerAsIfTheyDidNotExistAndTheUiIsToldItIsOff", async () => {
    // Given a flags file with context_evaluation off
    await useFlagsFile(flagsFileWith({ context_evaluation: false }));
    const user = await signUpUser();
    const { environments } = await projectWithEnvironments(user, ["Dev"]);
    const identity = await user.caller.identities.create({ environmentId: environments[0].id, identifier: "alice" });

    // When the UI asks for the gates and calls the gated procedures
    const gates = await user.caller.rollouts.gates({ organisationId: user.organisationId });

    // Then the gate reads off and both procedures answer NOT_FOUND (as an unknown procedure target would)
    expect(gates.context_evaluation).toBe(false);
    expect(gates.ofrep_api).toBe(true);
    await expectTrpcError(user.caller.sdk.evaluateContext({ environmentId: environments[0].id, traits: [] }), "NOT_FOUND");
    await expectTrpcError(user.caller.sdk.evaluateIdentity({ identityId: identity.id }), "NOT_FOUND");
  });

  it("gate__targetedAtOneOrganisationBySegment__onForItOffForOthers", async () => {
    // Given two organisations, and a flags file where context_evaluation is off except for a segment matching the first one's id
    const beta = await signUpUser();
    const other = await signUpUser();
    await useFlagsFile(
      contextEvaluationOnlyFor({ id: 501, name: "beta organisations", trait: "organisation_id", value: String(beta.organisationId) }),
    );

    // When each organisation's gate is evaluated
    const forBeta = await isGateOpen("context_evaluation", beta.organisationId);
    const forOther = await isGateOpen("context_evaluation", other.organisationId);

    // Then only the targeted organisation has it, and the answer is memoised (synchronous the second time)
    expect(forBeta).toBe(true);
    expect(forOther).toBe(false);
    expect(isGateOpen("context_evaluation", beta.organisationId)).toBe(true);
    expect((await gatesFor(other.organisationId)).context_evaluation).toBe(false);
    await expect(evaluateSomething(beta)).resolves.toMatchObject({ flags: [] });
    await expectTrpcError(evaluateSomething(other), "NOT_FOUND");
  });

  it("gate__targetedAtOneUserBySegment__onForThatUserOnlyAndNotForAnApiKeyOfTheSameOrganisation", async () => {
    // Given an organisation with two members, and a flags file where context_evaluation is off except for a segment on the first member's user_id
    const owner = await signUpUser();
    const member = await signUpUser();
    await joinOrganisation(owner, member, "ADMIN");
    await useFlagsFile(
      contextEvaluationOnlyFor({ id: 502, name: "early users", trait: "user_id", value: owner.userId }),
    );
    const script = await apiKeyCaller(owner);

    // When each asks the UI's gates of the same organisation
    const forOwner = await owner.caller.rollouts.gates({ organisationId: owner.organisationId });
    const forMember = await member.caller.rollouts.gates({ organisationId: owner.organisationId });
    const forScript = await script.caller.rollouts.gates({ organisationId: owner.organisationId });

    // Then only the targeted user has it (the organisation is the identity, the user's id one more trait); the gated
    // procedures follow; an API key (no user) is evaluated as the organisation
    expect([forOwner.context_evaluation, forMember.context_evaluation, forScript.context_evaluation]).toEqual([true, false, false]);
    await expect(evaluateSomething(owner)).resolves.toMatchObject({ flags: [] });
    await expectTrpcError(evaluateSomething(member), "NOT_FOUND");
  });
});
