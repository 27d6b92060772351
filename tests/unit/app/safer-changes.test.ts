/**
 * Pure helpers behind safer changes in the admin UI: which changes ask for a confirmation, which
 * keys on a closed switcher wait for Enter, how long toasts stay, and copy buttons' names.
 */
import { describe, expect, it } from "vitest";
import { keyDefersChange, type SelectKey } from "@/app/_components/navigation-select";
import { protectedChangeRequest } from "@/app/_components/protected-change";
import { inSentence, toastDuration } from "@/app/_components/ui";

describe("protected changes", () => {
  it("protectedChangeRequest__protectedUnprotectedOrUnknown__asksUnlessKnownUnprotected", () => {
    // Given a protected environment, an unprotected one, and one whose protection is not known
    const production = protectedChangeRequest({ name: "Production", isProtected: true }, "Save checkout", "Save change");
    const development = protectedChangeRequest({ name: "Development", isProtected: false }, "Save checkout", "Save change");
    const unknown = protectedChangeRequest(undefined, "Save checkout", "Save change");
    // When a change is asked for in each
    // Then only the known unprotected one goes ahead without asking; the unknown one asks as a protected one does
    expect(production).toEqual({ title: "Change Production?", message: "Production is a protected environment. Save checkout in Production?", confirmLabel: "Save change" });
    expect(development).toBeNull();
    expect(unknown?.title).toBe("Change this environment?");
    expect(unknown?.message).toContain("could not check whether this environment is protected");
    expect(unknown?.confirmLabel).toBe("Save change");
  });
});

describe("navigation switchers", () => {
  const key = (k: string, extra: Partial<SelectKey> = {}): SelectKey => ({ key: k, altKey: false, ctrlKey: false, metaKey: false, ...extra });

  it("keyDefersChange__keysChangingTheClosedList__waitForEnter", () => {
    // Given keys that change a closed list's value in place (arrows, Home/End, Page keys, typing a letter)
    const inPlace = ["ArrowDown", "ArrowUp", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown", "p"].map((k) => key(k));
    // When they are classified
    // Then the change they make waits for Enter
    expect(inPlace.map(keyDefersChange)).toEqual(Array(inPlace.length).fill(true));
  });

  it("keyDefersChange__keysOpeningTheListOrOthers__changeGoesAtOnce", () => {
    // Given keys that open the list (Space, F4, Alt+↓), Enter, Escape, Tab and shortcuts with Ctrl or ⌘
    const others = [key(" "), key("F4"), key("ArrowDown", { altKey: true }), key("Enter"), key("Escape"), key("Tab"), key("z", { ctrlKey: true }), key("a", { metaKey: true })];
    // When they are classified
    // Then none defers (a choice in the opened list is confirmed there)
    expect(others.map(keyDefersChange)).toEqual(Array(others.length).fill(false));
  });
});

describe("toasts and copy buttons", () => {
  it("toastDuration__plainErrorAndWithAction__actionLongest", () => {
    // Given a plain toast, an error and a toast with Undo
    // When their durations are asked for
    // Then the one with an action stays longest (well past the old 8 s)
    expect(toastDuration("success")).toBe(4000);
    expect(toastDuration("error")).toBe(8000);
    expect(toastDuration("success", { label: "Undo", run: () => undefined })).toBe(20_000);
  });

  it("inSentence__labels__firstLetterLoweredUnlessAnAcronym", () => {
    // Given field labels, some starting with an acronym
    // When they are put in a sentence ("Copy …")
    // Then a word is lowered, an acronym kept
    expect(["Client-side environment key", "API URL", "OFREP base URL", "Invitation link"].map(inSentence)).toEqual(["client-side environment key", "API URL", "OFREP base URL", "invitation link"]);
  });
});
