/**
 * Strict SemVer 2.0.0 parsing and precedence, as python-semver's `Version.parse` / `Version.compare` (used by
 * the Flagsmith engine for `:semver` condition values). No `v` prefix, no leading zeros, no whitespace;
 * build metadata is ignored for precedence. Numeric parts are compared as decimal strings, so arbitrarily
 * large components are exact (as in Python).
 */

export interface SemVer {
  major: string;
  minor: string;
  patch: string;
  /** Dot-separated prerelease identifiers; empty when the version has none. */
  prerelease: readonly string[];
}

const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/;

const NUMERIC_RE = /^[0-9]+$/;

/** The `:semver` suffix marking a condition value as a semantic version. */
export const SEMVER_SUFFIX = ":semver";

export function isSemverConditionValue(value: string): boolean {
  return value.endsWith(SEMVER_SUFFIX);
}

export function parseSemver(text: string): SemVer | null {
  const match = SEMVER_RE.exec(text);
  if (match === null) return null;
  return { major: match[1], minor: match[2], patch: match[3], prerelease: match[4] ? match[4].split(".") : [] };
}

/** Compares non-negative decimal integers without leading zeros. */
function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePrereleaseIdentifier(a: string, b: string): number {
  const aNumeric = NUMERIC_RE.test(a);
  const bNumeric = NUMERIC_RE.test(b);
  if (aNumeric && bNumeric) return compareDecimal(a, b);
  if (aNumeric) return -1;
  if (bNumeric) return 1;
  return a < b ? -1 : a > b ? 1 : 0; // ASCII-only identifiers: code-unit order is code-point order
}

/** Negative, zero or positive as `a` has lower, equal or higher precedence than `b`. */
export function compareSemver(a: SemVer, b: SemVer): number {
  const core = compareDecimal(a.major, b.major) || compareDecimal(a.minor, b.minor) || compareDecimal(a.patch, b.patch);
  if (core !== 0) return core;
  const pa = a.prerelease;
  const pb = b.prerelease;
  if (pa.length === 0 || pb.length === 0) return pb.length - pa.length; // a release outranks its prereleases
  const length = Math.min(pa.length, pb.length);
  for (let i = 0; i < length; i++) {
    const result = comparePrereleaseIdentifier(pa[i], pb[i]);
    if (result !== 0) return result;
  }
  return pa.length - pb.length;
}
