import { describe, expect, it } from "vitest";
import { DomainError } from "@/server/errors";
import { jsonPath, parseFlagsmithDocument, toStoredRules, validateFlagsmithDocument } from "@/server/imports/validation";
import { clone, generateDocument, legacyFile } from "../../support/flagsmith-documents";

type Doc = ReturnType<typeof generateDocument> & {
  project: { segments: { rules: { type: string; rules: { conditions: Record<string, unknown>[]; rules: unknown[] }[] }[]; feature_states: Record<string, unknown>[] }[]; server_key_only_feature_ids: number[] };
  feature_states: Record<string, unknown>[] & { feature: { name: string } }[];
  identity_overrides: { identifier: string; identity_features: Record<string, unknown>[] }[];
};

function doc(): Doc {
  return clone(generateDocument({ apiKey: "abcDEF123" })) as Doc;
}

function problem(input: unknown): string {
  const result = validateFlagsmithDocument(input);
  if (result.ok) throw new Error("expected the document to be invalid");
  return result.message;
}

describe("validateFlagsmithDocument", () => {
  it("validate__regexWithBackreference__refusedNamingSegmentAndConstruct", () => {
    // Given a document whose segment uses a REGEX Python accepts but the linear-time engine cannot express
    const input = doc();
    input.project.segments[0].rules[0].rules[0].conditions = [{ operator: "REGEX", property_: "email", value: "(\\w+)@\\1" }];
    const segment = input.project.segments[0] as unknown as { id: number; name: string };

    // When it is validated
    const message = problem(input);

    // Then the condition's value, the segment and the construct are named
    expect(message).toBe(`$.project.segments[0].rules[0].rules[0].conditions[0].value: segment "${segment.name}" (id ${segment.id}): REGEX patterns cannot use backreferences (\\1)`);
  });

  it("validate__regexWithLookaroundInNestedRule__refusedAtItsPath", () => {
    // Given a lookbehind two rules deep in the second segment, and a lookahead in a legacy-wrapped document
    const input = doc();
    input.project.segments[1].rules[0].rules[0].conditions = [
      { operator: "EQUAL", property_: "plan", value: "pro" },
      { operator: "REGEX", property_: "email", value: "(?<!admin)@acme\\.com" },
    ];
    const wrapped = { environment: doc() };
    wrapped.environment.project.segments[0].rules[0].rules[0].conditions = [{ operator: "REGEX", property_: "email", value: "^(?=.*@)" }];

    // When they are validated
    const messages = [problem(input), problem(wrapped)];

    // Then each is refused at its own path with the construct named
    expect(messages[0]).toMatch(/^\$\.project\.segments\[1\]\.rules\[0\]\.rules\[0\]\.conditions\[1\]\.value: segment ".+" \(id \d+\): REGEX patterns cannot use lookbehind assertions \(\(\?<!…\)\)$/);
    expect(messages[1]).toMatch(/^\$\.environment\.project\.segments\[0\]\.rules\[0\]\.rules\[0\]\.conditions\[0\]\.value: segment ".+" \(id \d+\): REGEX patterns cannot use lookahead assertions \(\(\?=…\)\)$/);
  });

  it("validate__regexWithNestedRepetition__acceptedAsLinearTime", () => {
    // Given a document whose segment uses nested repetition (exponential for a backtracking engine)
    const input = doc();
    input.project.segments[0].rules[0].rules[0].conditions = [{ operator: "REGEX", property_: "email", value: "(a+)+$" }];

    // When it is validated
    const result = validateFlagsmithDocument(input);

    // Then it is accepted: RE2 evaluates it in linear time
    expect(result.ok).toBe(true);
  });

  it("validate__invalidRegex__acceptedAsInFlagsmithWhereItNeverMatches", () => {
    // Given a document whose segment uses a REGEX Python cannot compile (Flagsmith stores such patterns)
    const input = doc();
    input.project.segments[0].rules[0].rules[0].conditions = [{ operator: "REGEX", property_: "email", value: "[" }];

    // When it is validated
    const result = validateFlagsmithDocument(input);

    // Then it is accepted (the condition never matches), not mistaken for an unsafe pattern
    expect(result.ok).toBe(true);
  });

  it("validate__generatedDocument__okAndNormalised", () => {
    // Given a generated document covering every operator, MV features and identity overrides
    const input = doc();

    // When it is validated
    const result = validateFlagsmithDocument(input);

    // Then it is accepted with its contents intact
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.document.api_key).toBe("abcDEF123");
    expect(result.document.project.segments).toHaveLength(11);
    expect(result.document.identity_overrides).toHaveLength(25);
    expect(result.document.feature_states[4].multivariate_feature_state_values.map((v) => v.id)).toEqual([9003, 9001, 9002]);
  });

  it("validate__legacyWrappedDocument__okWithFlagsmithDefaults", () => {
    // Given the engine test data's legacy file ({"environment": {...}}: no name, settings, uuids or feature_segment)
    const file = legacyFile();

    // When it is validated
    const result = validateFlagsmithDocument(file);

    // Then it is accepted, with defaults for what old documents lack
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const parsed = result.document;
    expect(parsed.api_key).toBe("n9fbf9h3v4fFgH3U3ngWhb");
    expect(parsed.name).toBeNull();
    expect(parsed.allow_client_traits).toBe(true);
    expect(parsed.hide_disabled_flags).toBeNull();
    expect(parsed.use_identity_composite_key_for_hashing).toBe(true);
    expect(parsed.identity_overrides).toEqual([]);
    expect(parsed.project.server_key_only_feature_ids).toEqual([]);
    expect(parsed.project.segments[0].feature_states[0].feature_segment).toBeNull();
    expect(parsed.project.segments[0].feature_states[0].featurestate_uuid).toBeNull();
    expect(parsed.feature_states[4].multivariate_feature_state_values[0].multivariate_feature_option).toEqual({ id: null, value: "baz", key: null });
  });

  it("validate__badRuleType__pathOfTheRule", () => {
    // Given a document whose third segment has a rule of an unknown type
    const input = doc();
    input.project.segments[2].rules[0].type = "SOME";

    // When it is validated
    const message = problem(input);

    // Then the message names the rule's path and the allowed types
    expect(message).toBe("$.project.segments[2].rules[0].type: expected ALL, ANY or NONE");
  });

  it("validate__wrappedDocument__pathsStartAtEnvironment", () => {
    // Given the legacy file with a broken condition operator
    const file = legacyFile() as unknown as { environment: { project: { segments: { rules: { rules: { conditions: { operator: string }[] }[] }[] }[] } } };
    file.environment.project.segments[1].rules[0].rules[0].conditions[0].operator = "ROUGHLY";

    // When it is validated
    const message = problem(file);

    // Then the path is relative to the file (under $.environment)
    expect(message).toMatch(/^\$\.environment\.project\.segments\[1\]\.rules\[0\]\.rules\[0\]\.conditions\[0\]\.operator: expected one of EQUAL, /);
  });

  it("validate__missingApiKey__requiredAtApiKey", () => {
    // Given a document without api_key
    const input = doc() as Partial<Doc>;
    delete input.api_key;

    // When it is validated
    const message = problem(input);

    // Then the key is reported missing
    expect(message).toBe("$.api_key: required (expected a string)");
  });

  it("validate__serverKeyAsClientKey__rejected", () => {
    // Given a document whose api_key looks like a server-side key
    const input = { ...doc(), api_key: "ser.abc" };

    // When it is validated
    const message = problem(input);

    // Then it is refused (the prefix decides request origin)
    expect(message).toMatch(/^\$\.api_key: a client key cannot start with ser\./);
  });

  it("validate__floatValue__rejectedWithPath", () => {
    // Given an environment default with a float value
    const input = doc();
    input.feature_states[1].feature_state_value = 1.5;

    // When it is validated
    const message = problem(input);

    // Then the value's path is reported, with the supported types
    expect(message).toBe(
      "$.feature_states[1].feature_state_value: expected a string, an integer, true/false or null (floats, objects and arrays are not supported), got the decimal number 1.5",
    );
  });

  it("validate__objectOptionValue__rejectedWithPath", () => {
    // Given a multivariate option whose value is an object
    const input = doc();
    (input.feature_states[4].multivariate_feature_state_values as { multivariate_feature_option: { value: unknown } }[])[1].multivariate_feature_option.value = { a: 1 };

    // When it is validated
    const message = problem(input);

    // Then the option value's path is reported
    expect(message).toMatch(/^\$\.feature_states\[4\]\.multivariate_feature_state_values\[1\]\.multivariate_feature_option\.value: expected a string, .*got an object$/);
  });

  it("validate__numericConditionValue__expectedString", () => {
    // Given a condition whose value is a number (Flagsmith always serialises them as strings)
    const input = doc();
    input.project.segments[0].rules[0].rules[0].conditions[0].value = 18;

    // When it is validated
    const message = problem(input);

    // Then it is reported at the condition value
    expect(message).toBe("$.project.segments[0].rules[0].rules[0].conditions[0].value: expected a string or null");
  });

  it("validate__notAnObject__rootProblem", () => {
    // Given inputs that are not documents
    // When they are validated
    // Then the root is blamed
    expect(problem([1, 2])).toBe("$: expected an environment document (a JSON object), got an array");
    expect(problem(null)).toBe("$: expected an environment document (a JSON object), got null");
  });

  it("validate__missingProject__required", () => {
    // Given a document without its project
    const input = doc() as Partial<Doc>;
    delete input.project;

    // When it is validated
    // Then the project is required
    expect(problem(input)).toBe("$.project: required (expected an object)");
  });

  it("validate__duplicateFeatureNameIgnoringCase__secondOccurrence", () => {
    // Given two environment defaults whose names differ only in case
    const input = doc();
    (input.feature_states[6] as { feature: { name: string } }).feature.name = "BANNER_TEXT";

    // When it is validated
    const message = problem(input);

    // Then the second name is reported with the first's location
    expect(message).toBe('$.feature_states[6].feature.name: feature name "BANNER_TEXT" is used twice (also at $.feature_states[0].feature; names are case-insensitive)');
  });

  it("validate__overrideOfUnknownFeature__pathOfTheOverride", () => {
    // Given a segment override of a feature that has no environment default
    const input = doc();
    (input.project.segments[1].feature_states[1] as { feature: { id: number } }).feature.id = 999;

    // When it is validated
    const message = problem(input);

    // Then the override's feature is blamed
    expect(message).toBe('$.project.segments[1].feature_states[1].feature: feature 999 ("max_items") has no environment default in $.feature_states');
  });

  it("validate__overrideWithOtherFeatureName__expectedName", () => {
    // Given an identity override whose feature id names another feature
    const input = doc();
    (input.identity_overrides[3].identity_features[0] as { feature: { name: string } }).feature.name = "renamed";

    // When it is validated
    const message = problem(input);

    // Then the name mismatch is reported
    expect(message).toBe('$.identity_overrides[3].identity_features[0].feature.name: expected "banner_text" (the name of feature 101 at $.feature_states[0].feature)');
  });

  it("validate__allocationsOver100__pathOfTheList", () => {
    // Given a segment override allocating more than 100 %
    const input = doc();
    const values = input.project.segments[2].feature_states[1].multivariate_feature_state_values as { percentage_allocation: number }[];
    values[0].percentage_allocation = 60;
    values[1].percentage_allocation = 50.5;

    // When it is validated
    const message = problem(input);

    // Then the allocation list is blamed
    expect(message).toBe("$.project.segments[2].feature_states[1].multivariate_feature_state_values: allocations add up to 110.5%, more than 100%");
  });

  it("validate__allocationOutOfRange__pathOfTheValue", () => {
    // Given a negative allocation
    const input = doc();
    (input.feature_states[5].multivariate_feature_state_values as { percentage_allocation: number }[])[1].percentage_allocation = -1;

    // When it is validated
    // Then the value is blamed
    expect(problem(input)).toBe("$.feature_states[5].multivariate_feature_state_values[1].percentage_allocation: must be between 0 and 100");
  });

  it("validate__duplicateMultivariateId__rejected", () => {
    // Given two allocations with the same id in one state (their order would be undefined)
    const input = doc();
    (input.feature_states[4].multivariate_feature_state_values as { id: number }[])[2].id = 9003;

    // When it is validated
    // Then the duplicate is blamed
    expect(problem(input)).toBe("$.feature_states[4].multivariate_feature_state_values[2].id: duplicate id 9003 (also at index 0)");
  });

  it("validate__multivariateStateWithoutSeed__djangoIdRequired", () => {
    // Given a multivariate state without django_id (its hashing seed)
    const input = doc();
    delete input.feature_states[4].django_id;

    // When it is validated
    // Then the seed is required there (standard states may omit it)
    expect(problem(input)).toBe("$.feature_states[4].django_id: required for a multivariate state (it seeds the variant hashing)");
    const standard = doc();
    delete standard.feature_states[0].django_id;
    expect(validateFlagsmithDocument(standard).ok).toBe(true);
  });

  it("validate__optionIdWithOtherValue__rejected", () => {
    // Given an option id that carries another value in a segment override
    const input = doc();
    (input.project.segments[2].feature_states[1].multivariate_feature_state_values as { multivariate_feature_option: { value: unknown } }[])[0].multivariate_feature_option.value = "other";

    // When it is validated
    // Then the inconsistent option is blamed
    expect(problem(input)).toBe(
      "$.project.segments[2].feature_states[1].multivariate_feature_state_values[0].multivariate_feature_option: option 71 differs from the same option at $.feature_states[4].multivariate_feature_state_values[0].multivariate_feature_option",
    );
  });

  it("validate__duplicateVariantKey__rejected", () => {
    // Given two different options of one feature with the same key
    const input = doc();
    (input.feature_states[4].multivariate_feature_state_values as { multivariate_feature_option: { key: string } }[])[1].multivariate_feature_option.key = "c";

    // When it is validated
    // Then the second key is blamed
    expect(problem(input)).toMatch(/^\$\.feature_states\[4\]\.multivariate_feature_state_values\[1\]\.multivariate_feature_option\.key: variant key "c" is used by another option/);
  });

  it("validate__duplicateSegmentIdAndName__rejected", () => {
    // Given a segment id used twice, and (separately) a segment name used twice
    const sameId = doc();
    (sameId.project.segments[5] as unknown as { id: number }).id = 301;
    const sameName = doc();
    (sameName.project.segments[5] as unknown as { name: string }).name = "Adults";

    // When they are validated
    // Then each duplicate is blamed
    expect(problem(sameId)).toBe("$.project.segments[5].id: duplicate segment id 301 (also at $.project.segments[0])");
    expect(problem(sameName)).toBe('$.project.segments[5].name: segment name "Adults" is used twice (also at $.project.segments[0]; names are case-insensitive)');
  });

  it("validate__segmentIdOutOfRange__rejected", () => {
    // Given a segment id that is not a positive 32-bit integer
    const input = doc();
    (input.project.segments[0] as unknown as { id: number }).id = 0;

    // When it is validated
    // Then the id is blamed
    expect(problem(input)).toBe("$.project.segments[0].id: must be positive");
  });

  it("validate__duplicateIdentity__rejected", () => {
    // Given an identifier listed twice in identity_overrides
    const input = doc();
    input.identity_overrides[4].identifier = "override-user-1";

    // When it is validated
    // Then the second occurrence is blamed
    expect(problem(input)).toBe('$.identity_overrides[4].identifier: identity "override-user-1" is listed twice (also at index 1)');
  });

  it("validate__segmentOverridesFeatureTwice__rejected", () => {
    // Given a segment overriding the same feature twice
    const input = doc();
    input.project.segments[1].feature_states[1] = clone(input.project.segments[1].feature_states[0]);

    // When it is validated
    // Then the second override is blamed
    expect(problem(input)).toBe('$.project.segments[1].feature_states[1].feature: this segment overrides feature "banner_text" twice (also at index 0)');
  });

  it("validate__rulesNestedTooDeep__rejected", () => {
    // Given rules nested 40 levels deep
    const input = doc();
    let nested: Record<string, unknown> = { type: "ALL", conditions: [], rules: [] };
    for (let i = 0; i < 40; i++) nested = { type: "ALL", conditions: [], rules: [nested] };
    (input.project.segments[0] as unknown as { rules: unknown[] }).rules = [nested];

    // When it is validated
    // Then the depth limit is reported at the deepest allowed rule's child
    expect(problem(input)).toMatch(/^\$\.project\.segments\[0\]\.rules\[0\](\.rules\[0\]){32}: rules are nested more than 32 levels deep$/);
  });

  it("validate__twoProblems__firstReported", () => {
    // Given problems in segments 1 and 3
    const input = doc();
    input.project.segments[3].rules[0].type = "X";
    input.project.segments[1].rules[0].type = "Y";

    // When it is validated
    // Then the first one (in document order) is reported
    expect(problem(input)).toBe("$.project.segments[1].rules[0].type: expected ALL, ANY or NONE");
  });

  it("validate__absentOptionalArraysAndNulls__defaults", () => {
    // Given a minimal document: nulls and absent arrays where Flagsmith documents may have them
    const input = {
      api_key: "minimal",
      project: { name: "P", segments: [{ id: 1, name: "s", rules: [{ type: "ALL", conditions: [{ operator: "IS_SET", property_: "x" }] }], feature_states: null }] },
      feature_states: [{ feature: { id: 1, name: "f" }, enabled: true, django_id: 3, feature_state_value: null, multivariate_feature_state_values: null }],
      identity_overrides: null,
    };

    // When it is validated
    const result = validateFlagsmithDocument(input);

    // Then defaults fill the gaps
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.document.project.segments[0].rules[0]).toEqual({ type: "ALL", conditions: [{ operator: "IS_SET", property_: "x", value: null }], rules: [] });
    expect(result.document.project.segments[0].feature_states).toEqual([]);
    expect(result.document.feature_states[0].feature.type).toBe("STANDARD");
    expect(result.document.identity_overrides).toEqual([]);
  });
});

describe("parseFlagsmithDocument", () => {
  it("parse__invalidDocument__badInputOnDocumentField", () => {
    // Given an invalid document
    const input = doc();
    input.project.segments[2].rules[0].type = "SOME";

    // When it is parsed
    let caught: unknown;
    try {
      parseFlagsmithDocument(input);
    } catch (error) {
      caught = error;
    }

    // Then a BAD_REQUEST domain error carries the path, on field "document"
    expect(caught).toBeInstanceOf(DomainError);
    expect((caught as DomainError).code).toBe("BAD_REQUEST");
    expect((caught as DomainError).field).toBe("document");
    expect((caught as DomainError).message).toBe("$.project.segments[2].rules[0].type: expected ALL, ANY or NONE");
  });
});

describe("helpers", () => {
  it("jsonPath__oddKeys__bracketNotation", () => {
    // Given path parts with identifiers, indexes and keys that are not identifiers
    // When formatted
    // Then identifiers use dots, others brackets
    expect(jsonPath(["project", "segments", 2, "rules"])).toBe("$.project.segments[2].rules");
    expect(jsonPath(["a b", 0, "ok_1"], "$.environment")).toBe('$.environment["a b"][0].ok_1');
  });

  it("toStoredRules__documentRules__propertyRenamed", () => {
    // Given document rules (property_)
    const rules = [{ type: "ALL" as const, conditions: [{ operator: "EQUAL" as const, property_: "age", value: "3" }], rules: [{ type: "NONE" as const, conditions: [], rules: [] }] }];

    // When converted to the stored shape
    // Then property_ becomes property and nesting is kept
    expect(toStoredRules(rules)).toEqual([{ type: "ALL", conditions: [{ operator: "EQUAL", property: "age", value: "3" }], rules: [{ type: "NONE", conditions: [], rules: [] }] }]);
  });
});
