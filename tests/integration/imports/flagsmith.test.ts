import { and, asc, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "../../../src/server/auth/principal";
import { sha256 } from "../../../src/server/auth/crypto";
import { getDb } from "../../../src/server/db/client";
import {
  auditLog,
  environmentApiKeys,
  environments,
  featureStates,
  features,
  identities,
  multivariateOptions,
  multivariateStateValues,
  segments,
} from "../../../src/server/db/schema";
import { buildEnvironmentDocument } from "../../../src/server/documents/build";
import { DomainError } from "../../../src/server/errors";
import { importFlagsmithEnvironment, type ImportProgress } from "../../../src/server/imports/flagsmith";
import {
  clone,
  evaluate,
  generateDocument,
  generateIdentities,
  legacyFile,
  normaliseDocument,
  randomApiKey,
  type TestIdentity,
} from "../../support/flagsmith-documents";
import { joinOrganisation, expectTrpcError, projectWithEnvironments, signUpUser, type TestUser } from "../support/fixtures";
import { countImportRows } from "./tables";
import { postAs } from "../flags/helpers";

const countRows = countImportRows;

async function rebuilt(environmentId: number) {
  return (await buildEnvironmentDocument(getDb(), environmentId)).document;
}

/** Asserts that the engine gives every identity the same flags and segments on both documents. */
function expectSameEvaluation(original: unknown, rebuiltDocument: unknown, identities: TestIdentity[]): void {
  let variants = 0;
  let targeted = 0;
  for (const identity of identities) {
    const expected = evaluate(original, identity);
    const actual = evaluate(rebuiltDocument, identity);
    expect(actual, `identity ${identity.identifier} ${JSON.stringify(identity.traits)}`).toEqual(expected);
    variants += expected.flags.filter((f) => f.reason.startsWith("SPLIT")).length;
    targeted += expected.flags.filter((f) => f.reason.startsWith("TARGETING_MATCH")).length;
  }
  // The sample really exercises buckets and overrides.
  expect(variants).toBeGreaterThan(0);
  expect(targeted).toBeGreaterThan(0);
}

async function importAs(user: TestUser, document: unknown, target: { projectId?: number; projectName?: string } = {}, options = {}) {
  return importFlagsmithEnvironment(SYSTEM_ACTOR, document, { organisationId: user.organisationId, ...target }, options);
}

async function expectDomainError(promise: Promise<unknown>, code: DomainError["code"]): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code, (error as Error).message).toBe(code);
    return error as DomainError;
  }
  throw new Error(`expected ${code}, but the import succeeded`);
}

describe("importFlagsmithEnvironment", () => {
  it("importFlagsmith__legacyDocument__rebuiltEvaluatesLikeOriginal", async () => {
    // Given the engine test data's legacy file and its 101 identities (with traits)
    const user = await signUpUser();
    const file = legacyFile();
    const identitiesToTry: TestIdentity[] = file.identities_and_responses.map(({ identity }) => ({
      identifier: identity.identifier,
      traits: Object.fromEntries(identity.identity_traits.map((t) => [t.trait_key, t.trait_value])),
    }));
    identitiesToTry.push(...generateIdentities(200, 7).map((i) => ({ ...i, traits: { ...i.traits, two: "2", three: 3, favourite_colour: "blue" } })));

    // When the (wrapped) file is imported and the environment's document is rebuilt
    const result = await importAs(user, file);
    const document = await rebuilt(result.environmentId);

    // Then the client key is kept, the structure round-trips, and every identity evaluates the same
    expect(result.environmentKey).toBe("n9fbf9h3v4fFgH3U3ngWhb");
    expect(document.api_key).toBe("n9fbf9h3v4fFgH3U3ngWhb");
    expect(normaliseDocument(document)).toEqual(normaliseDocument(file.environment));
    expectSameEvaluation(file.environment, document, identitiesToTry);
  });

  it("importFlagsmith__generatedDocument__roundTripsAndEvaluatesLikeOriginal", async () => {
    // Given a document with every operator, MV allocations in shuffled id order, prioritised segment
    // overrides (one with its own allocations) and identity overrides
    const user = await signUpUser();
    const original = generateDocument();

    // When it is imported and rebuilt
    const result = await importAs(user, original);
    const document = await rebuilt(result.environmentId);

    // Then the rebuilt document is structurally the original (ids of segments, seeds, priorities, variant order,
    // values) and evaluates identically for 600 identities, overridden ones included
    expect(normaliseDocument(document)).toEqual(normaliseDocument(original));
    expect(document.name).toBe("Development");
    expect(document.project.segments.map((s) => s.id)).toEqual(Array.from({ length: 11 }, (_, i) => 301 + i));
    expectSameEvaluation(original, document, generateIdentities(600, 11, { overrides: 25 }));
  });

  it("importFlagsmith__generatedDocument__keepsKeysSeedsSegmentIdsAndVariantOrder", async () => {
    // Given a generated document
    const user = await signUpUser();
    const original = generateDocument({ serverKeyOnlyFeatureIds: [107] });

    // When it is imported
    const result = await importAs(user, original);

    // Then the environment has the document's key and settings, a working server key, and an audit row
    const [environment] = await getDb().select().from(environments).where(eq(environments.id, result.environmentId));
    expect(environment).toMatchObject({ apiKey: original.api_key, name: "Development", isCreating: false, useIdentityCompositeKeyForHashing: true });
    expect(result.serverKey).toMatch(/^ser\./);
    const keys = await getDb().select().from(environmentApiKeys).where(eq(environmentApiKeys.environmentId, result.environmentId));
    expect(keys.map((k) => k.keyHash)).toEqual([sha256(result.serverKey)]);
    const audit = await getDb().select().from(auditLog).where(eq(auditLog.environmentId, result.environmentId)).orderBy(asc(auditLog.id));
    expect(audit.map((a) => a.action)).toEqual(["environment.imported", "server_key.created"]);
    expect(audit[0].actorLabel).toBe("system");

    // And the segments keep their Flagsmith ids, the states their seeds, the MV rows the document's order
    const rows = await getDb().select().from(segments).where(eq(segments.projectId, result.projectId)).orderBy(asc(segments.documentId));
    expect(rows.map((s) => s.documentId)).toEqual(Array.from({ length: 11 }, (_, i) => 301 + i));
    const [checkout] = await getDb().select().from(features).where(and(eq(features.name, "checkout_flow"), eq(features.projectId, result.projectId)));
    expect(checkout.type).toBe("MULTIVARIATE");
    const [defaultState] = await getDb()
      .select()
      .from(featureStates)
      .where(sql`${featureStates.featureId} = ${checkout.id} and ${featureStates.segmentId} is null and ${featureStates.identityId} is null`);
    expect(defaultState.hashingSeed).toBe(5005);
    const allocations = await getDb()
      .select({ value: multivariateOptions.value, allocation: multivariateStateValues.percentageAllocation })
      .from(multivariateStateValues)
      .innerJoin(multivariateOptions, eq(multivariateOptions.id, multivariateStateValues.optionId))
      .where(eq(multivariateStateValues.featureStateId, defaultState.id))
      .orderBy(asc(multivariateStateValues.id));
    expect(allocations).toEqual([
      { value: "variant_a", allocation: 23.75 },
      { value: 42, allocation: 31 },
      { value: "variant_c", allocation: 12.5 },
    ]);
    const options = await getDb().select().from(multivariateOptions).where(eq(multivariateOptions.featureId, checkout.id)).orderBy(asc(multivariateOptions.id));
    expect(options.map((o) => [o.value, o.key, o.defaultPercentageAllocation])).toEqual([
      ["variant_a", "a", 23.75],
      [42, null, 31],
      ["variant_c", "c", 12.5],
    ]);
    const [legacy] = await getDb().select().from(features).where(and(eq(features.name, "legacy_feature"), eq(features.projectId, result.projectId)));
    expect(legacy.isServerKeyOnly).toBe(true);
    const overridden = await getDb().select().from(identities).where(eq(identities.environmentId, result.environmentId)).orderBy(asc(identities.djangoId));
    expect(overridden).toHaveLength(25);
    expect(overridden[3]).toMatchObject({ identifier: "override-user-3", djangoId: 500003 });

    // And the document write is queued for this environment at its new revision
    const jobs = await getDb().execute<{ payload: { environmentId: number; revision: number } }>(
      sql`select payload from graphile_worker._private_jobs where key = ${`environment_document:${result.environmentId}`}`,
    );
    expect(jobs.rows[0].payload).toMatchObject({ environmentId: result.environmentId, revision: environment.revision });
  });

  it("importFlagsmith__invalidDocument__badInputWithPathAndNoRowsWritten", async () => {
    // Given a user, the row counts, and a document with a bad rule type in its third segment
    const user = await signUpUser();
    const document = clone(generateDocument()) as ReturnType<typeof generateDocument> & { project: { segments: { rules: { type: string }[] }[] } };
    document.project.segments[2].rules[0].type = "SOMETIMES";
    const before = await countRows();

    // When it is imported
    const error = await expectDomainError(importAs(user, document), "BAD_REQUEST");

    // Then the error names the path, and nothing was written
    expect(error.message).toBe("$.project.segments[2].rules[0].type: expected ALL, ANY or NONE");
    expect(error.field).toBe("document");
    expect(await countRows()).toEqual(before);
  });

  it("importFlagsmith__conflictAfterFeaturesWereWritten__nothingLeftBehind", async () => {
    // Given a project that already has a segment called "premium" (the document's second segment), so the
    // import fails after creating the project's features inside its transaction
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Production"]);
    await user.caller.segments.create({ projectId: project.id, name: "Premium", rules: [{ type: "ALL", conditions: [{ operator: "IS_SET", property: "x" }], rules: [] }] });
    const before = await countRows();

    // When a document is imported into that project
    const error = await expectDomainError(importAs(user, generateDocument(), { projectId: project.id }), "CONFLICT");

    // Then it is a conflict naming the segment, and no row of the attempt survives
    expect(error.message).toMatch(/^\$\.project\.segments\[1\]\.name: another segment of this project is called "Premium"/);
    expect(await countRows()).toEqual(before);
  });

  it("importFlagsmith__existingClientKey__conflictAndNothingWritten", async () => {
    // Given an imported document
    const user = await signUpUser();
    const document = generateDocument();
    await importAs(user, document);
    const before = await countRows();

    // When a document with the same api_key is imported again (into another project)
    const error = await expectDomainError(importAs(user, { ...clone(document), name: "Other" }, { projectName: "Elsewhere" }), "CONFLICT");

    // Then the key conflict is reported, and nothing was written
    expect(error.message).toMatch(/^\$\.api_key: an environment with the client key "[^"]+" already exists/);
    expect(await countRows()).toEqual(before);
  });

  it("importFlagsmith__secondEnvironmentOfSameProject__reusesSegmentsAndFeatures", async () => {
    // Given an imported "Development" environment of a Flagsmith project
    const user = await signUpUser();
    const first = generateDocument({ projectName: "Shop" });
    const firstResult = await importAs(user, first);
    const [firstEnvironment] = await getDb().select().from(environments).where(eq(environments.id, firstResult.environmentId));
    const segmentCount = (await getDb().select().from(segments).where(eq(segments.projectId, firstResult.projectId))).length;
    const featureCount = (await getDb().select().from(features).where(eq(features.projectId, firstResult.projectId))).length;

    // When a second environment of the same project (same segments, same name, another key) is imported
    const second = generateDocument({ projectName: "Shop", identityOverrides: 3 });
    const secondResult = await importAs(user, second);

    // Then it lands in the same project, reusing segments and features, with a suffixed name
    expect(secondResult.projectId).toBe(firstResult.projectId);
    expect(secondResult.projectCreated).toBe(false);
    expect(secondResult.environmentName).toBe("Development (2)");
    expect(secondResult.counts).toMatchObject({ featuresCreated: 0, segmentsCreated: 0 });
    expect(await getDb().select().from(segments).where(eq(segments.projectId, firstResult.projectId))).toHaveLength(segmentCount);
    expect(await getDb().select().from(features).where(eq(features.projectId, firstResult.projectId))).toHaveLength(featureCount);
    // … nothing project-wide changed, so the first environment was not rewritten
    const [firstAfter] = await getDb().select().from(environments).where(eq(environments.id, firstResult.environmentId));
    expect(firstAfter.revision).toBe(firstEnvironment.revision);
    // … and both environments evaluate like their documents
    expectSameEvaluation(second, await rebuilt(secondResult.environmentId), generateIdentities(150, 5, { overrides: 3 }));
    expectSameEvaluation(first, await rebuilt(firstResult.environmentId), generateIdentities(150, 6, { overrides: 25 }));
  });

  it("importFlagsmith__segmentIdWithOtherRules__conflict", async () => {
    // Given an imported environment, and a second document of that project where segment 302 changed its rules
    const user = await signUpUser();
    await importAs(user, generateDocument({ projectName: "Shop" }));
    const second = clone(generateDocument({ projectName: "Shop" })) as ReturnType<typeof generateDocument> & { project: { segments: { rules: { type: string }[] }[] } };
    second.project.segments[1].rules[0].type = "ANY";
    const before = await countRows();

    // When it is imported
    const error = await expectDomainError(importAs(user, second), "CONFLICT");

    // Then the segment is named, and nothing was written
    expect(error.message).toMatch(/^\$\.project\.segments\[1\]: segment 302 already exists in this project as "premium" with other rules/);
    expect(await countRows()).toEqual(before);
  });

  it("importFlagsmith__existingProject__featuresMatchedAndOthersSeeded", async () => {
    // Given a project with an environment and two features: one the document has, one it does not
    const user = await signUpUser();
    const { project, environments: [production] } = await projectWithEnvironments(user, ["Production"]);
    const banner = await user.caller.features.create({ projectId: project.id, name: "banner_text", defaultEnabled: false, initialValue: "from project" });
    const unrelated = await user.caller.features.create({ projectId: project.id, name: "unrelated", defaultEnabled: true, initialValue: 5 });
    const [productionBefore] = await getDb().select().from(environments).where(eq(environments.id, production.id));

    // When a document is imported into the project
    const result = await importAs(user, generateDocument(), { projectId: project.id });

    // Then the existing feature is reused (with the document's state in the new environment) …
    const document = await rebuilt(result.environmentId);
    const bannerState = document.feature_states.find((s) => s.feature.name === "banner_text")!;
    expect(bannerState).toMatchObject({ feature: { id: banner.id }, enabled: true, feature_state_value: "hello", django_id: 5001 });
    // … the feature the document lacks gets its defaults there …
    expect(document.feature_states.find((s) => s.feature.name === "unrelated")).toMatchObject({ feature: { id: unrelated.id }, enabled: true, feature_state_value: 5 });
    // … and the other environment gets states for the new features, with a new document revision
    const productionDocument = await rebuilt(production.id);
    expect(productionDocument.feature_states.map((s) => s.feature.name).sort()).toEqual(
      ["banner_text", "checkout_flow", "dark_mode", "empty_flag", "legacy_feature", "max_items", "pricing", "unrelated"],
    );
    // (new features are off there, even those the imported environment has on)
    const newlyCreated = (name: string) => name !== "unrelated" && name !== "banner_text";
    const onInImport = document.feature_states.filter((s) => s.enabled && newlyCreated(s.feature.name)).map((s) => s.feature.name);
    expect(onInImport.length).toBeGreaterThan(0);
    for (const name of onInImport) expect(productionDocument.feature_states.find((s) => s.feature.name === name)?.enabled, name).toBe(false);
    const checkout = productionDocument.feature_states.find((s) => s.feature.name === "checkout_flow")!;
    expect(checkout.multivariate_feature_state_values.map((v) => [v.multivariate_feature_option.value, v.percentage_allocation])).toEqual([
      ["variant_a", 23.75],
      [42, 31],
      ["variant_c", 12.5],
    ]);
    expect(productionDocument.project.segments).toHaveLength(11);
    const [productionAfter] = await getDb().select().from(environments).where(eq(environments.id, production.id));
    expect(productionAfter.revision).toBeGreaterThan(productionBefore.revision);
  });

  it("importFlagsmith__featureNameDiffersInCase__conflict", async () => {
    // Given a project with a feature "Banner_Text"
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, []);
    await user.caller.features.create({ projectId: project.id, name: "Banner_Text" });
    const before = await countRows();

    // When a document with "banner_text" is imported into it
    const error = await expectDomainError(importAs(user, generateDocument(), { projectId: project.id }), "CONFLICT");

    // Then the spelling clash is reported, and nothing was written
    expect(error.message).toMatch(/^\$\.feature_states\[0\]\.feature\.name: the project has this feature as "Banner_Text"/);
    expect(await countRows()).toEqual(before);
  });

  it("importFlagsmith__existingOptionKeyWithOtherValue__conflict", async () => {
    // Given a project whose "checkout_flow" has variant key "a" with another value
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, []);
    await user.caller.features.create({ projectId: project.id, name: "checkout_flow", options: [{ value: "something else", key: "a", defaultPercentageAllocation: 10 }] });

    // When the document is imported into it
    const error = await expectDomainError(importAs(user, generateDocument(), { projectId: project.id }), "CONFLICT");

    // Then the option is named
    expect(error.message).toMatch(/^\$\.feature_states\[4\]\.multivariate_feature_state_values\[1\]\.multivariate_feature_option: variant key "a" already exists/);
  });

  it("importFlagsmith__existingProjectSameOptions__optionsMatchedNotDuplicated", async () => {
    // Given a project whose "checkout_flow" already has the document's options (by value and key)
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, []);
    const created = await user.caller.features.create({
      projectId: project.id,
      name: "checkout_flow",
      options: [
        { value: "variant_a", key: "a", defaultPercentageAllocation: 5 },
        { value: "variant_c", key: "c", defaultPercentageAllocation: 5 },
        { value: 42, key: null, defaultPercentageAllocation: 5 },
      ],
    });
    const original = generateDocument();

    // When the document is imported into it
    const result = await importAs(user, original, { projectId: project.id });

    // Then no option is added, and the environment still evaluates like the document
    const options = await getDb().select().from(multivariateOptions).where(eq(multivariateOptions.featureId, created.id));
    expect(options).toHaveLength(3);
    expectSameEvaluation(original, await rebuilt(result.environmentId), generateIdentities(200, 3, { overrides: 25 }));
  });

  it("importFlagsmith__manyIdentityOverrides__progressEveryThousand", async () => {
    // Given a document with 2,500 identity overrides
    const user = await signUpUser();
    const original = generateDocument({ identityOverrides: 2500 });
    const progress: ImportProgress[] = [];

    // When it is imported with a progress callback
    const result = await importAs(user, original, {}, { onProgress: (p: ImportProgress) => progress.push(p) });

    // Then identity progress is reported per thousand, every stage is reported, and the overrides are all there
    expect(progress.filter((p) => p.stage === "identities").map((p) => p.done)).toEqual([1000, 2000, 2500]);
    expect([...new Set(progress.map((p) => p.stage))]).toEqual(["validated", "project", "features", "segments", "states", "identities", "committed", "server_key"]);
    expect(result.counts.identityOverrides).toBe(2500);
    const document = await rebuilt(result.environmentId);
    expect(document.identity_overrides).toHaveLength(2500);
    expectSameEvaluation(original, document, generateIdentities(300, 9, { overrides: 100 }));
  });
});

describe("imports.flagsmith (tRPC)", () => {
  it("importsFlagsmith__admin__returnsClientKeyAndServerKeyOnce", async () => {
    // Given an admin with a project
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, ["Production"]);
    const document = generateDocument();

    // When the document is imported through tRPC
    const result = await user.caller.imports.flagsmith({ projectId: project.id, document });

    // Then the environment is in the project with the document's key, and a server key is returned
    expect(result).toMatchObject({ projectId: project.id, environmentKey: document.api_key, environmentName: "Development" });
    expect(result.serverKey).toMatch(/^ser\./);
    const listed = await user.caller.environments.list({ projectId: project.id });
    expect(listed.map((e) => e.apiKey)).toContain(document.api_key);
    const keys = await user.caller.environments.serverKeys({ environmentId: result.environmentId });
    expect(keys).toHaveLength(1);
    expect(JSON.stringify(keys)).not.toContain(result.serverKey);
  });

  it("importsFlagsmith__nonAdmin__forbiddenAndNothingWritten", async () => {
    // Given a plain member of the organisation
    const admin = await signUpUser();
    const member = await signUpUser();
    await joinOrganisation(admin, member, "USER");
    const { project } = await projectWithEnvironments(admin, []);
    const before = await countRows();

    // When the member imports a document
    await expectTrpcError(member.caller.imports.flagsmith({ projectId: project.id, document: generateDocument() }), "FORBIDDEN");

    // Then nothing was written
    expect(await countRows()).toEqual(before);
  });

  it("importsFlagsmith__invalidDocumentOverHttp__400WithPathOnDocumentField", async () => {
    // Given an admin and a document with a float value
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, []);
    const document = clone(generateDocument()) as ReturnType<typeof generateDocument> & { feature_states: { feature_state_value: unknown }[] };
    document.feature_states[1].feature_state_value = 2.5;

    // When it is posted to the tRPC endpoint
    const response = await postAs(user, "imports.flagsmith", { projectId: project.id, document });

    // Then it is a 400 whose document field error carries the path
    expect(response.status).toBe(400);
    expect(response.body.error?.data.fieldErrors?.document).toMatch(/^\$\.feature_states\[1\]\.feature_state_value: expected a string, an integer/);
  });

  it("importsFlagsmith__conflictOverHttp__409", async () => {
    // Given an environment imported from a document
    const user = await signUpUser();
    const { project } = await projectWithEnvironments(user, []);
    const document = generateDocument({ apiKey: randomApiKey() });
    await user.caller.imports.flagsmith({ projectId: project.id, document });

    // When the same document is posted again
    const response = await postAs(user, "imports.flagsmith", { projectId: project.id, document });

    // Then it is a 409 naming the key
    expect(response.status).toBe(409);
    expect(response.body.error?.data.fieldErrors?.document).toMatch(/^\$\.api_key: /);
  });
});
