import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../../src/server/db/client";
import { environments, featureStates, segments } from "../../../src/server/db/schema";
import { actorOf } from "../../../src/server/auth/principal";
import { buildInSnapshot } from "../../../src/server/documents/build";
import { cloneEnvironment, createEnvironment } from "../../../src/server/environments/service";
import { createFeature, updateEnvironmentState } from "../../../src/server/features/service";
import type { EnvironmentDocument } from "../../../src/server/engine/document";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";
import { recordDocumentHistory, waitForDocuments } from "../support/documents";
import { startTestWorker } from "../support/worker";

async function revisionsOf(projectId: number): Promise<Map<number, number>> {
  const rows = await getDb().select({ id: environments.id, revision: environments.revision }).from(environments).where(eq(environments.projectId, projectId));
  return new Map(rows.map((r) => [r.id, r.revision]));
}

describe("document pipeline under concurrent changes", () => {
  it("raceOfCreationsClonesAndToggles__workerRunning__noDocumentEverMissesACompletedState", { timeout: 120_000 }, async () => {
    // Given a project with two environments, eight features and a segment override, a running worker,
    // and a record of every document written
    const user = await signUpUser();
    const actor = actorOf(user.principal);
    const { project, environments: [dev, prod] } = await projectWithEnvironments(user);
    const completed: { featureId: number; revisions: Map<number, number>; at: number }[] = [];
    for (let i = 0; i < 8; i++) {
      const feature = await createFeature(actor, project.id, { name: `base_${i}`, initialValue: i, options: i % 3 === 0 ? [{ value: "x", defaultPercentageAllocation: 20 }] : [] });
      completed.push({ featureId: feature.id, revisions: await revisionsOf(project.id), at: Date.now() });
    }
    const [segment] = await getDb().insert(segments).values({ projectId: project.id, name: "vip", rules: [{ type: "ALL", conditions: [{ operator: "EQUAL", property: "tier", value: "vip" }], rules: [] }] }).returning();
    await getDb().insert(featureStates).values({ featureId: completed[0].featureId, environmentId: prod.id, segmentId: segment.id, enabled: true, value: "vip", priority: 0 });
    const history = await recordDocumentHistory();
    await startTestWorker({ concurrency: 4 });
    const createdEnvironments: { id: number; startedAt: number; cloneOf?: number }[] = [];

    // When features, environments and clones are created concurrently with toggles (small seeding batches)
    const createFeatures = async () => {
      for (let i = 0; i < 10; i++) {
        const feature = await createFeature(actor, project.id, { name: `new_${i}`, defaultEnabled: i % 2 === 0, initialValue: `v${i}` }, { batchSize: 1 });
        completed.push({ featureId: feature.id, revisions: await revisionsOf(project.id), at: Date.now() });
      }
    };
    const createEnvironments = async () => {
      for (let i = 0; i < 4; i++) {
        const startedAt = Date.now();
        const env = await createEnvironment(actor, project.id, { name: `env_${i}` }, { batchSize: 2 });
        createdEnvironments.push({ id: env.id, startedAt });
      }
    };
    const cloneEnvironments = async () => {
      for (let i = 0; i < 3; i++) {
        const startedAt = Date.now();
        const env = await cloneEnvironment(actor, prod.id, { name: `clone_${i}` }, { batchSize: 2 });
        createdEnvironments.push({ id: env.id, startedAt, cloneOf: prod.id });
      }
    };
    const toggle = async () => {
      for (let i = 0; i < 30; i++) {
        const target = completed[i % completed.length];
        await updateEnvironmentState(actor, target.featureId, i % 2 ? dev.id : prod.id, { enabled: i % 3 === 0, value: `t${i}` });
      }
    };
    await Promise.all([createFeatures(), createEnvironments(), cloneEnvironments(), toggle()]);
    const allEnvironments = [dev.id, prod.id, ...createdEnvironments.map((e) => e.id)];
    await waitForDocuments(allEnvironments, 60_000);

    // Then every recorded document holds every feature whose creation had completed before it was built
    const written = await history();
    expect(written.length).toBeGreaterThan(allEnvironments.length);
    for (const record of written) {
      const document = JSON.parse(record.document) as EnvironmentDocument;
      const present = new Set(document.feature_states.map((s) => s.feature.id));
      const created = createdEnvironments.find((e) => e.id === record.environment_id);
      for (const feature of completed) {
        const revisionAtCompletion = feature.revisions.get(record.environment_id);
        const mustHave =
          revisionAtCompletion !== undefined ? record.revision >= revisionAtCompletion : created !== undefined && created.startedAt > feature.at;
        if (mustHave) expect(present.has(feature.featureId), `document of env ${record.environment_id} rev ${record.revision} lacks feature ${feature.featureId}`).toBe(true);
      }
      // …and a clone is never published without the source's segment override
      if (created?.cloneOf) {
        const vip = document.project.segments.find((s) => s.name === "vip");
        expect(vip?.feature_states.map((s) => s.feature_state_value)).toEqual(["vip"]);
      }
    }

    // …and the final stored documents equal a fresh build
    for (const environmentId of allEnvironments) {
      const fresh = await buildInSnapshot(environmentId);
      const stored = await getDb().execute<{ document: string; revision: number }>(sql`select document, revision from environment_documents where environment_id = ${environmentId}`);
      expect(stored.rows[0].revision).toBe(fresh.revision);
      expect(JSON.parse(stored.rows[0].document)).toEqual(fresh.document);
    }
  });
});
