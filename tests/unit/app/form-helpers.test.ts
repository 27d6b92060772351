/**
 * The admin UI's form helpers (src/app/_components): typed value drafts, allocation parsing, the
 * rule builder's draft ↔ API conversion, placing server field errors, and timestamps in audit
 * summaries. Pure functions only.
 */
import { describe, expect, it } from "vitest";
import { MESSAGES, validateRules } from "@/server/segments/validation";
import { fieldError, unplacedError, type FormError } from "@/app/_components/errors";
import { parseTags } from "@/app/_components/feature-form";
import { draftsOf, initialRules, rulesInput } from "@/app/_components/rule-builder";
import { draftOf, parseAllocations, parsePercent, parseTraitValue, parseValue } from "@/app/_components/values";
import { summaryParts } from "@/app/_components/audit-log";

describe("typed values", () => {
  it("draftOf__eachValueType__roundTripsThroughParseValue", () => {
    // Given one value of each type
    const values = ["blue", "", 42, -7, true, false, null];
    // When each is turned into a draft and parsed back
    const parsed = values.map((value) => parseValue(draftOf(value)));
    // Then every value comes back unchanged
    expect(parsed).toEqual(values.map((value) => ({ ok: true, value })));
  });

  it("parseValue__decimalOrTextAsNumber__wholeNumberError", () => {
    // Given number drafts that are not whole numbers
    // When they are parsed
    const results = ["1.5", "abc", "", "9007199254740993"].map((text) => parseValue({ kind: "integer", text }));
    // Then each is rejected with a message for the field
    expect(results.map((r) => r.ok)).toEqual([false, false, false, false]);
    expect(results[0]).toEqual({ ok: false, error: "Enter a whole number, e.g. 42" });
    expect(results[3]).toEqual({ ok: false, error: "This number is too large" });
  });

  it("parseTraitValue__decimal__accepted", () => {
    // Given a trait number with decimals (traits keep floats)
    // When it is parsed
    const result = parseTraitValue({ kind: "integer", text: "1.5" });
    // Then it is accepted as a number
    expect(result).toEqual({ ok: true, value: 1.5 });
  });

  it("parseTags__commaSeparatedWithBlanksAndDuplicates__trimmedUniqueTags", () => {
    // Given tags typed with spaces, an empty entry and a duplicate
    // When they are parsed
    const tags = parseTags(" checkout, beta,, checkout ");
    // Then each tag appears once, trimmed
    expect(tags).toEqual(["checkout", "beta"]);
  });
});

describe("allocations", () => {
  const options = [
    { id: 1, value: "green", key: null },
    { id: 2, value: "red", key: "r" },
  ];

  it("parseAllocations__sumOver100__serverMessage", () => {
    // Given allocations of 60% and 50%
    // When they are parsed
    const result = parseAllocations(options, { 1: "60", 2: "50" });
    // Then the sum is rejected with the server's own message
    expect(result).toEqual({ ok: false, error: "Allocations add up to 110%, more than 100%" });
  });

  it("parseAllocations__missingOption__countsAsZero", () => {
    // Given an allocation for the first option only
    // When they are parsed
    const result = parseAllocations(options, { 1: "30" });
    // Then every option is listed, the missing one at 0%
    expect(result).toEqual({ ok: true, value: [{ optionId: 1, percentageAllocation: 30 }, { optionId: 2, percentageAllocation: 0 }] });
  });

  it("parsePercent__outOfRangeOrEmpty__message", () => {
    // Given percentages outside 0–100 and an empty one
    // When they are parsed
    // Then each has a message
    expect(parsePercent("101")).toEqual({ ok: false, error: "Allocations are between 0 and 100" });
    expect(parsePercent("-1")).toEqual({ ok: false, error: "Allocations are between 0 and 100" });
    expect(parsePercent(" ")).toEqual({ ok: false, error: "Enter a percentage" });
    expect(parsePercent("12.5")).toEqual({ ok: true, value: 12.5 });
  });
});

describe("rule builder drafts", () => {
  it("rulesInput__semverAndValuelessOperators__apiShape", () => {
    // Given stored rules with a semver comparison, an IS_SET, a percentage split and a nested rule
    const stored = [
      {
        type: "ALL",
        conditions: [
          { operator: "GREATER_THAN", property: "version", value: "1.2.0:semver" },
          { operator: "IS_SET", property: "email", value: null },
          { operator: "PERCENTAGE_SPLIT", property: null, value: "25" },
        ],
        rules: [{ type: "ANY", conditions: [{ operator: "IN", property: "country", value: "gb,fr" }], rules: [] }],
      },
    ];
    // When they become drafts and back
    const drafts = draftsOf(stored);
    const input = rulesInput(drafts);
    // Then the semver suffix is a checkbox in the draft, and the API input equals what was stored
    expect(drafts[0].conditions[0]).toMatchObject({ value: "1.2.0", semver: true });
    expect(input).toEqual(stored);
    expect(validateRules(input)).toEqual({});
  });

  it("rulesInput__invalidRegexInNestedRule__validatorPathMatchesBuilder", () => {
    // Given a new segment's rules with a nested rule holding an invalid regex
    const drafts = initialRules();
    drafts[0].conditions[0] = { ...drafts[0].conditions[0], property: "plan", value: "pro" };
    drafts[0].rules = draftsOf([{ type: "ANY", conditions: [{ operator: "REGEX", property: "email", value: "([a-z" }], rules: [] }]);
    // When the builder's input is validated
    const errors = validateRules(rulesInput(drafts));
    // Then the message is keyed by the path the builder shows it at
    expect(errors).toEqual({ "rules.0.rules.0.conditions.0.value": MESSAGES.regex });
  });
});

describe("server field errors", () => {
  const error: FormError = { message: "Allocations add up to 120%", fieldErrors: { "options.1.defaultPercentageAllocation": "Allocations add up to 120%" } };

  it("fieldError__nestedPath__foundUnderItsParentField", () => {
    // Given a server error on a nested input path
    // When the form looks for the error of `options`
    // Then it gets the nested message, and the error counts as placed
    expect(fieldError(error, "name", "options")).toBe("Allocations add up to 120%");
    expect(unplacedError(error, "options")).toBeUndefined();
  });

  it("unplacedError__noFieldShown__messageForTheTopOfTheForm", () => {
    // Given a server error on a field the form does not show
    // When the form asks for what to show at the top
    // Then it gets the message
    expect(unplacedError(error, "name")).toBe("Allocations add up to 120%");
    expect(unplacedError({ message: "Internal error", fieldErrors: {} }, "name")).toBe("Internal error");
    expect(fieldError(null, "name")).toBeUndefined();
  });
});

describe("audit summaries", () => {
  it("summaryParts__isoTimestampsInText__splitOutAsTimesTextKept", () => {
    // Given summaries as the server writes them
    const scheduled = 'Feature "x": value → "orange" scheduled for 2026-11-21T17:30:00.000Z';

    // When split
    // Then the UTC timestamps become times (for local formatting) and the text is kept around them
    expect(summaryParts(scheduled)).toEqual([{ text: 'Feature "x": value → "orange" scheduled for ' }, { time: "2026-11-21T17:30:00.000Z" }]);
    expect(summaryParts("from 2026-01-02T03:04:05Z to 2026-13-45T99:99:99Z, then done")).toEqual([
      { text: "from " },
      { time: "2026-01-02T03:04:05Z" },
      { text: " to 2026-13-45T99:99:99Z, then done" },
    ]);
    expect(summaryParts('Feature "2026" created')).toEqual([{ text: 'Feature "2026" created' }]);
  });
});
