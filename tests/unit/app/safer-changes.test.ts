/**
 * Pure helpers behind safer changes in the admin UI: which changes ask for a confirmation, and how
 * long toasts stay.
 */
import { describe, expect, it } from "vitest";
import { protectedChangeRequest } from "@/app/_components/protected-change";
import { toastDuration } from "@/app/_components/ui";

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

describe("toasts", () => {
  it("toastDuration__plainErrorAndWithAction__actionLongest", () => {
    // Given a plain toast, an error and a toast with Undo
    // When their durations are asked for
    // Then the one with an action stays longest (well past the old 8 s)
    expect(toastDuration("success")).toBe(4000);
    expect(toastDuration("error")).toBe(8000);
    expect(toastDuration("success", { label: "Undo", run: () => undefined })).toBe(20_000);
  });
});
