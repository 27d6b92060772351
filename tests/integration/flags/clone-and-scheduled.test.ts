import { and, eq, isNotNull, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { auditLog, environments, featureStates, identities, multivariateStateValues, scheduledChanges, segments } from "../../../src/server/db/schema";
import { applyScheduledChange } from "../../../src/server/features/scheduled";
import { expectTrpcError, projectWithEnvironments, signUpUser } from "../support/fixtures";

async function statesOf(environmentId: number) {
  const rows = await getDb().execute<{ feature_id: number; segment_id: number | null; identifier: string | null; enabled: boolean; value: unknown; priority: number | null; hashing_seed: number; allocations: number[] | null }>(sql`
    select s.feature_id, s.segment_id, i.identifier, s.enabled, s.value, s.priority, s.hashing_seed,
           (select array_agg(v.percentage_allocation order by v.id) from multivariate_state_values v where v.feature_state_id = s.id) as allocations
      from feature_states s left join identities i on i.id = s.identity_id
     where s.environment_id = ${environmentId}
     order by s.feature_id, s.segment_id nulls first, i.identifier nulls first`);
  return rows.rows;
}

describe("environment clone", () => {
  it("cloneEnvironment__statesSegmentAndIdentityOverrides__copiedWithHashingSeeds", async () => {
    // Given an environment with a toggled multivariate feature, a segment override and an identity override
    const user = await signUpUser();
    const { project, environments: [source] } = await projectWithEnvironments(user, ["Production"]);
    const feature = await user.caller.features.create({ projectId: project.id, name: "colour", initialValue: "red", options: [{ value: "blue", defaultPercentageAllocation: 25 }] });
    await user.caller.features.updateState({ featureId: feature.id, environmentId: source.id, enabled: true, value: "green" });
    const [segment] = await getDb().insert(segments).values({ projectId: project.id, name: "beta", rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "plan", value: "beta" }], rules: [] }] }).returning();
    const [identity] = await getDb().insert(identities).values({ environmentId: source.id, identifier: "vip" }).returning();
    await getDb().insert(featureStates).values([
      { featureId: feature.id, environmentId: source.id, segmentId: segment.id, enabled: true, value: "segment", priority: 0 },
      { featureId: feature.id, environmentId: source.id, identityId: identity.id, enabled: false, value: "identity" },
    ]);
    await getDb().insert(identities).values({ environmentId: source.id, identifier: "no-overrides" });

    // When the environment is cloned
    const clone = await user.caller.environments.clone({ environmentId: source.id, name: "Production copy" });

    // Then the copy has the same states, overrides, priorities, allocations and hashing seeds, a new key, and is published
    expect(clone.apiKey).not.toBe(source.apiKey);
    expect(await statesOf(clone.id)).toEqual(await statesOf(source.id));
    const copiedIdentities = await getDb().select().from(identities).where(eq(identities.environmentId, clone.id));
    expect(copiedIdentities.map((i) => i.identifier)).toEqual(["vip"]);
    const [row] = await getDb().select().from(environments).where(eq(environments.id, clone.id));
    expect(row.isCreating).toBe(false);
    const [audit] = await getDb().select().from(auditLog).where(and(eq(auditLog.environmentId, clone.id), eq(auditLog.action, "environment.cloned")));
    expect(audit.summary).toBe('Environment "Production copy" cloned from "Production"');
  });

  it("cloneEnvironment__duplicateName__conflictAndNoEnvironment", async () => {
    // Given two environments
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user);

    // When cloning Development under the name of the other one
    await expectTrpcError(user.caller.environments.clone({ environmentId: dev.id, name: "production" }), "CONFLICT");

    // Then still two environments
    expect(await user.caller.environments.list({ projectId: project.id })).toHaveLength(2);
  });
});

describe("scheduled changes", () => {
  async function setup() {
    const user = await signUpUser();
    const { project, environments: [dev] } = await projectWithEnvironments(user, ["Dev"]);
    const feature = await user.caller.features.create({ projectId: project.id, name: "launch", initialValue: "soon" });
    return { user, project, dev, feature };
  }

  it("schedule__futureChange__currentStateStaysLiveAndJobQueuedAtLiveFrom", async () => {
    // Given a feature
    const { user, dev, feature } = await setup();
    const liveFrom = new Date(Date.now() + 3_600_000);

    // When a change is scheduled for an hour from now
    const change = await user.caller.features.schedule({ environmentId: dev.id, featureId: feature.id, enabled: true, value: "now", liveFrom });

    // Then the state is unchanged, the change is pending, and a job waits for live_from
    const [state] = await user.caller.features.states({ featureId: feature.id });
    expect([state.enabled, state.value]).toEqual([false, "soon"]);
    expect((await user.caller.features.scheduled({ environmentId: dev.id, status: "PENDING" })).map((c) => c.id)).toEqual([change.id]);
    const job = await getDb().execute<{ run_at: Date; task: string }>(sql`
      select j.run_at, t.identifier as task from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
       where j.key = ${`scheduled_change:${change.id}`}`);
    expect(job.rows[0].task).toBe("scheduled_change_apply");
    expect(new Date(job.rows[0].run_at).getTime()).toBe(liveFrom.getTime());
  });

  it("applyScheduledChange__atLiveFrom__appliedAuditedAndEnvironmentBumped", async () => {
    // Given a scheduled change whose time has come
    const { user, project, dev, feature } = await setup();
    const change = await user.caller.features.schedule({ environmentId: dev.id, featureId: feature.id, enabled: true, value: "now", liveFrom: new Date(Date.now() + 60_000) });
    await getDb().update(scheduledChanges).set({ liveFrom: new Date(Date.now() - 1000) }).where(eq(scheduledChanges.id, change.id));
    const [before] = await getDb().select().from(environments).where(eq(environments.id, dev.id));

    // When the job applies it (twice: a retry must not apply it again)
    const first = await applyScheduledChange(change.id);
    const second = await applyScheduledChange(change.id);

    // Then the state changed once, the change is LIVE, "went live" is audited and the environment bumped
    expect([first, second]).toEqual(["applied", "skipped"]);
    const [state] = await user.caller.features.states({ featureId: feature.id });
    expect([state.enabled, state.value]).toEqual([true, "now"]);
    const [row] = await getDb().select().from(scheduledChanges).where(eq(scheduledChanges.id, change.id));
    expect(row.status).toBe("LIVE");
    const actions = (await getDb().select().from(auditLog).where(eq(auditLog.projectId, project.id))).map((r) => r.action);
    expect(actions).toContain("scheduled_change.created");
    expect(actions).toContain("scheduled_change.applied");
    const [after] = await getDb().select().from(environments).where(eq(environments.id, dev.id));
    expect(after.revision).toBeGreaterThan(before.revision);
  });

  it("cancelScheduled__pendingChange__cancelledJobRemovedAndNeverApplied", async () => {
    // Given a pending scheduled change
    const { user, dev, feature } = await setup();
    const change = await user.caller.features.schedule({ environmentId: dev.id, featureId: feature.id, enabled: true, liveFrom: new Date(Date.now() + 60_000) });

    // When it is cancelled, and its time then comes anyway
    await user.caller.features.cancelScheduled({ scheduledChangeId: change.id });
    await getDb().update(scheduledChanges).set({ liveFrom: new Date(Date.now() - 1000) }).where(eq(scheduledChanges.id, change.id));
    const outcome = await applyScheduledChange(change.id);

    // Then the job is gone, nothing was applied, and cancelling twice is refused
    expect(outcome).toBe("skipped");
    const jobs = await getDb().execute(sql`select 1 from graphile_worker._private_jobs where key = ${`scheduled_change:${change.id}`}`);
    expect(jobs.rows).toHaveLength(0);
    const [state] = await user.caller.features.states({ featureId: feature.id });
    expect(state.enabled).toBe(false);
    await expectTrpcError(user.caller.features.cancelScheduled({ scheduledChangeId: change.id }), "BAD_REQUEST");
  });

  it("schedule__segmentOverrideThatDoesNotExistYet__createdWhenLive", async () => {
    // Given a segment without an override in this environment, and a change scheduled for it
    const { user, project, dev, feature } = await setup();
    const [segment] = await getDb().insert(segments).values({ projectId: project.id, name: "late", rules: [{ type: "ALL", conditions: [{ operator: "IS_SET", property: "x", value: null }], rules: [] }] }).returning();
    const change = await user.caller.features.schedule({ environmentId: dev.id, featureId: feature.id, segmentId: segment.id, enabled: true, value: "for-segment", liveFrom: new Date(Date.now() + 60_000) });
    await getDb().update(scheduledChanges).set({ liveFrom: new Date() }).where(eq(scheduledChanges.id, change.id));

    // When it goes live
    expect(await applyScheduledChange(change.id)).toBe("applied");

    // Then the segment override exists with the scheduled values
    const overrides = await getDb().select().from(featureStates).where(and(eq(featureStates.featureId, feature.id), isNotNull(featureStates.segmentId)));
    expect(overrides.map((o) => [o.segmentId, o.enabled, o.value, o.priority])).toEqual([[segment.id, true, "for-segment", 0]]);
  });

  it("schedule__newSegmentOverrideOnMultivariateFeature__startsWithTheEnvironmentSplit", async () => {
    // Given a multivariate feature split 20/30 in Dev, and a value change scheduled for a segment without an override
    const { user, project, dev } = await setup();
    const feature = await user.caller.features.create({ projectId: project.id, name: "mv_sched", initialValue: "control", options: [{ value: "a", defaultPercentageAllocation: 20 }, { value: "b", defaultPercentageAllocation: 30 }] });
    const [segment] = await getDb().insert(segments).values({ projectId: project.id, name: "mv late", rules: [{ type: "ALL", conditions: [{ operator: "IS_SET", property: "x", value: null }], rules: [] }] }).returning();
    const change = await user.caller.features.schedule({ environmentId: dev.id, featureId: feature.id, segmentId: segment.id, enabled: true, liveFrom: new Date(Date.now() + 60_000) });
    await getDb().update(scheduledChanges).set({ liveFrom: new Date() }).where(eq(scheduledChanges.id, change.id));

    // When it goes live and creates the override
    expect(await applyScheduledChange(change.id)).toBe("applied");

    // Then the override carries the environment's split, as one created by hand does
    const [override] = await getDb().select().from(featureStates).where(and(eq(featureStates.featureId, feature.id), eq(featureStates.segmentId, segment.id)));
    const allocations = await getDb().select().from(multivariateStateValues).where(eq(multivariateStateValues.featureStateId, override.id)).orderBy(multivariateStateValues.id);
    expect(allocations.map((v) => v.percentageAllocation)).toEqual([20, 30]);
  });

  it("applyScheduledChange__allocationsNoLongerFit__failedAuditedNothingApplied", async () => {
    // Given a multivariate feature and a scheduled allocation that later edits make invalid
    const { user, dev, project } = await setup();
    const feature = await user.caller.features.create({ projectId: project.id, name: "mv", options: [{ value: "a", defaultPercentageAllocation: 10 }, { value: "b", defaultPercentageAllocation: 10 }] });
    const [a, b] = (await user.caller.features.get({ featureId: feature.id })).options;
    const change = await user.caller.features.schedule({ environmentId: dev.id, featureId: feature.id, enabled: true, allocations: [{ optionId: a.id, percentageAllocation: 60 }], liveFrom: new Date(Date.now() + 60_000) });
    await user.caller.features.updateState({ featureId: feature.id, environmentId: dev.id, allocations: [{ optionId: b.id, percentageAllocation: 50 }] });
    await getDb().update(scheduledChanges).set({ liveFrom: new Date() }).where(eq(scheduledChanges.id, change.id));

    // When it goes live
    const outcome = await applyScheduledChange(change.id);

    // Then it failed with the reason, nothing changed (not even the toggle), and the failure is audited
    expect(outcome).toBe("failed");
    const [row] = await getDb().select().from(scheduledChanges).where(eq(scheduledChanges.id, change.id));
    expect(row.status).toBe("FAILED");
    expect(row.error).toContain("more than 100%");
    const [state] = await user.caller.features.states({ featureId: feature.id });
    expect(state.enabled).toBe(false);
    const allocations = await getDb().select().from(multivariateStateValues).where(eq(multivariateStateValues.featureStateId, state.id));
    expect(allocations.map((v) => v.percentageAllocation).sort()).toEqual([10, 50]);
    const actions = (await getDb().select().from(auditLog).where(eq(auditLog.featureId, feature.id))).map((r) => r.action);
    expect(actions).toContain("scheduled_change.failed");
  });

  it("scheduleAndUpdateAllocations__multivariateFeature__summariesNameOptionsNotIds", async () => {
    // Given a multivariate feature with options a (keyed "first") and b, 10% each
    const { user, dev, project } = await setup();
    const feature = await user.caller.features.create({ projectId: project.id, name: "mv_named", options: [{ value: "a", key: "first", defaultPercentageAllocation: 10 }, { value: "b", defaultPercentageAllocation: 10 }] });
    const [a, b] = (await user.caller.features.get({ featureId: feature.id })).options;

    // When a to 60% is scheduled, then cancelled, and b is set to 50% now
    const change = await user.caller.features.schedule({ environmentId: dev.id, featureId: feature.id, allocations: [{ optionId: a.id, percentageAllocation: 60 }], liveFrom: new Date(Date.now() + 60_000) });
    await user.caller.features.cancelScheduled({ scheduledChangeId: change.id });
    await user.caller.features.updateState({ featureId: feature.id, environmentId: dev.id, allocations: [{ optionId: b.id, percentageAllocation: 50 }] });

    // Then each summary names the option (its key, else its value) and never its internal id
    const summaries = (await getDb().select().from(auditLog).where(eq(auditLog.featureId, feature.id)).orderBy(auditLog.id)).map((r) => r.summary);
    expect(summaries).toContainEqual(expect.stringMatching(/^Feature "mv_named": allocations "first" 60% scheduled for /));
    expect(summaries).toContain('Feature "mv_named": scheduled change (allocations "first" 60%) cancelled');
    expect(summaries).toContain('Feature "mv_named": allocations "b" 10% → 50%');
    expect(summaries.join("\n")).not.toMatch(/#\d/);
  });

  it("schedule__optionOfAnotherFeatureOrRepeated__badRequestNothingScheduledNoAudit", async () => {
    // Given two multivariate features
    const { user, dev, project } = await setup();
    const mine = await user.caller.features.create({ projectId: project.id, name: "mine", options: [{ value: "a", defaultPercentageAllocation: 10 }] });
    const theirs = await user.caller.features.create({ projectId: project.id, name: "theirs", options: [{ value: "b", defaultPercentageAllocation: 10 }] });
    const [own] = (await user.caller.features.get({ featureId: mine.id })).options;
    const [foreign] = (await user.caller.features.get({ featureId: theirs.id })).options;
    const audited = (await getDb().select().from(auditLog).where(eq(auditLog.projectId, project.id))).length;
    const schedule = (allocations: { optionId: number; percentageAllocation: number }[]) =>
      user.caller.features.schedule({ environmentId: dev.id, featureId: mine.id, allocations, liveFrom: new Date(Date.now() + 60_000) });

    // When allocations of the other feature's option, or of one option twice, are scheduled
    const foreignError = await expectTrpcError(schedule([{ optionId: foreign.id, percentageAllocation: 5 }]), "BAD_REQUEST");
    const repeatedError = await expectTrpcError(
      schedule([
        { optionId: own.id, percentageAllocation: 5 },
        { optionId: own.id, percentageAllocation: 5 },
      ]),
      "BAD_REQUEST",
    );

    // Then both are refused at once (not when they would go live), and nothing was scheduled or audited
    expect(foreignError.message).toBe("Unknown multivariate option for this feature");
    expect(repeatedError.message).toBe("Each option can be allocated once");
    expect(await user.caller.features.scheduled({ environmentId: dev.id })).toEqual([]);
    expect(await getDb().select().from(auditLog).where(eq(auditLog.projectId, project.id))).toHaveLength(audited);
  });

  it("schedule__pastTimeOrNoChange__badRequest", async () => {
    // Given a feature
    const { user, dev, feature } = await setup();

    // When scheduling in the past, or scheduling nothing
    await expectTrpcError(user.caller.features.schedule({ environmentId: dev.id, featureId: feature.id, enabled: true, liveFrom: new Date(Date.now() - 1000) }), "BAD_REQUEST");
    await expectTrpcError(user.caller.features.schedule({ environmentId: dev.id, featureId: feature.id, liveFrom: new Date(Date.now() + 60_000) }), "BAD_REQUEST");

    // Then nothing is scheduled
    expect(await user.caller.features.scheduled({ environmentId: dev.id })).toEqual([]);
  });
});

describe("audit log", () => {
  it("auditList__projectAndEnvironmentFiltersAndPages__newestFirst", async () => {
    // Given a project with changes in two environments
    const user = await signUpUser();
    const { project, environments: [dev, prod] } = await projectWithEnvironments(user);
    const feature = await user.caller.features.create({ projectId: project.id, name: "paged" });
    for (let i = 0; i < 3; i++) await user.caller.features.updateState({ featureId: feature.id, environmentId: dev.id, value: `dev-${i}` });
    await user.caller.features.updateState({ featureId: feature.id, environmentId: prod.id, value: "prod" });

    // When reading the environment log in pages of 2, and the project log filtered by action
    const page1 = await user.caller.audit.list({ projectId: project.id, environmentId: dev.id, action: "feature_state", limit: 2 });
    const page2 = await user.caller.audit.list({ projectId: project.id, environmentId: dev.id, action: "feature_state", limit: 2, cursor: page1.nextCursor! });
    const project_ = await user.caller.audit.list({ projectId: project.id, action: "feature_state", limit: 50 });
    const searched = await user.caller.audit.list({ projectId: project.id, search: "dev-1", limit: 50 });

    // Then pages are newest first without overlap, and filters apply
    expect(page1.items.map((r) => r.summary)).toEqual(['Feature "paged": value "dev-1" → "dev-2"', 'Feature "paged": value "dev-0" → "dev-1"']);
    expect(page2.items.map((r) => r.summary)).toEqual(['Feature "paged": value none → "dev-0"']);
    expect(page2.nextCursor).toBeNull();
    expect(project_.items).toHaveLength(4);
    expect(searched.items).toHaveLength(2);
  });
});
