/**
 * The compare page's filters in its query string (src/app/_components/compare-filters.ts).
 */
import { describe, expect, it } from "vitest";
import { compareFiltersFromParams, DEFAULT_COMPARE_FILTERS, queryWithCompareFilters } from "@/app/_components/compare-filters";

describe("compare filters", () => {
  it("compareFiltersFromParams__everyFilter__readBack", () => {
    // Given a query string with every filter and an unrelated parameter
    const params = new URLSearchParams("q=bann&tag=payments&archived=1&diff=1&from=42&utm=mail");
    // When it is read
    const filters = compareFiltersFromParams(params);
    // Then each filter is taken
    expect(filters).toEqual({ search: "bann", tag: "payments", archived: true, onlyDifferences: true, referenceId: 42 });
  });

  it("compareFiltersFromParams__malformedValues__defaults", () => {
    // Given values that are not what the page writes (an id that is not a positive integer, "yes" for a switch)
    for (const from of ["0", "-3", "1.5", "abc", "12345678901", ""]) {
      // When it is read
      const filters = compareFiltersFromParams(new URLSearchParams(`from=${from}&diff=yes&archived=true`));
      // Then the defaults are used
      expect(filters, from).toEqual(DEFAULT_COMPARE_FILTERS);
    }
  });

  it("queryWithCompareFilters__defaultsAndOtherParams__defaultsLeftOutOthersKept", () => {
    // Given a query string with an unrelated parameter and an old search
    const current = "?q=old&utm=mail";
    // When the filters are written: a trimmed search, no tag, differences only, compared with environment 7
    const query = queryWithCompareFilters(current, { search: "  new ", tag: "", archived: false, onlyDifferences: true, referenceId: 7 });
    // Then only non-default filters are in it, the other parameter stays, and it reads back the same
    expect(query).toBe("?q=new&utm=mail&diff=1&from=7");
    expect(compareFiltersFromParams(new URLSearchParams(query))).toEqual({ search: "new", tag: "", archived: false, onlyDifferences: true, referenceId: 7 });
    expect(queryWithCompareFilters("", DEFAULT_COMPARE_FILTERS)).toBe("");
  });
});
