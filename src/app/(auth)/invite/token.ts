/** Reading an invitation token from the address fragment (pure: shared by the invite and sign-in pages). */

/**
 * The token in `#<token>` or `#invite=<token>`; null when there is none. A client-side navigation
 * from `/login#invite=<token>` to `/invite#<token>` can briefly leave both fragments in the address
 * (`#invite=<token>#<token>`): the last one counts.
 */
export function tokenFromHash(hash: string): string | null {
  const raw = hash.split("#").filter(Boolean).at(-1) ?? "";
  const value = raw.startsWith("invite=") ? raw.slice("invite=".length) : raw;
  try {
    const token = decodeURIComponent(value).trim();
    return token ? token : null;
  } catch {
    return null;
  }
}
