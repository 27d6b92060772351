import { describe, expect, it } from "vitest";
import { clone, generateDocument, randomApiKey } from "../../support/flagsmith-documents";
import { joinOrganisation, expectTrpcError, projectWithEnvironments, signUpUser } from "../support/fixtures";
import { countImportRows } from "./tables";

const countRows = countImportRows;

describe("imports.previewFlagsmith", () => {
  it("preview__newDocument__countsAndListsAndNothingWritten_thenImportAppliesThePlan", async () => {
    // Given an admin's project with a Production environment, and a Flagsmith document for "Development"
    const admin = await signUpUser();
    const { project } = await projectWithEnvironments(admin, ["Production"]);
    const document = generateDocument({ name: "Development", identityOverrides: 7 });
    const shape = document as unknown as { feature_states: unknown[]; project: { segments: unknown[] } };
    const before = await countRows();

    // When the import is previewed
    const { plan, planHash } = await admin.caller.imports.previewFlagsmith({ projectId: project.id, document });

    // Then it lists what would be created, with warnings, and nothing at all was written
    expect(await countRows()).toEqual(before);
    expect(plan.environment).toEqual({ name: "Development", documentName: "Development", clientKey: document.api_key });
    expect(plan.counts.features).toBe(shape.feature_states.length);
    expect(plan.counts.featuresCreated).toBe(shape.feature_states.length);
    expect(plan.counts.identityOverrides).toBe(7);
    expect(plan.identities).toHaveLength(7);
    expect(plan.features.every((f) => f.action === "create")).toBe(true);
    expect(plan.segments.map((s) => s.action)).toEqual(shape.project.segments.map(() => "create"));
    expect(plan.otherEnvironments).toEqual(["Production"]);
    expect(plan.warnings.join("\n")).toMatch(/switched off, to 1 other environment \(Production\)/);
    expect(planHash).toMatch(/^[0-9a-f]{64}$/);

    // When the admin imports with that plan
    const result = await admin.caller.imports.flagsmith({ projectId: project.id, document, planHash });

    // Then exactly the previewed counts were imported, and a second preview of the same document now conflicts (the key exists)
    expect(result.counts).toEqual({
      features: plan.counts.features,
      featuresCreated: plan.counts.featuresCreated,
      segments: plan.counts.segments,
      segmentsCreated: plan.counts.segmentsCreated,
      segmentOverrides: plan.counts.segmentOverrides,
      identityOverrides: plan.counts.identityOverrides,
    });
    expect(result.environmentName).toBe(plan.environment.name);
    await expectTrpcError(admin.caller.imports.previewFlagsmith({ projectId: project.id, document }), "CONFLICT");
  });

  it("preview__secondEnvironmentOfSameProject__reusesFeaturesAndSegmentsAndWarnsOfRename", async () => {
    // Given a project into which a Flagsmith environment "Staging" was imported
    const admin = await signUpUser();
    const { project } = await projectWithEnvironments(admin, []);
    await admin.caller.imports.flagsmith({ projectId: project.id, document: generateDocument({ name: "Staging" }) });

    // When another environment of the same Flagsmith project, also called "Staging", is previewed
    const second = generateDocument({ name: "Staging", apiKey: randomApiKey() });
    const { plan } = await admin.caller.imports.previewFlagsmith({ projectId: project.id, document: second });

    // Then features and segments are reused, nothing new is created in them, and the rename is a warning
    expect(plan.counts.featuresCreated).toBe(0);
    expect(plan.counts.segmentsCreated).toBe(0);
    expect(new Set(plan.features.map((f) => f.action))).toEqual(new Set(["reuse"]));
    expect(new Set(plan.segments.map((s) => s.action))).toEqual(new Set(["reuse"]));
    expect(plan.environment.name).toBe("Staging (2)");
    expect(plan.warnings[0]).toBe('The project already has an environment called "Staging": the imported one will be called "Staging (2)".');
  });

  it("import__projectChangedSincePreview__conflictOnPlanHashAndNothingWritten", async () => {
    // Given a previewed import
    const admin = await signUpUser();
    const { project, environments } = await projectWithEnvironments(admin, ["Production"]);
    const document = generateDocument({ name: "Development" });
    const { planHash } = await admin.caller.imports.previewFlagsmith({ projectId: project.id, document });

    // When the project gets a new feature before the import is applied
    await admin.caller.features.create({ projectId: project.id, name: "added_meanwhile" });
    const before = await countRows();
    const refused = await expectTrpcError(admin.caller.imports.flagsmith({ projectId: project.id, document, planHash }), "CONFLICT");

    // Then the import is refused (preview again), nothing was written, and a new preview shows the change
    expect(refused.message).toMatch(/changed since the preview/);
    expect(await countRows()).toEqual(before);
    const again = await admin.caller.imports.previewFlagsmith({ projectId: project.id, document });
    expect(again.planHash).not.toBe(planHash);
    expect(again.plan.unmentionedFeatures).toEqual(["added_meanwhile"]);
    expect(environments).toHaveLength(1);
  });

  it("preview__invalidDocument__sameTypedBadRequestAsImport", async () => {
    // Given a document with a float value
    const admin = await signUpUser();
    const { project } = await projectWithEnvironments(admin, []);
    const document = clone(generateDocument()) as ReturnType<typeof generateDocument> & { feature_states: { feature_state_value: unknown }[] };
    document.feature_states[0].feature_state_value = 1.5;

    // When it is previewed and imported
    const previewed = await expectTrpcError(admin.caller.imports.previewFlagsmith({ projectId: project.id, document }), "BAD_REQUEST");
    const imported = await expectTrpcError(admin.caller.imports.flagsmith({ projectId: project.id, document }), "BAD_REQUEST");

    // Then both refuse it with the same message; a malformed plan hash is a BAD_REQUEST too
    expect(previewed.message).toBe(imported.message);
    await expectTrpcError(admin.caller.imports.flagsmith({ projectId: project.id, document: generateDocument(), planHash: "not-a-hash" }), "BAD_REQUEST");
  });

  it("preview__nonAdmin__forbidden", async () => {
    // Given a plain member
    const admin = await signUpUser();
    const member = await signUpUser();
    await joinOrganisation(admin, member, "USER");
    const { project } = await projectWithEnvironments(admin, []);

    // When the member previews an import
    // Then it is refused
    await expectTrpcError(member.caller.imports.previewFlagsmith({ projectId: project.id, document: generateDocument() }), "FORBIDDEN");
  });
});
