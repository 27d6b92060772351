import { and, eq, sql } from "drizzle-orm";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { auditLog, environments, featureStates, features, multivariateOptions, multivariateStateValues } from "../../../src/server/db/schema";
import { createFeature } from "../../../src/server/features/service";
import { createEnvironment } from "../../../src/server/environments/service";
import { actorOf } from "../../../src/server/auth/principal";
import { expectTrpcError, projectWithEnvironments, signUpUser } from "../support/fixtures";
import { commitOnceBlocked, openTransaction } from "./helpers";

async function auditActions(projectId: number): Promise<string[]> {
  return (await getDb().select().from(auditLog).where(eq(auditLog.projectId, projectId)).orderBy(auditLog.id)).map((r) => r.action);
}

async function revisions(projectId: number): Promise<Map<number, number>> {
  const rows = await getDb().select().from(environments).where(eq(environments.projectId, projectId));
  return new Map(rows.map((r) => [r.id, r.revision]));
}

describe("features", () => {
  it("createFeature__projectWithEnvironments__stateInEveryEnvironmentAuditedAndPublished", async () => {
    // Given a project with two environments
    const user = await signUpUser();
    const { project, environments: envs } = await projectWithEnvironments(user);
    const before = await revisions(project.id);

    // When a feature is created
    const feature = await user.caller.features.create({ projectId: project.id, name: "new_checkout", defaultEnabled: true, initialValue: "blue", tags: ["web", "web", " beta "] });

    // Then each environment has its default state, the feature is no longer "creating", the change is audited and every environment's revision moved
    const states = await user.caller.features.states({ featureId: feature.id });
    expect(states.map((s) => [s.environmentId, s.enabled, s.value])).toEqual(envs.map((e) => [e.id, true, "blue"]));
    const [row] = await getDb().select().from(features).where(eq(features.id, feature.id));
    expect(row.isCreating).toBe(false);
    expect(row.tags).toEqual(["beta", "web"]);
    expect(await auditActions(project.id)).toContain("feature.created");
    const after = await revisions(project.id);
    for (const env of envs) expect(after.get(env.id)!).toBeGreaterThan(before.get(env.id)!);
  });

  it("createFeature__seededInBatches__isCreatingVisibleFromAnotherConnectionUntilDone", async () => {
    // Given a project with 12 environments and a second database connection
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, Array.from({ length: 12 }, (_, i) => `env-${i}`));
    const observer = new pg.Client(process.env.DATABASE_URL);
    await observer.connect();
    const observed: { isCreating: boolean; states: number }[] = [];

    // When a feature is created with a batch size of 5, observing after each committed batch
    const feature = await createFeature(actorOf(user.principal), project.id, { name: "batched" }, {
      batchSize: 5,
      onBatch: async () => {
        const result = await observer.query(
          "select f.is_creating, (select count(*)::int from feature_states s where s.feature_id = f.id) as states from features f where f.project_id = $1 and f.name = 'batched'",
          [project.id],
        );
        observed.push({ isCreating: result.rows[0].is_creating, states: result.rows[0].states });
      },
    });
    const final = await observer.query("select is_creating from features where id = $1", [feature.id]);
    await observer.end();

    // Then every batch was visible with is_creating still true, states growing, and false at the end
    expect(observed).toEqual([
      { isCreating: true, states: 5 },
      { isCreating: true, states: 10 },
      { isCreating: true, states: 12 },
    ]);
    expect(final.rows[0].is_creating).toBe(false);
  });

  it("createEnvironment__projectWithFeatures__seedsEveryFeatureWhileIsCreating", async () => {
    // Given a project with 7 features (one multivariate)
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Development"]);
    for (let i = 0; i < 6; i++) await user.caller.features.create({ projectId: project.id, name: `f${i}`, defaultEnabled: i % 2 === 0, initialValue: i });
    const mv = await user.caller.features.create({ projectId: project.id, name: "mv", initialValue: "control", options: [{ value: "a", key: "a", defaultPercentageAllocation: 30 }, { value: "b", defaultPercentageAllocation: 20 }] });
    const observer = new pg.Client(process.env.DATABASE_URL);
    await observer.connect();
    const observed: boolean[] = [];

    // When an environment is created in batches of 3
    const env = await createEnvironment(actorOf(user.principal), project.id, { name: "Staging" }, {
      batchSize: 3,
      onBatch: async () => {
        const result = await observer.query("select is_creating from environments where project_id = $1 and name = 'Staging'", [project.id]);
        observed.push(result.rows[0].is_creating);
      },
    });
    await observer.end();

    // Then it was "creating" during every batch, and holds all 7 defaults with the options' default allocations
    expect(observed).toEqual([true, true, true]);
    const states = await getDb().select().from(featureStates).where(eq(featureStates.environmentId, env.id));
    expect(states).toHaveLength(7);
    expect(states.find((s) => s.featureId === mv.id)?.value).toBe("control");
    const mvState = states.find((s) => s.featureId === mv.id)!;
    const allocations = await getDb().select().from(multivariateStateValues).where(eq(multivariateStateValues.featureStateId, mvState.id));
    expect(allocations.map((a) => a.percentageAllocation).sort()).toEqual([20, 30]);
    expect((await getDb().select().from(environments).where(eq(environments.id, env.id)))[0].isCreating).toBe(false);
  });

  it("createFeature__duplicateNameAnyCase__conflictAndNoAuditRow", async () => {
    // Given a feature named "Search"
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Dev"]);
    await user.caller.features.create({ projectId: project.id, name: "Search" });
    const before = await auditActions(project.id);

    // When creating "search"
    const error = await expectTrpcError(user.caller.features.create({ projectId: project.id, name: "search" }), "CONFLICT");

    // Then it is refused with the field named, and nothing was written
    expect(error.message).toContain("already exists");
    expect(await auditActions(project.id)).toEqual(before);
    expect((await getDb().select().from(features).where(eq(features.projectId, project.id))).length).toBe(1);
  });

  it("badValues__floatObjectOrAllocationsOver100__badRequestAndNothingWritten", async () => {
    // Given a project
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Dev"]);
    const before = await auditActions(project.id);

    // When values of the wrong type or allocations over 100 are sent
    await expectTrpcError(user.caller.features.create({ projectId: project.id, name: "a", initialValue: 1.5 }), "BAD_REQUEST");
    await expectTrpcError(user.caller.features.create({ projectId: project.id, name: "b", initialValue: { x: 1 } as never }), "BAD_REQUEST");
    await expectTrpcError(
      user.caller.features.create({ projectId: project.id, name: "c", options: [{ value: "x", defaultPercentageAllocation: 60 }, { value: "y", defaultPercentageAllocation: 50 }] }),
      "BAD_REQUEST",
    );

    // Then no feature and no audit row exists
    expect(await getDb().select().from(features).where(eq(features.projectId, project.id))).toEqual([]);
    expect(await auditActions(project.id)).toEqual(before);
  });

  it("updateState__toggleAndValue__auditedWithBeforeAfterAndEnvironmentBumped", async () => {
    // Given a feature in two environments
    const user = await signUpUser();
    const { project, environments: [dev, prod] } = await projectWithEnvironments(user);
    const feature = await user.caller.features.create({ projectId: project.id, name: "banner", initialValue: "off" });
    const before = await revisions(project.id);

    // When it is enabled with a new value in Development only
    await user.caller.features.updateState({ featureId: feature.id, environmentId: dev.id, enabled: true, value: "on" });

    // Then only Development changed, with an audit row describing it
    const states = await user.caller.features.states({ featureId: feature.id });
    expect(states.map((s) => [s.environmentName, s.enabled, s.value])).toEqual([
      ["Development", true, "on"],
      ["Production", false, "off"],
    ]);
    const [audit] = await getDb().select().from(auditLog).where(and(eq(auditLog.action, "feature_state.updated"), eq(auditLog.featureId, feature.id)));
    expect(audit.environmentId).toBe(dev.id);
    expect(audit.summary).toBe('Feature "banner": enabled, value "off" → "on"');
    expect(audit.before).toMatchObject({ enabled: false, value: "off" });
    expect(audit.after).toMatchObject({ enabled: true, value: "on" });
    const after = await revisions(project.id);
    expect(after.get(dev.id)).toBe(before.get(dev.id)! + 1);
    expect(after.get(prod.id)).toBe(before.get(prod.id));
  });

  it("multivariate__addOptionAndAllocate__perEnvironmentAllocationsNeverAbove100", async () => {
    // Given a multivariate feature with one 40% variation
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user);
    const feature = await user.caller.features.create({ projectId: project.id, name: "colour", initialValue: "red", options: [{ value: "green", key: "green", defaultPercentageAllocation: 40 }] });
    const before = await auditActions(project.id);

    // When adding a 70% variation (would make 110%), then a 30% one, then allocating over 100 in one environment
    await expectTrpcError(user.caller.features.addOption({ featureId: feature.id, value: "blue", defaultPercentageAllocation: 70 }), "BAD_REQUEST");
    const blue = await user.caller.features.addOption({ featureId: feature.id, value: "blue", key: "blue", defaultPercentageAllocation: 30 });
    const green = (await user.caller.features.get({ featureId: feature.id })).options[0];
    await expectTrpcError(
      user.caller.features.updateState({ featureId: feature.id, environmentId: dev.id, allocations: [{ optionId: green.id, percentageAllocation: 80 }] }),
      "BAD_REQUEST",
    );
    await user.caller.features.updateState({ featureId: feature.id, environmentId: dev.id, allocations: [{ optionId: green.id, percentageAllocation: 10 }, { optionId: blue.id, percentageAllocation: 60 }] });

    // Then the failed attempts left nothing behind (the 70% option was rolled back) and the allocations are as set
    const options = await getDb().select().from(multivariateOptions).where(eq(multivariateOptions.featureId, feature.id));
    expect(options.map((o) => o.value)).toEqual(["green", "blue"]);
    const states = await user.caller.features.states({ featureId: feature.id });
    expect(states[0].allocations).toEqual([
      { optionId: green.id, percentageAllocation: 10 },
      { optionId: blue.id, percentageAllocation: 60 },
    ]);
    expect(states[1].allocations).toEqual([
      { optionId: green.id, percentageAllocation: 40 },
      { optionId: blue.id, percentageAllocation: 30 },
    ]);
    expect((await auditActions(project.id)).slice(before.length)).toEqual(["multivariate_option.created", "feature_state.updated"]);
  });

  it("addOption__allocationChangedConcurrently__waitsForItThenRefusedOver100", async () => {
    // Given a multivariate feature at 40 % in Dev, and another connection raising that allocation to 80 %
    // in an open transaction holding the state's lock (as features.updateState does)
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Dev"]);
    const feature = await user.caller.features.create({ projectId: project.id, name: "racy", options: [{ value: "a", defaultPercentageAllocation: 40 }] });
    const [state] = await user.caller.features.states({ featureId: feature.id });
    const other = await openTransaction();
    await other.query("select id from feature_states where id = $1 for update", [state.id]);
    await other.query("update multivariate_state_values set percentage_allocation = 80 where feature_state_id = $1", [state.id]);

    // When a 30 % variation is added meanwhile, and the other transaction commits once the addition waits for it
    const adding = commitOnceBlocked(other, user.caller.features.addOption({ featureId: feature.id, value: "b", defaultPercentageAllocation: 30 }));

    // Then the addition saw the committed 80 % and was refused: no environment is above 100 %
    await expectTrpcError(adding, "BAD_REQUEST");
    const [after] = await user.caller.features.states({ featureId: feature.id });
    expect(after.allocations.map((a) => a.percentageAllocation)).toEqual([80]);
    expect((await user.caller.features.get({ featureId: feature.id })).options.map((o) => o.value)).toEqual(["a"]);
  });

  it("updateFeature__servedFieldsVersusAdminMetadata__documentsBumpedOnlyForServedFields", async () => {
    // Given a feature in two environments
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user);
    const feature = await user.caller.features.create({ projectId: project.id, name: "served" });
    const bumped: Record<string, boolean> = {};
    const update = async (label: string, changes: Omit<Parameters<typeof user.caller.features.update>[0], "featureId">) => {
      const before = await revisions(project.id);
      await user.caller.features.update({ featureId: feature.id, ...changes });
      const after = await revisions(project.id);
      bumped[label] = [...before].every(([id, revision]) => after.get(id)! > revision);
    };

    // When admin metadata (tags, archiving) and fields the SDK API serves (description, initial value, default enabled) change
    await update("tags", { tags: ["web"] });
    await update("isArchived", { isArchived: true });
    await update("description", { description: "Shown to SDKs" });
    await update("initialValue", { initialValue: "v2" });
    await update("defaultEnabled", { defaultEnabled: true });

    // Then only the served fields rewrote every environment's document, and every change was audited
    expect(bumped).toEqual({ tags: false, isArchived: false, description: true, initialValue: true, defaultEnabled: true });
    expect((await auditActions(project.id)).filter((a) => a === "feature.updated")).toHaveLength(5);
  });

  it("allocations__optionOfAnotherFeature__badRequestAndStateUnchanged", async () => {
    // Given two multivariate features
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
    const one = await user.caller.features.create({ projectId: project.id, name: "one", options: [{ value: "x", defaultPercentageAllocation: 10 }] });
    const two = await user.caller.features.create({ projectId: project.id, name: "two", options: [{ value: "y", defaultPercentageAllocation: 10 }] });
    const foreign = (await user.caller.features.get({ featureId: two.id })).options[0];

    // When allocating the other feature's option while also toggling
    await expectTrpcError(
      user.caller.features.updateState({ featureId: one.id, environmentId: dev.id, enabled: true, allocations: [{ optionId: foreign.id, percentageAllocation: 5 }] }),
      "BAD_REQUEST",
    );

    // Then the toggle did not happen either
    const [state] = await user.caller.features.states({ featureId: one.id });
    expect(state.enabled).toBe(false);
  });

  it("allocations__optionIdBeyondSerialRange__badRequestNotInternalError", async () => {
    // Given a multivariate feature
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
    const feature = await user.caller.features.create({ projectId: project.id, name: "huge", options: [{ value: "x", defaultPercentageAllocation: 10 }] });
    const allocations = [{ optionId: 2 ** 31, percentageAllocation: 5 }];

    // When an option id no int4 row can have is allocated, now or scheduled
    const now = () => user.caller.features.updateState({ featureId: feature.id, environmentId: dev.id, allocations });
    const later = () => user.caller.features.schedule({ environmentId: dev.id, featureId: feature.id, allocations, liveFrom: new Date(Date.now() + 60_000) });

    // Then both are bad input (not a database error), nothing is scheduled and the state is unchanged
    await expectTrpcError(now(), "BAD_REQUEST");
    await expectTrpcError(later(), "BAD_REQUEST");
    expect(await user.caller.features.scheduled({ environmentId: dev.id })).toEqual([]);
    const [state] = await user.caller.features.states({ featureId: feature.id });
    expect(state.allocations.map((a) => a.percentageAllocation)).toEqual([10]);
  });

  it("crossOrganisation__featureIdsOfAnotherOrganisation__notFound", async () => {
    // Given Alice's feature and Bob
    const alice = await signUpUser();
    const bob = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(alice, ["Dev"]);
    const feature = await alice.caller.features.create({ projectId: project.id, name: "secret" });
    const bobProject = await projectWithEnvironments(bob, ["Dev"]);

    // When Bob addresses it, alone or mixed with his own environment
    await expectTrpcError(bob.caller.features.get({ featureId: feature.id }), "NOT_FOUND");
    await expectTrpcError(bob.caller.features.update({ featureId: feature.id, name: "mine" }), "NOT_FOUND");
    await expectTrpcError(bob.caller.features.updateState({ featureId: feature.id, environmentId: dev.id, enabled: true }), "NOT_FOUND");
    await expectTrpcError(bob.caller.features.updateState({ featureId: feature.id, environmentId: bobProject.environments[0].id, enabled: true }), "NOT_FOUND");
    await expectTrpcError(bob.caller.features.list({ projectId: project.id }), "NOT_FOUND");
    await expectTrpcError(bob.caller.features.delete({ featureId: feature.id }), "NOT_FOUND");

    // Then Alice's feature is unchanged
    const [state] = await alice.caller.features.states({ featureId: feature.id });
    expect(state.enabled).toBe(false);
    expect((await alice.caller.features.get({ featureId: feature.id })).name).toBe("secret");
  });

  it("listFeatures__environmentAndSearch__statesAndFilters", async () => {
    // Given three features, one archived
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
    await user.caller.features.create({ projectId: project.id, name: "beta_search", defaultEnabled: true, tags: ["search"] });
    await user.caller.features.create({ projectId: project.id, name: "Alpha" });
    const old = await user.caller.features.create({ projectId: project.id, name: "old_thing" });
    await user.caller.features.update({ featureId: old.id, isArchived: true });

    // When listing with an environment, by search, by tag, and without archived
    const all = await user.caller.features.list({ projectId: project.id, environmentId: dev.id });
    const search = await user.caller.features.list({ projectId: project.id, search: "SEARCH" });
    const tagged = await user.caller.features.list({ projectId: project.id, tag: "search" });
    const active = await user.caller.features.list({ projectId: project.id, archived: false });

    // Then each list is right, sorted by name, with the environment's state
    expect(all.map((f) => [f.name, f.state?.enabled])).toEqual([
      ["Alpha", false],
      ["beta_search", true],
      ["old_thing", false],
    ]);
    expect(search.map((f) => f.name)).toEqual(["beta_search"]);
    expect(tagged.map((f) => f.name)).toEqual(["beta_search"]);
    expect(active.map((f) => f.name)).toEqual(["Alpha", "beta_search"]);
  });

  it("deleteFeature__feature__statesGoneAndAudited", async () => {
    // Given a feature
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user);
    const feature = await user.caller.features.create({ projectId: project.id, name: "temp" });

    // When it is deleted
    await user.caller.features.delete({ featureId: feature.id });

    // Then its states are gone and the deletion is audited
    const remaining = await getDb().execute(sql`select count(*)::int as n from feature_states where feature_id = ${feature.id}`);
    expect(remaining.rows[0]).toEqual({ n: 0 });
    expect((await auditActions(project.id)).at(-1)).toBe("feature.deleted");
  });
});
