/**
 * Fidelity through the whole product: a project built with the admin API (every operator, segment overrides
 * with priorities, identity overrides, multivariate) → the document the worker builds from the database → the
 * flagd translation → flagd-core, compared with Flagpost's engine on the same document for many contexts.
 * Flags the diagnostics call `exact` must agree for every context (mapping documented in
 * tests/unit/flagd/fidelity.test.ts and docs/flagd.md).
 */
import { describe, expect, it } from "vitest";
import { buildInSnapshot } from "../../../src/server/documents/build";
import { buildEnvironmentContext } from "../../../src/server/engine";
import { translateForFlagd } from "../../../src/server/flagd/publish";
import type { FlagdDocument } from "../../../src/server/flagd/types";
import { evaluateBoth, type ContextCase } from "../../unit/flagd/fixtures";
import { loadStrict, schemaErrors } from "../../unit/flagd/helpers";
import { projectWithEnvironments, signUpUser } from "../support/fixtures";

type Rule = { type: "ALL" | "ANY" | "NONE"; conditions: { operator: string; property: string | null; value: string | null }[]; rules: Rule[] };
const all = (...conditions: Rule["conditions"]): Rule[] => [{ type: "ALL", conditions, rules: [] }];

const SEGMENTS: { name: string; rules: Rule[] }[] = [
  { name: "adults", rules: all({ operator: "GREATER_THAN_INCLUSIVE", property: "age", value: "18" }) },
  { name: "young", rules: all({ operator: "LESS_THAN", property: "age", value: "25" }, { operator: "GREATER_THAN", property: "age", value: "12" }) },
  { name: "seniors", rules: all({ operator: "LESS_THAN_INCLUSIVE", property: "age", value: "120" }, { operator: "GREATER_THAN_INCLUSIVE", property: "age", value: "65" }) },
  { name: "pro plan", rules: all({ operator: "EQUAL", property: "plan", value: "pro" }) },
  { name: "not free", rules: all({ operator: "NOT_EQUAL", property: "plan", value: "free" }) },
  { name: "acme staff", rules: all({ operator: "CONTAINS", property: "email", value: "@acme." }) },
  { name: "no test", rules: all({ operator: "NOT_CONTAINS", property: "email", value: "test" }) },
  { name: "regex prefix", rules: all({ operator: "REGEX", property: "email", value: "^admin" }) },
  { name: "regex complex", rules: all({ operator: "REGEX", property: "email", value: "[0-9]{3,}@" }) },
  { name: "ten percent", rules: all({ operator: "PERCENTAGE_SPLIT", property: null, value: "10" }) },
  { name: "even ids", rules: all({ operator: "MODULO", property: "account", value: "2|0" }) },
  { name: "beta set", rules: all({ operator: "IS_SET", property: "beta", value: null }) },
  { name: "no country", rules: all({ operator: "IS_NOT_SET", property: "country", value: null }) },
  { name: "dach", rules: all({ operator: "IN", property: "country", value: "de,at,ch" }) },
  { name: "new app", rules: all({ operator: "GREATER_THAN_INCLUSIVE", property: "version", value: "2.1.0:semver" }) },
  {
    name: "nested",
    rules: [
      {
        type: "ALL",
        conditions: [],
        rules: [
          { type: "ANY", conditions: [{ operator: "EQUAL", property: "plan", value: "pro" }, { operator: "EQUAL", property: "plan", value: "team" }], rules: [] },
          { type: "NONE", conditions: [{ operator: "EQUAL", property: "country", value: "fr" }], rules: [] },
        ],
      },
    ],
  },
];

function contexts(count: number): ContextCase[] {
  const plans = ["free", "pro", "team", "enterprise"];
  const countries = ["de", "at", "fr", "us", undefined];
  const out: ContextCase[] = [];
  for (let i = 0; i < count; i++) {
    const traits: ContextCase["traits"] = {
      age: (i * 7) % 90,
      plan: plans[i % plans.length],
      email: i % 5 === 0 ? `admin${i}@acme.com` : i % 7 === 0 ? `test${i}12345@example.com` : `user${i}@example.com`,
      account: i * 3,
      version: `${1 + (i % 3)}.${i % 4}.${i % 2}`,
    };
    const country = countries[i % countries.length];
    if (country) traits.country = country;
    if (i % 4 === 0) traits.beta = true;
    out.push({ identifier: i % 10 === 0 ? `vip-${i % 30}` : `user-${i}`, traits });
  }
  out.push({ identifier: null, traits: {} });
  return out;
}

describe("flagd fidelity of a project built through the API", () => {
  it("fidelity__projectWithEveryOperatorOverridesAndIdentityOverrides__exactFlagsMatchTheEngine", { timeout: 120_000 }, async () => {
    // Given a project built through the admin API
    const user = await signUpUser();
    const { project, environments: [env] } = await projectWithEnvironments(user, ["Production"]);
    const segments = [];
    for (const segment of SEGMENTS) segments.push(await user.caller.segments.create({ projectId: project.id, name: segment.name, rules: segment.rules }));
    const features = [];
    for (let i = 0; i < 12; i++) {
      const multivariate = i % 4 === 0;
      const feature = await user.caller.features.create({
        projectId: project.id,
        name: `feature_${i}`,
        defaultEnabled: i % 3 !== 0,
        initialValue: i % 2 === 0 ? `value-${i}` : i,
        options: multivariate ? [{ value: `mv-a-${i}`, key: "a", defaultPercentageAllocation: 33.3 }, { value: `mv-b-${i}`, defaultPercentageAllocation: 33.3 }] : undefined,
      });
      features.push(feature);
      for (let s = 0; s < 4; s++) {
        const segment = segments[(i * 3 + s) % segments.length];
        await user.caller.segmentOverrides.create({
          featureId: feature.id,
          environmentId: env.id,
          segmentId: segment.id,
          enabled: (i + s) % 3 !== 0,
          value: i % 2 === 0 ? `override-${i}-${s}` : 100 + s,
        });
      }
    }
    const overrides = await user.caller.segmentOverrides.list({ featureId: features[1].id, environmentId: env.id });
    await user.caller.segmentOverrides.reorder({ featureId: features[1].id, environmentId: env.id, segmentIds: overrides.map((o) => o.segmentId).reverse() });
    for (let v = 0; v < 3; v++) {
      const identity = await user.caller.identities.create({ environmentId: env.id, identifier: `vip-${v * 10}` });
      for (const feature of features.slice(v, v + 4)) {
        await user.caller.identities.createOverride({ identityId: identity.id, featureId: feature.id, enabled: v !== 1, value: typeof feature.initialValue === "number" ? 900 + v : `identity-${v}` });
      }
    }

    // When its document is built and translated as the worker does
    const built = await buildInSnapshot(env.id);
    const published = translateForFlagd(built.document, { log: false });
    const document = JSON.parse(published.document) as FlagdDocument;
    const core = loadStrict(document);
    const byName = new Map(published.diagnostics.features.map((f) => [f.name, f]));
    const environmentContext = buildEnvironmentContext(built.document);

    // Then the document is valid, and every exact flag agrees with the engine for every context
    expect(schemaErrors(document)).toEqual([]);
    const mismatches: string[] = [];
    let compared = 0;
    for (const context of contexts(400)) {
      for (const [name, { expected, actual, reason }] of evaluateBoth(built.document, document, core, byName, context, environmentContext)) {
        expect(actual.startsWith("error"), `${name}: ${actual}`).toBe(false);
        if (byName.get(name)?.fidelity !== "exact") continue;
        compared++;
        if (expected !== actual) mismatches.push(`${name} ${JSON.stringify(context)}: engine ${expected} (${reason}), flagd ${actual}`);
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(compared).toBeGreaterThan(1000);
    // …with the expected verdicts: regex-complex and percentage/multivariate flags are not claimed exact
    const verdicts = published.diagnostics.summary;
    expect(verdicts.exact).toBeGreaterThan(0);
    expect(verdicts.approximate + verdicts.lossy).toBeGreaterThan(0);
    expect(JSON.stringify(published.diagnostics)).toContain("regex_unsupported");
  });
});
