/**
 * Pure helpers behind the admin UI's polish: the feature list's URL filters and sort, the audit
 * diff, keyboard shortcuts, navigation progress, the theme choice, and which cached queries are
 * about something deleted.
 */
import { describe, expect, it } from "vitest";
import { filtersFromParams, queryWithFilters, sortFeatures } from "@/app/_components/feature-filters";
import { diffJson } from "@/app/_components/json-diff";
import { isPageChange } from "@/app/_components/navigation";
import { isTypingTarget, shortcutFor, type ShortcutKey } from "@/app/_components/shortcuts";
import { parsePreference, resolveTheme, THEME_SCRIPT } from "@/app/_components/theme-script";
import { queryIsAbout } from "@/app/_components/use-invalidate";

describe("feature list filters", () => {
  it("filtersFromParams__queryString__filtersWithDefaultsForUnknownValues", () => {
    // Given a query string with every filter, and one with an unknown sort
    const full = new URLSearchParams("q=check&tag=beta&archived=1&sort=newest&tab=x");
    const odd = new URLSearchParams("sort=sideways&archived=yes");
    // When they are read
    // Then known values are taken and the rest falls back to the defaults
    expect(filtersFromParams(full)).toEqual({ search: "check", tag: "beta", archived: true, sort: "newest" });
    expect(filtersFromParams(odd)).toEqual({ search: "", tag: "", archived: false, sort: "name" });
  });

  it("queryWithFilters__defaultsAndOtherParams__defaultsLeftOutOthersKept", () => {
    // Given a query string with an unrelated parameter and an old search
    const current = "?q=old&utm=mail";
    // When the filters are written: a trimmed search, no tag, archived on, the default sort
    const query = queryWithFilters(current, { search: "  new ", tag: "", archived: true, sort: "name" });
    // Then only non-default filters are in it, and the other parameter stays
    expect(query).toBe("?q=new&utm=mail&archived=1");
    expect(queryWithFilters("", { search: "", tag: "", archived: false, sort: "name" })).toBe("");
  });

  it("sortFeatures__eachSort__orderedWithNameAsTieBreak", () => {
    // Given three features created at different times, one enabled
    const rows = [
      { name: "beta", createdAt: "2026-01-02T00:00:00Z", state: { enabled: false } },
      { name: "Alpha", createdAt: "2026-01-03T00:00:00Z", state: { enabled: false } },
      { name: "gamma", createdAt: "2026-01-01T00:00:00Z", state: { enabled: true } },
    ];
    // When they are sorted every way
    const names = (sort: Parameters<typeof sortFeatures>[1]) => sortFeatures(rows, sort).map((row) => row.name);
    // Then each order is as named (names ignore case), and the input is not changed
    expect(names("name")).toEqual(["Alpha", "beta", "gamma"]);
    expect(names("name-desc")).toEqual(["gamma", "beta", "Alpha"]);
    expect(names("newest")).toEqual(["Alpha", "beta", "gamma"]);
    expect(names("oldest")).toEqual(["gamma", "beta", "Alpha"]);
    expect(names("enabled")).toEqual(["gamma", "Alpha", "beta"]);
    expect(rows.map((row) => row.name)).toEqual(["beta", "Alpha", "gamma"]);
  });
});

describe("audit diff", () => {
  it("diffJson__changedAddedRemovedNested__eachLeafMarkedInOrder", () => {
    // Given a state whose toggle changed, one allocation changed, a field removed and one added
    const before = { enabled: false, value: "a", allocations: [{ optionId: 1, percentageAllocation: 30 }], note: "x" };
    const after = { enabled: true, value: "a", allocations: [{ optionId: 1, percentageAllocation: 40 }], priority: 2 };
    // When they are compared
    const diff = diffJson(before, after);
    // Then every leaf is listed by path with its kind, removed ones where they were
    expect(diff.map((entry) => [entry.path, entry.kind])).toEqual([
      ["enabled", "changed"],
      ["value", "unchanged"],
      ["allocations[0].optionId", "unchanged"],
      ["allocations[0].percentageAllocation", "changed"],
      ["note", "removed"],
      ["priority", "added"],
    ]);
    expect(diff[3]).toEqual({ path: "allocations[0].percentageAllocation", label: "allocations › #1 › percentageAllocation", kind: "changed", before: 30, after: 40 });
  });

  it("diffJson__namedAllocationsAndPriorities__labelsReadByNameAndFromOne", () => {
    // Given a readable audit state (variations by name) and an override order (segment names)
    const before = { allocations: { '"green"': 30 }, priorities: ["beta", "vip"] };
    const after = { allocations: { '"green"': 40 }, priorities: ["vip", "beta"] };
    // When they are compared
    const diff = diffJson(before, after);
    // Then each row is labelled by variation name and by position counted from 1
    expect(diff.map((entry) => [entry.label, entry.kind, entry.before, entry.after])).toEqual([
      ['allocations › "green"', "changed", 30, 40],
      ["priorities › #1", "changed", "beta", "vip"],
      ["priorities › #2", "changed", "vip", "beta"],
    ]);
  });

  it("diffJson__creationAndDeletion__allAddedOrAllRemoved", () => {
    // Given an entry with no "before" (created) and one with no "after" (deleted)
    // When they are compared
    const created = diffJson(null, { name: "x", tags: [] });
    const deleted = diffJson({ name: "x" }, null);
    // Then every field is added, or removed (an empty list is a value of its own)
    expect(created).toEqual([
      { path: "name", label: "name", kind: "added", after: "x" },
      { path: "tags", label: "tags", kind: "added", after: [] },
    ]);
    expect(deleted).toEqual([{ path: "name", label: "name", kind: "removed", before: "x" }]);
  });
});

describe("keyboard shortcuts", () => {
  const key = (k: string, extra: Partial<ShortcutKey> = {}): ShortcutKey => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, target: { tagName: "BODY" }, ...extra });

  it("shortcutFor__plainKeysOnThePage__searchCreateHelp", () => {
    // Given "/", "c" and "?" pressed on the page (not in a field)
    // When they are looked up
    // Then each is its shortcut, and other keys are none
    expect([key("/"), key("c"), key("?"), key("x"), key("C")].map(shortcutFor)).toEqual(["search", "create", "help", null, null]);
  });

  it("shortcutFor__ctrlOrCmdZOutsideFields__undoButNotShiftedNorWhileTyping", () => {
    // Given Ctrl+Z and ⌘Z on the page, and the same keys with Shift (redo), with Alt, or typed into a field
    const undo = [key("z", { ctrlKey: true }), key("z", { metaKey: true }), key("Z", { ctrlKey: true })];
    const not = [key("z", { ctrlKey: true, shiftKey: true }), key("z", { ctrlKey: true, altKey: true }), key("z", { ctrlKey: true, target: { tagName: "INPUT" } }), key("z")];
    // When they are looked up
    // Then only the plain Ctrl/⌘+Z outside fields is Undo (in a field it undoes typing)
    expect(undo.map(shortcutFor)).toEqual(["undo", "undo", "undo"]);
    expect(not.map(shortcutFor)).toEqual([null, null, null, null]);
  });

  it("shortcutFor__typingOrModifierKeys__none", () => {
    // Given the keys typed into fields, editable content, or pressed with Ctrl, ⌘ or Alt
    const typing = ["INPUT", "textarea", "SELECT"].map((tagName) => key("c", { target: { tagName } }));
    const editable = key("/", { target: { tagName: "DIV", isContentEditable: true } });
    const modified = [key("c", { ctrlKey: true }), key("c", { metaKey: true }), key("/", { altKey: true }), key("c", { isComposing: true })];
    // When they are looked up
    // Then none is a shortcut
    expect([...typing, editable, ...modified].map(shortcutFor)).toEqual(Array(8).fill(null));
    expect(isTypingTarget(null)).toBe(false);
    expect(isTypingTarget({ tagName: "BUTTON" })).toBe(false);
  });
});

describe("navigation progress", () => {
  it("isPageChange__otherPathOrQuery__trueHashOrOtherOriginFalse", () => {
    // Given the current page
    const here = "https://flags.example/p/1/e/2/features?q=a";
    // When links to other addresses are checked
    // Then another path or query loads a page; the same address, a hash or another site does not
    expect(isPageChange("/p/1/segments", here)).toBe(true);
    expect(isPageChange("?q=b", here)).toBe(true);
    expect(isPageChange("/p/1/e/2/features?q=a", here)).toBe(false);
    expect(isPageChange("#main", here)).toBe(false);
    expect(isPageChange("https://docs.example/", here)).toBe(false);
  });
});

describe("theme", () => {
  it("resolveTheme__preferenceAndSystem__storedChoiceWinsSystemOtherwise", () => {
    // Given each stored preference (and junk)
    // When it is resolved with a dark and a light system
    // Then an explicit choice wins and "system" follows the system
    expect(["light", "dark", null, "purple"].map((value) => parsePreference(value))).toEqual(["light", "dark", "system", "system"]);
    expect([resolveTheme("system", true), resolveTheme("system", false), resolveTheme("light", true), resolveTheme("dark", false)]).toEqual(["dark", "light", "light", "dark"]);
    expect(THEME_SCRIPT).toContain('"flagpost:theme"');
  });
});

describe("queries about a deleted entity", () => {
  it("queryIsAbout__inputNamingTheId__onlyThoseQueries", () => {
    // Given tRPC query keys of a feature page and of the list
    const get = [["features", "get"], { input: { featureId: 7 }, type: "query" }];
    const audit = [["audit", "list"], { input: { projectId: 1, featureId: 7 }, type: "infinite" }];
    const other = [["features", "get"], { input: { featureId: 8 }, type: "query" }];
    const list = [["features", "list"], { input: { projectId: 1 }, type: "query" }];
    const bare = [["organisations", "list"]];
    // When they are checked against the deleted feature 7
    // Then only the queries whose input names it match
    expect([get, audit, other, list, bare].map((queryKey) => queryIsAbout(queryKey, { featureId: 7 }))).toEqual([true, true, false, false, false]);
  });
});
