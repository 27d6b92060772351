/**
 * Python `re.match(pattern, text)` emulation for the REGEX operator.
 *
 * `re.match` anchors at the start of the text only (not at the end), so the translated pattern is wrapped in a
 * start anchor. The most common Python-only syntax is translated to its JavaScript equivalent:
 * - leading global inline flags `(?i)`, `(?m)`, `(?s)`, `(?x)`, `(?a)`, `(?u)` → RegExp flags (verbose mode
 *   strips unescaped whitespace and `#` comments);
 * - named groups `(?P<name>…)` and back-references `(?P=name)`;
 * - `\A` / `\Z` (start / end of text), `(?#comments)`;
 * - `$` without MULTILINE, which in Python also matches before a final newline;
 * - `]` as the first character of a class, which is a literal in Python.
 *
 * Remaining dialect differences (documented, not translated): `\d`, `\w`, `\s` are Unicode-aware in Python and
 * ASCII in JavaScript; Python-only constructs (possessive quantifiers, atomic groups, conditionals) make the
 * pattern invalid here. Invalid patterns return null, and the condition never matches (Python would raise).
 */

import safeRegex from "safe-regex2";

const INLINE_FLAGS_RE = /^\(\?([aiLmsux]+)\)/;

/**
 * True when a pattern has nested repetition (star height > 1, e.g. `(a+)+$`), which backtracking
 * engines can take exponential time on. Segment rules run admin-written patterns against end-user
 * trait values in the SDK request path, so such patterns are refused when a segment is saved or
 * imported, and never evaluated (they do not match). The Python-only syntax is normalised first; the
 * check is structural (safe-regex2), so an unusual pattern it cannot parse also counts as unsafe. An
 * invalid pattern is not "nested": it never runs anyway and is reported as invalid.
 */
export function hasNestedRepetition(pattern: string): boolean {
  if (compilePythonRegex(pattern) === null) return false;
  const normalised = pattern
    .replace(/^(\(\?[aiLmsux]+\))+/, "")
    .replace(/\(\?#[^)]*\)/g, "")
    .replace(/\(\?P<[A-Za-z_]\w*>/g, "(")
    .replace(/\(\?P=[A-Za-z_]\w*\)/g, "")
    .replace(/\\A/g, "^")
    .replace(/\\Z/g, "$");
  return !safeRegex(normalised);
}

export function compilePythonRegex(pattern: string): RegExp | null {
  let rest = pattern;
  let ignoreCase = false;
  let multiline = false;
  let dotAll = false;
  let verbose = false;
  for (let match = INLINE_FLAGS_RE.exec(rest); match !== null; match = INLINE_FLAGS_RE.exec(rest)) {
    for (const flag of match[1]) {
      if (flag === "i") ignoreCase = true;
      else if (flag === "m") multiline = true;
      else if (flag === "s") dotAll = true;
      else if (flag === "x") verbose = true;
      else if (flag === "L") return null; // LOCALE is invalid for str patterns in Python 3
      // "a" (ASCII) is JavaScript's default behaviour; "u" is Python's default for str patterns.
    }
    rest = rest.slice(match[0].length);
  }
  const body = translate(rest, multiline, verbose);
  if (body === null) return null;
  // Without the m flag `^` only matches at the start of the input; with it, a look-behind pins position 0.
  const anchored = (multiline ? "(?<![\\s\\S])(?:" : "^(?:") + body + ")";
  const flags = (ignoreCase ? "i" : "") + (multiline ? "m" : "") + (dotAll ? "s" : "");
  try {
    return new RegExp(anchored, flags);
  } catch {
    return null;
  }
}

function translate(pattern: string, multiline: boolean, verbose: boolean): string | null {
  let out = "";
  let inClass = false;
  let i = 0;
  while (i < pattern.length) {
    const char = pattern[i];
    if (char === "\\") {
      const next = pattern[i + 1];
      if (next === undefined) return null; // trailing backslash
      if (!inClass && next === "A") out += "(?<![\\s\\S])";
      else if (!inClass && next === "Z") out += "(?![\\s\\S])";
      else out += char + next;
      i += 2;
      continue;
    }
    if (inClass) {
      if (char === "]") inClass = false;
      out += char;
      i++;
      continue;
    }
    if (char === "[") {
      inClass = true;
      out += char;
      i++;
      if (pattern[i] === "^") {
        out += "^";
        i++;
      }
      if (pattern[i] === "]") {
        out += "\\]"; // a leading "]" is literal in Python; JS would read "[]" as an empty class
        i++;
      }
      continue;
    }
    if (verbose && (char === " " || char === "\t" || char === "\n" || char === "\r" || char === "\f" || char === "\v")) {
      i++;
      continue;
    }
    if (verbose && char === "#") {
      while (i < pattern.length && pattern[i] !== "\n") i++;
      continue;
    }
    if (char === "(" && pattern[i + 1] === "?") {
      if (pattern[i + 2] === "#") {
        const close = pattern.indexOf(")", i);
        if (close === -1) return null;
        i = close + 1;
        continue;
      }
      if (pattern[i + 2] === "P") {
        if (pattern[i + 3] === "<") {
          out += "(?<";
          i += 4;
          continue;
        }
        if (pattern[i + 3] === "=") {
          const close = pattern.indexOf(")", i);
          if (close === -1) return null;
          out += "\\k<" + pattern.slice(i + 4, close) + ">";
          i = close + 1;
          continue;
        }
        return null;
      }
    }
    if (char === "$" && !multiline) {
      out += "(?=\\n?(?![\\s\\S]))";
      i++;
      continue;
    }
    out += char;
    i++;
  }
  return inClass ? null : out;
}
