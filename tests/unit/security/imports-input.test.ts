/** Hostile import documents: refused with a JSON path before anything recursive or the database sees them. */
import { describe, expect, it } from "vitest";
import { validateFlagsmithDocument } from "@/server/imports/validation";
import { clone, generateDocument } from "../../support/flagsmith-documents";

type Doc = Record<string, unknown> & {
  feature_states: { feature: { name: string } }[];
  identity_overrides: { identifier: string; created_date?: string }[];
  project: { segments: { name: string }[] };
};

const doc = () => clone(generateDocument({ apiKey: "hostile123" })) as unknown as Doc;

function problem(input: unknown): string {
  const result = validateFlagsmithDocument(input);
  if (result.ok) throw new Error("expected the document to be invalid");
  return result.message;
}

describe("import documents", () => {
  it("validate__nested5000Deep__refusedAtTheRootWithoutOverflow", () => {
    // Given a document with a member nested 5,000 deep (zod's recursive rule schema would overflow)
    const input = doc();
    input.extra = JSON.parse("[".repeat(5000) + "]".repeat(5000));

    // When validated
    // Then it is refused at the root
    expect(problem(input)).toBe("$: the document is nested more than 100 levels deep");
  });

  it("validate__nulOrUnpairedSurrogateAnywhere__refusedAtItsPath", () => {
    // Given a feature name with U+0000, and a segment name with an unpaired surrogate
    const nul = doc();
    nul.feature_states[1].feature.name = "bad\u0000name";
    const surrogate = doc();
    surrogate.project.segments[0].name = "seg\ud800";

    // When validated
    // Then each problem is named at its JSON path
    expect(problem(nul)).toBe("$.feature_states[1].feature.name: text cannot contain null characters (U+0000)");
    expect(problem(surrogate)).toBe("$.project.segments[0].name: text must be valid Unicode (it contains an unpaired surrogate)");
  });

  it("validate__identifierOf1000CjkCharacters__refusedForItsBytes", () => {
    // Given an identity override whose identifier has 1,000 CJK characters (3,000 bytes: too large for its index)
    const input = doc();
    input.identity_overrides[0].identifier = "中".repeat(1000);

    // When validated
    // Then it is refused for its UTF-8 size
    expect(problem(input)).toBe("$.identity_overrides[0].identifier: at most 2000 bytes (UTF-8)");
  });

  it("validate__createdDateInYear275760__keptAsUnknownDate", () => {
    // Given an identity created "in year 275760" (valid in JavaScript, not as ISO 8601 text or in PostgreSQL)
    const input = doc();
    input.identity_overrides[0].created_date = new Date(8.64e15).toISOString();

    // When validated
    const result = validateFlagsmithDocument(input);

    // Then the document is accepted with that date unknown
    expect(result.ok && result.document.identity_overrides[0].created_date).toBeNull();
  });
});
