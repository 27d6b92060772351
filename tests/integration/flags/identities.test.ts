import { and, asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { auditLog, environments, featureStates, identities, traits } from "../../../src/server/db/schema";
import { deleteTraits, getOrCreateIdentity, loadTraits, upsertTraits } from "../../../src/server/identities/service";
import { captureLogs, expectTrpcError, projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { commitOnceBlocked, failAuditOf, openTransaction, postAs } from "./helpers";

type Revisions = Map<number, number>;

async function revisions(projectId: number): Promise<Revisions> {
  const rows = await getDb().select().from(environments).where(eq(environments.projectId, projectId)).orderBy(asc(environments.id));
  return new Map(rows.map((r) => [r.id, r.revision]));
}

async function auditRows(organisationId: number) {
  return getDb().select().from(auditLog).where(eq(auditLog.organisationId, organisationId)).orderBy(asc(auditLog.id));
}

async function auditActions(organisationId: number): Promise<string[]> {
  return (await auditRows(organisationId)).map((r) => r.action);
}

/** A project (Development, Production) with a feature. */
async function setup(user: TestUser) {
  const { project, environments: [dev, prod] } = await projectWithEnvironments(user, ["Development", "Production"]);
  const feature = await user.caller.features.create({ projectId: project.id, name: "new_checkout", initialValue: "old" });
  return { project, dev, prod, feature };
}

describe("identities", () => {
  it("identityLifecycle__createListGetDelete__auditedWithoutDocumentWrites", async () => {
    // Given an environment
    const user = await signUpUser();
    const { project, prod } = await setup(user);
    const before = await revisions(project.id);

    // When two identities are created, listed, one read and then deleted
    const alice = await user.caller.identities.create({ environmentId: prod.id, identifier: "alice@example.com" });
    await user.caller.identities.create({ environmentId: prod.id, identifier: "bob@example.com" });
    const listed = await user.caller.identities.list({ environmentId: prod.id });
    const fetched = await user.caller.identities.get({ identityId: alice.id });
    await user.caller.identities.delete({ identityId: alice.id });

    // Then each step took effect and was audited, and no document changed (identities alone are not served)
    expect(listed.items.map((i) => i.identifier)).toEqual(["alice@example.com", "bob@example.com"]);
    expect(listed.nextCursor).toBeNull();
    expect(fetched).toMatchObject({ id: alice.id, identifier: "alice@example.com", environmentId: prod.id, traits: [], overrides: [] });
    await expectTrpcError(user.caller.identities.get({ identityId: alice.id }), "NOT_FOUND");
    const rows = (await auditRows(user.organisationId)).filter((r) => r.resourceType === "identity");
    expect(rows.map((r) => [r.action, r.environmentId, r.projectId])).toEqual([
      ["identity.created", prod.id, project.id],
      ["identity.created", prod.id, project.id],
      ["identity.deleted", prod.id, project.id],
    ]);
    expect(await revisions(project.id)).toEqual(before);
  });

  it("ensureIdentity__existingNewAndConcurrent__exactMatchOrOneCreatedAndAudited", async () => {
    // Given an environment where many identifiers contain "user-1" and sort before it
    const user = await signUpUser();
    const { prod } = await setup(user);
    const existing = await user.caller.identities.create({ environmentId: prod.id, identifier: "user-1" });
    for (const prefix of ["a", "b", "c"]) await user.caller.identities.create({ environmentId: prod.id, identifier: `${prefix}-user-1` });

    // When identities are ensured by identifier: an existing one, and a new one twice at the same time
    const found = await user.caller.identities.ensure({ environmentId: prod.id, identifier: "user-1" });
    const [first, second] = await Promise.all([
      user.caller.identities.ensure({ environmentId: prod.id, identifier: "new-user" }),
      user.caller.identities.ensure({ environmentId: prod.id, identifier: "new-user" }),
    ]);

    // Then the exact match is returned unchanged, and the new identity is created once and audited once
    expect(found.id).toBe(existing.id);
    expect(first.id).toBe(second.id);
    expect(first.identifier).toBe("new-user");
    const created = (await auditRows(user.organisationId)).filter((r) => r.action === "identity.created" && r.resourceId === String(first.id));
    expect(created).toHaveLength(1);
    await expectTrpcError(user.caller.identities.ensure({ environmentId: prod.id, identifier: "  " }), "BAD_REQUEST");
  });

  it("createIdentity__duplicateBlankOrTooLong__fieldErrorOnIdentifierNothingWritten", async () => {
    // Given an identity "user-1" in Production (and none in Development)
    const user = await signUpUser();
    const { dev, prod } = await setup(user);
    await user.caller.identities.create({ environmentId: prod.id, identifier: "user-1" });
    const audit = await auditActions(user.organisationId);

    // When "user-1" is created again, a blank and an over-long identifier are tried, and "user-1" in Development
    const duplicate = await postAs(user, "identities.create", { environmentId: prod.id, identifier: "user-1" });
    const blank = await postAs(user, "identities.create", { environmentId: prod.id, identifier: "   " });
    const long = await postAs(user, "identities.create", { environmentId: prod.id, identifier: "x".repeat(2001) });
    const audited = await auditActions(user.organisationId);
    const otherEnvironment = await user.caller.identities.create({ environmentId: dev.id, identifier: "user-1" });

    // Then the duplicate is a conflict, blank and long are bad input, all on `identifier`, and nothing was written;
    // the same identifier is fine in another environment
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error?.data.fieldErrors).toEqual({ identifier: "An identity with this identifier already exists in this environment" });
    expect(blank.status).toBe(400);
    expect(blank.body.error?.data.fieldErrors).toEqual({ identifier: "Identifier is required" });
    expect(long.status).toBe(400);
    expect(Object.keys(long.body.error?.data.fieldErrors ?? {})).toEqual(["identifier"]);
    expect((await user.caller.identities.list({ environmentId: prod.id })).items).toHaveLength(1);
    expect(audited).toEqual(audit);
    expect(otherEnvironment.environmentId).toBe(dev.id);
  });

  it("listIdentities__searchAndKeysetPages__everyMatchOnceInOrder", async () => {
    // Given identities user-01 … user-07 and admin-1
    const user = await signUpUser();
    const { prod } = await setup(user);
    for (const identifier of ["user-03", "user-01", "admin-1", "user-07", "user-02", "user-05", "user-04", "user-06"]) {
      await user.caller.identities.create({ environmentId: prod.id, identifier });
    }

    // When the list is read 3 at a time, and searched by substring and prefix (any case, `_`/`%` literal)
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await user.caller.identities.list({ environmentId: prod.id, limit: 3, cursor });
      pages.push(page.items.map((i) => i.identifier));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const substring = await user.caller.identities.list({ environmentId: prod.id, search: "R-0" });
    const prefix = await user.caller.identities.list({ environmentId: prod.id, search: "adm" });
    const wildcard = await user.caller.identities.list({ environmentId: prod.id, search: "_" });

    // Then pages cover every identity once in identifier order, and search matches case-insensitively
    expect(pages).toEqual([
      ["admin-1", "user-01", "user-02"],
      ["user-03", "user-04", "user-05"],
      ["user-06", "user-07"],
    ]);
    expect(substring.items).toHaveLength(7);
    expect(prefix.items.map((i) => i.identifier)).toEqual(["admin-1"]);
    expect(wildcard.items).toEqual([]);
  });

  it("traits__setTypedUpdateRemove__storedTypedAndAuditedWithoutDocumentWrites", async () => {
    // Given an identity
    const user = await signUpUser();
    const { project, prod } = await setup(user);
    const identity = await user.caller.identities.create({ environmentId: prod.id, identifier: "traits-user" });
    const before = await revisions(project.id);

    // When traits of each type are set, one is changed, one set to null and one deleted
    await user.caller.identities.setTrait({ identityId: identity.id, key: "plan", value: "pro" });
    await user.caller.identities.setTrait({ identityId: identity.id, key: "age", value: 41 });
    await user.caller.identities.setTrait({ identityId: identity.id, key: "score", value: 2.5 });
    await user.caller.identities.setTrait({ identityId: identity.id, key: "beta", value: true });
    await user.caller.identities.setTrait({ identityId: identity.id, key: "age", value: 42 });
    const afterSets = await user.caller.identities.get({ identityId: identity.id });
    await user.caller.identities.setTrait({ identityId: identity.id, key: "beta", value: null });
    await user.caller.identities.deleteTrait({ identityId: identity.id, key: "score" });
    const remaining = await user.caller.identities.get({ identityId: identity.id });

    // Then values keep their types, null removes, every change is audited with before/after, and no document changed
    expect(afterSets.traits).toEqual([
      { key: "age", value: 42, type: "int" },
      { key: "beta", value: true, type: "bool" },
      { key: "plan", value: "pro", type: "unicode" },
      { key: "score", value: 2.5, type: "float" },
    ]);
    expect(remaining.traits.map((t) => t.key)).toEqual(["age", "plan"]);
    const rows = (await auditRows(user.organisationId)).filter((r) => r.resourceType === "trait");
    expect(rows.map((r) => r.action)).toEqual(["trait.updated", "trait.updated", "trait.updated", "trait.updated", "trait.updated", "trait.deleted", "trait.deleted"]);
    expect(rows[4].before).toEqual({ key: "age", value: 41 });
    expect(rows[4].after).toEqual({ key: "age", value: 42 });
    expect(rows[4].summary).toBe('Identity "traits-user": trait "age" 41 → 42');
    expect(rows[5].before).toEqual({ key: "beta", value: true });
    expect(rows.every((r) => r.environmentId === prod.id)).toBe(true);
    expect(await revisions(project.id)).toEqual(before);
  });

  it("traits__badKeyValueOrMissingTrait__typedErrorsNothingWritten", async () => {
    // Given an identity with a trait
    const user = await signUpUser();
    const { prod } = await setup(user);
    const identity = await user.caller.identities.create({ environmentId: prod.id, identifier: "t" });
    await user.caller.identities.setTrait({ identityId: identity.id, key: "plan", value: "pro" });
    const audit = await auditActions(user.organisationId);

    // When a too-long key, a blank key, an object value and a missing trait's deletion are tried
    const longKey = await postAs(user, "identities.setTrait", { identityId: identity.id, key: "k".repeat(201), value: "x" });
    const blankKey = await postAs(user, "identities.setTrait", { identityId: identity.id, key: " ", value: "x" });
    const objectValue = await postAs(user, "identities.setTrait", { identityId: identity.id, key: "plan", value: { nested: true } });
    const missing = user.caller.identities.deleteTrait({ identityId: identity.id, key: "nope" });

    // Then each is a typed error with its field, and nothing was written or audited
    expect([longKey.status, blankKey.status, objectValue.status]).toEqual([400, 400, 400]);
    expect(Object.keys(longKey.body.error?.data.fieldErrors ?? {})).toEqual(["key"]);
    expect(Object.keys(blankKey.body.error?.data.fieldErrors ?? {})).toEqual(["key"]);
    expect(Object.keys(objectValue.body.error?.data.fieldErrors ?? {})).toEqual(["value"]);
    await expectTrpcError(missing, "NOT_FOUND");
    expect((await user.caller.identities.get({ identityId: identity.id })).traits).toEqual([{ key: "plan", value: "pro", type: "unicode" }]);
    expect(await auditActions(user.organisationId)).toEqual(audit);
  });

  it("identityOverrides__createListUpdateDelete__auditedAndIdentityEnvironmentBumped", async () => {
    // Given a feature and an identity in Production
    const user = await signUpUser();
    const { project, dev, prod, feature } = await setup(user);
    const identity = await user.caller.identities.create({ environmentId: prod.id, identifier: "vip" });
    const before = await revisions(project.id);

    // When the feature is overridden for the identity, read back three ways, updated and deleted
    const created = await user.caller.identities.createOverride({ identityId: identity.id, featureId: feature.id, enabled: true, value: "new" });
    const afterCreate = await revisions(project.id);
    const own = await user.caller.identities.listOverrides({ identityId: identity.id });
    const forFeature = await user.caller.identities.overridesForFeature({ featureId: feature.id, environmentId: prod.id });
    const inDev = await user.caller.identities.overridesForFeature({ featureId: feature.id, environmentId: dev.id });
    const fetched = await user.caller.identities.get({ identityId: identity.id });
    const updated = await user.caller.identities.updateOverride({ featureStateId: created.id, value: 3 });
    const afterUpdate = await revisions(project.id);
    await user.caller.identities.deleteOverride({ featureStateId: created.id });
    const afterDelete = await revisions(project.id);

    // Then the override is visible everywhere, each step bumped Production only, and each was audited with its ids
    expect(created).toMatchObject({ identityId: identity.id, featureId: feature.id, featureName: "new_checkout", environmentId: prod.id, enabled: true, value: "new" });
    expect(own).toEqual([created]);
    expect(forFeature.items).toEqual([{ ...created, identifier: "vip" }]);
    expect(inDev.items).toEqual([]);
    expect(fetched.overrides).toEqual([created]);
    expect(updated).toMatchObject({ id: created.id, enabled: true, value: 3 });
    expect(await user.caller.identities.listOverrides({ identityId: identity.id })).toEqual([]);
    for (const [was, now] of [
      [before, afterCreate],
      [afterCreate, afterUpdate],
      [afterUpdate, afterDelete],
    ]) {
      expect(now.get(prod.id)).toBe(was.get(prod.id)! + 1);
      expect(now.get(dev.id)).toBe(was.get(dev.id));
    }
    const rows = (await auditRows(user.organisationId)).filter((r) => r.resourceType === "identity_override");
    expect(rows.map((r) => [r.action, r.featureId, r.environmentId, r.projectId, r.resourceId])).toEqual([
      ["identity_override.created", feature.id, prod.id, project.id, String(created.id)],
      ["identity_override.updated", feature.id, prod.id, project.id, String(created.id)],
      ["identity_override.deleted", feature.id, prod.id, project.id, String(created.id)],
    ]);
    expect(rows[1].before).toEqual({ enabled: true, value: "new" });
    expect(rows[1].after).toEqual({ enabled: true, value: 3 });
  });

  it("createOverride__duplicateWrongTypeOrOtherProjectFeature__typedErrorNothingWritten", async () => {
    // Given an identity overriding the feature, and a feature of another project of the same organisation
    const user = await signUpUser();
    const { project, prod, feature } = await setup(user);
    const identity = await user.caller.identities.create({ environmentId: prod.id, identifier: "vip" });
    await user.caller.identities.createOverride({ identityId: identity.id, featureId: feature.id, enabled: true, value: "x" });
    const { project: otherProject } = await projectWithEnvironments(user, ["Production"]);
    const otherFeature = await user.caller.features.create({ projectId: otherProject.id, name: "elsewhere" });
    const audit = await auditActions(user.organisationId);
    const before = await revisions(project.id);

    // When a second override, a float value and the other project's feature are tried
    const duplicate = await postAs(user, "identities.createOverride", { identityId: identity.id, featureId: feature.id, enabled: false, value: "y" });
    const float = await postAs(user, "identities.createOverride", { identityId: identity.id, featureId: feature.id, enabled: false, value: 0.5 });
    const foreign = user.caller.identities.createOverride({ identityId: identity.id, featureId: otherFeature.id, enabled: true, value: null });

    // Then: conflict on featureId, bad input on value, not found — and nothing written, audited or bumped
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error?.data.fieldErrors).toEqual({ featureId: "This identity already overrides this feature" });
    expect(float.status).toBe(400);
    expect(Object.keys(float.body.error?.data.fieldErrors ?? {})).toEqual(["value"]);
    await expectTrpcError(foreign, "NOT_FOUND");
    expect(await getDb().select().from(featureStates).where(eq(featureStates.identityId, identity.id))).toHaveLength(1);
    expect(await auditActions(user.organisationId)).toEqual(audit);
    expect(await revisions(project.id)).toEqual(before);
  });

  it("overrideProcedures__stateThatIsNotAnIdentityOverride__notFound", async () => {
    // Given the feature's default state and a segment override
    const user = await signUpUser();
    const { project, prod, feature } = await setup(user);
    const segment = await user.caller.segments.create({ projectId: project.id, name: "S", rules: [{ type: "ALL", conditions: [{ operator: "IS_SET", property: "a" }], rules: [] }] });
    const segmentOverride = await user.caller.segmentOverrides.create({ featureId: feature.id, environmentId: prod.id, segmentId: segment.id, enabled: true, value: null });
    const [defaultState] = (await user.caller.features.states({ featureId: feature.id })).filter((s) => s.environmentId === prod.id);

    // When they are addressed as identity overrides
    // Then they are not found, and unchanged
    for (const featureStateId of [defaultState.id, segmentOverride.id]) {
      await expectTrpcError(user.caller.identities.updateOverride({ featureStateId, enabled: true, value: "hijacked" }), "NOT_FOUND");
      await expectTrpcError(user.caller.identities.deleteOverride({ featureStateId }), "NOT_FOUND");
    }
    expect(await getDb().select().from(featureStates).where(and(eq(featureStates.featureId, feature.id), eq(featureStates.value, "hijacked")))).toEqual([]);
  });

  it("createOverride__auditFailsAfterInsert__noOverrideNoBump", async () => {
    // Given an identity, and an audit log that refuses identity_override.created
    const user = await signUpUser();
    const { project, prod, feature } = await setup(user);
    const identity = await user.caller.identities.create({ environmentId: prod.id, identifier: "vip" });
    const before = await revisions(project.id);
    const audit = await auditActions(user.organisationId);

    // When the override is created (the state row is written, then the audit row fails)
    const call = failAuditOf("identity_override.created", () => user.caller.identities.createOverride({ identityId: identity.id, featureId: feature.id, enabled: true, value: "x" }));

    // Then nothing remains: no state, no audit row, no document bump
    await expectTrpcError(call, "INTERNAL_SERVER_ERROR");
    expect(await getDb().select().from(featureStates).where(eq(featureStates.identityId, identity.id))).toEqual([]);
    expect(await auditActions(user.organisationId)).toEqual(audit);
    expect(await revisions(project.id)).toEqual(before);
  });

  it("createOverride__identityDeletedConcurrently__waitsThenNotFoundNothingWritten", async () => {
    // Given an identity, and another connection deleting it in an open transaction
    const user = await signUpUser();
    const { project, prod, feature } = await setup(user);
    const identity = await user.caller.identities.create({ environmentId: prod.id, identifier: "leaving" });
    const audit = await auditActions(user.organisationId);
    const before = await revisions(project.id);
    const other = await openTransaction();
    await other.query("delete from identities where id = $1", [identity.id]);

    // When an override is created for it meanwhile, and the deletion commits once the creation waits for it
    const creating = commitOnceBlocked(other, user.caller.identities.createOverride({ identityId: identity.id, featureId: feature.id, enabled: true, value: "x" }));

    // Then the creation is a plain NOT_FOUND (not a foreign-key failure), and nothing was written, audited or bumped
    await expectTrpcError(creating, "NOT_FOUND");
    expect(await getDb().select().from(featureStates).where(eq(featureStates.identityId, identity.id))).toEqual([]);
    expect(await auditActions(user.organisationId)).toEqual(audit);
    expect(await revisions(project.id)).toEqual(before);
  });

  it("deleteIdentity__withAndWithoutOverrides__documentBumpedOnlyWhenItHadOverrides", async () => {
    // Given two identities in Production, one overriding the feature (with traits)
    const user = await signUpUser();
    const { project, prod, feature } = await setup(user);
    const plain = await user.caller.identities.create({ environmentId: prod.id, identifier: "plain" });
    const vip = await user.caller.identities.create({ environmentId: prod.id, identifier: "vip" });
    await user.caller.identities.setTrait({ identityId: vip.id, key: "plan", value: "gold" });
    await user.caller.identities.createOverride({ identityId: vip.id, featureId: feature.id, enabled: true, value: "x" });
    const before = await revisions(project.id);

    // When both are deleted
    await user.caller.identities.delete({ identityId: plain.id });
    const afterPlain = await revisions(project.id);
    await user.caller.identities.delete({ identityId: vip.id });
    const afterVip = await revisions(project.id);

    // Then only the one with an override changed the document, and its traits and override are gone
    expect(afterPlain).toEqual(before);
    expect(afterVip.get(prod.id)).toBe(before.get(prod.id)! + 1);
    expect(await getDb().select().from(traits).where(eq(traits.identityId, vip.id))).toEqual([]);
    expect(await getDb().select().from(featureStates).where(eq(featureStates.identityId, vip.id))).toEqual([]);
    const [row] = (await auditRows(user.organisationId)).filter((r) => r.action === "identity.deleted" && r.resourceId === String(vip.id));
    expect(row.summary).toBe('Identity "vip" deleted from "Production" with its 1 override');
  });

  it("storeFunctions__sdkWrites__identityCreatedOnceTraitsUpsertedNoAudit", async () => {
    // Given an environment
    const user = await signUpUser();
    const { prod } = await setup(user);
    const audit = await auditActions(user.organisationId);

    // When the SDK path identifies the same user concurrently and writes traits
    const [first, second] = await Promise.all([getOrCreateIdentity(prod.id, "sdk-user"), getOrCreateIdentity(prod.id, "sdk-user")]);
    const again = await getOrCreateIdentity(prod.id, "sdk-user");
    await upsertTraits(first.id, [
      { key: "plan", value: "free" },
      { key: "age", value: 30 },
      { key: "plan", value: "pro" },
      { key: "gone", value: "soon" },
    ]);
    const afterInsert = await loadTraits(first.id);
    await upsertTraits(first.id, [
      { key: "age", value: 31 },
      { key: "gone", value: null },
    ]);
    const afterUpdate = await loadTraits(first.id);
    await deleteTraits(first.id, ["age", "missing"]);
    const afterDelete = await loadTraits(first.id);

    // Then there is one identity, traits follow the writes (last value wins, null deletes), and nothing was audited
    expect(second.id).toBe(first.id);
    expect(again.id).toBe(first.id);
    expect(await getDb().select().from(identities).where(eq(identities.environmentId, prod.id))).toHaveLength(1);
    expect(afterInsert).toEqual([
      { key: "age", value: 30 },
      { key: "gone", value: "soon" },
      { key: "plan", value: "pro" },
    ]);
    expect(afterUpdate).toEqual([
      { key: "age", value: 31 },
      { key: "plan", value: "pro" },
    ]);
    expect(afterDelete).toEqual([{ key: "plan", value: "pro" }]);
    expect(await auditActions(user.organisationId)).toEqual(audit);
  });

  it("identityMutations__everyKind__loggedWithIdsNeverIdentifiersOrTraitValues", async () => {
    // Given a feature and captured logs
    const user = await signUpUser();
    const { prod, feature } = await setup(user);
    const logs = captureLogs();

    try {
      // When an identity is created, given a trait and an override, and everything is removed
      const identity = await user.caller.identities.create({ environmentId: prod.id, identifier: "person@example.com" });
      await user.caller.identities.setTrait({ identityId: identity.id, key: "phone", value: "+33 6 12 34 56 78" });
      await user.caller.identities.deleteTrait({ identityId: identity.id, key: "phone" });
      const override = await user.caller.identities.createOverride({ identityId: identity.id, featureId: feature.id, enabled: true, value: null });
      await user.caller.identities.updateOverride({ featureStateId: override.id, enabled: false });
      await user.caller.identities.deleteOverride({ featureStateId: override.id });
      await user.caller.identities.delete({ identityId: identity.id });

      // Then each event names the identity (and feature/state), and no line carries the identifier or trait value
      for (const event of ["identity.created", "identity.deleted", "trait.updated", "trait.deleted"]) {
        expect(logs.events(event)[0], event).toMatchObject({ logger: "identities", "identity.id": identity.id, "environment.id": prod.id });
      }
      expect(logs.events("trait.updated")[0]).toMatchObject({ "trait.key": "phone" });
      for (const event of ["identity_override.created", "identity_override.updated", "identity_override.deleted"]) {
        expect(logs.events(event)[0], event).toMatchObject({ "identity.id": identity.id, "feature.id": feature.id, "feature_state.id": override.id, "environment.id": prod.id });
      }
      const text = JSON.stringify(logs.lines);
      expect(text).not.toContain("person@example.com");
      expect(text).not.toContain("12 34 56");
    } finally {
      logs.stop();
    }
  });

  it("foreignOrganisation__everyIdentityProcedure__notFoundAndNothingChanges", async () => {
    // Given Alice's identity with a trait and an override, and Bob with his own environment and identity
    const alice = await signUpUser();
    const bob = await signUpUser();
    const { project, prod, feature } = await setup(alice);
    const identity = await alice.caller.identities.create({ environmentId: prod.id, identifier: "alice-user" });
    await alice.caller.identities.setTrait({ identityId: identity.id, key: "plan", value: "pro" });
    const override = await alice.caller.identities.createOverride({ identityId: identity.id, featureId: feature.id, enabled: true, value: "x" });
    const { environments: [bobsEnv] } = await projectWithEnvironments(bob, ["Production"]);
    const bobsIdentity = await bob.caller.identities.create({ environmentId: bobsEnv.id, identifier: "bob-user" });
    const audit = await auditActions(alice.organisationId);
    const before = await revisions(project.id);

    // When Bob uses Alice's ids, alone or mixed with his own
    const calls: (() => Promise<unknown>)[] = [
      () => bob.caller.identities.list({ environmentId: prod.id }),
      () => bob.caller.identities.get({ identityId: identity.id }),
      () => bob.caller.identities.create({ environmentId: prod.id, identifier: "intruder" }),
      () => bob.caller.identities.ensure({ environmentId: prod.id, identifier: "alice-user" }),
      () => bob.caller.identities.delete({ identityId: identity.id }),
      () => bob.caller.identities.setTrait({ identityId: identity.id, key: "plan", value: "free" }),
      () => bob.caller.identities.deleteTrait({ identityId: identity.id, key: "plan" }),
      () => bob.caller.identities.listOverrides({ identityId: identity.id }),
      () => bob.caller.identities.overridesForFeature({ featureId: feature.id, environmentId: prod.id }),
      () => bob.caller.identities.overridesForFeature({ featureId: feature.id, environmentId: bobsEnv.id }),
      () => bob.caller.identities.createOverride({ identityId: bobsIdentity.id, featureId: feature.id, enabled: false, value: null }),
      () => bob.caller.identities.updateOverride({ featureStateId: override.id, enabled: false }),
      () => bob.caller.identities.deleteOverride({ featureStateId: override.id }),
    ];
    for (const call of calls) await expectTrpcError(call(), "NOT_FOUND");

    // Then Alice's identity, trait, override, audit log and documents are untouched
    const fetched = await alice.caller.identities.get({ identityId: identity.id });
    expect(fetched.traits).toEqual([{ key: "plan", value: "pro", type: "unicode" }]);
    expect(fetched.overrides).toEqual([expect.objectContaining({ id: override.id, enabled: true, value: "x" })]);
    expect(await auditActions(alice.organisationId)).toEqual(audit);
    expect(await revisions(project.id)).toEqual(before);
    expect((await bob.caller.identities.listOverrides({ identityId: bobsIdentity.id }))).toEqual([]);
  });
});
