/** The invitation token read from the address fragment (src/app/(auth)/invite/token.ts). */
import { describe, expect, it } from "vitest";
import { tokenFromHash } from "@/app/(auth)/invite/token";

const TOKEN = "fp_inv_YYAM1m2IJMv3Q0Yk7M1zyVJvim3QHO2EqL25mlgQ6V0";

describe("tokenFromHash", () => {
  it("tokenFromHash__inviteLinkOrSignInFragment__theToken", () => {
    // Given the fragments of an invitation link and of the sign-in page carrying it
    // When they are read
    // Then both give the token
    expect(tokenFromHash(`#${TOKEN}`)).toBe(TOKEN);
    expect(tokenFromHash(`#invite=${TOKEN}`)).toBe(TOKEN);
  });

  it("tokenFromHash__bothFragmentsDuringANavigation__theLastToken", () => {
    // Given the address during the client-side navigation from sign-in back to the invitation
    const hash = `#invite=${TOKEN}#${TOKEN}`;

    // When it is read
    const token = tokenFromHash(hash);

    // Then it is the token, not both joined
    expect(token).toBe(TOKEN);
  });

  it("tokenFromHash__emptyOrBrokenFragment__null", () => {
    // Given fragments without a token, or with broken percent-encoding
    // When they are read
    // Then there is no token
    expect(tokenFromHash("")).toBeNull();
    expect(tokenFromHash("#")).toBeNull();
    expect(tokenFromHash("#invite=")).toBeNull();
    expect(tokenFromHash("#%E0%A4%A")).toBeNull();
  });
});
