/**
 * Python `re.match(pattern, text)` for the REGEX operator, evaluated in linear time by RE2 (re2js, a pure
 * JavaScript port of RE2: no backtracking, time proportional to program size × text length). Evaluation runs on
 * RE2's lazy DFA with a small memory budget (DFA_MEMORY_BYTES): almost every pattern needs a handful of states and
 * runs at one table lookup per character; a pattern whose DFA needs a new state for almost every character
 * (`(a|b)*a.{100}`) exhausts the budget at once, and RE2 then gives the DFA up for that evaluation and finishes on
 * its NFA or bit-state backtracker (no captures asked for), whose cost is bounded on every evaluation: about one step
 * per instruction per character. With re2js's default budget (8 MB) such a pattern costs tens of milliseconds per
 * evaluation while the DFA builds thousands of states.
 *
 * A pattern is parsed with Python's own grammar (CPython `re/_parser.py`, 3.11+), so a pattern Python would reject
 * is "invalid" (it never matches: Flagsmith's `re.match` would raise), and it is translated to an equivalent RE2
 * program:
 * - `re.match` anchors at the start only: the program is anchored at position 0 (`\A`);
 * - inline flags: global `(?i)` `(?m)` `(?s)` `(?x)` `(?a)` `(?u)` and scoped `(?i-s:…)`; multi-line, dot-all and
 *   verbose are applied by the translation itself (`^`, `$`, `.`, whitespace and `#` comments);
 * - `$` without MULTILINE also matches before a final newline (run a second time on the text without it);
 *   `\Z` is the end of the text only; `\A`, `\b`, `\B` as in Python;
 * - groups (named `(?P<name>…)` too) become non-capturing: only the match/no-match answer is used;
 * - Python's `{,n}` and `{,}` repeats, literal `{` where Python reads no repeat, octal (`\0`, `\012`), `\x`, `\u`,
 *   `\U` escapes, `]` as the first character of a class, `[` inside a class (literal in Python);
 * - `\s`/`\S` are Python's whitespace (Unicode, or ASCII under `(?a)`); `\d`, `\w`, `\b` are ASCII (Python's are
 *   Unicode-aware unless `(?a)`: a documented difference, as in the previous JavaScript translation).
 *
 * Python constructs RE2 cannot express in linear time are "unsupported": backreferences (`\1`, `(?P=name)`),
 * lookahead/lookbehind, atomic groups, possessive quantifiers, conditional groups, `\N{…}`, repeat counts above
 * 1000, and programs larger than `MAX_REGEX_PROGRAM_SIZE` instructions. They are refused when a segment is saved
 * or a Flagsmith document imported, and never evaluated (they do not match).
 *
 * Known gap: a path that asserts a non-MULTILINE `$` before a final newline and then consumes that newline
 * (`a$\n`) is not found. Results are cached per pattern (bounded); evaluation never throws.
 */
import { RE2JS } from "re2js";

/**
 * Largest RE2 program evaluated (≈ instructions). When the DFA gives up, re2js finishes on its bit-state
 * backtracker if (program size) × (text length) fits 256 Kbit — at this size, any value up to 2,000 characters (the
 * trait value limit) — and on its NFA beyond, which is several times slower per step: this keeps the worst case of
 * one evaluation at about 2 ms on this project's 2-core machine. Real patterns are far smaller (an e-mail check
 * ≈ 15, a full semver check ≈ 65, a UUID ≈ 40, `^.{0,60}$` ≈ 125); what exceeds it is long bounded repeats
 * (`.{200}`) or long alternations (use IN for lists of values).
 */
export const MAX_REGEX_PROGRAM_SIZE = 128;
/**
 * Largest sum of the program sizes of one segment's REGEX conditions (refused when saved or imported): a segment
 * with many large patterns would add their costs up on every evaluation.
 */
export const MAX_SEGMENT_REGEX_PROGRAM_SIZE = 384;
/** Memory (bytes, re2js's accounting) a pattern's lazy DFA may hold before it is reset or given up for the NFA. */
export const DFA_MEMORY_BYTES = 32 * 1024;
/** RE2's limit on a repeat count (`a{1000}`); Python allows up to 2^32 - 2. */
export const MAX_REGEX_REPEAT = 1000;
/** RE2's limit on group nesting. */
const MAX_NESTING = 1000;
/** Analysed patterns kept (least recently used dropped first). */
export const REGEX_CACHE_LIMIT = 1000;
/** Python's MAXREPEAT (`_sre.MAXREPEAT`): repeat counts must be below it. */
const PY_MAXREPEAT = 4_294_967_295;

/** Why a pattern is not evaluated: Python would not compile it, or RE2 cannot express it. */
export type RegexRefusal =
  | { kind: "invalid"; message: string }
  | { kind: "unsupported"; construct: string; message: string };

/** A compiled pattern: `test(text)` is `re.match(pattern, text) is not None`. Never throws. */
export interface PythonRegex {
  readonly pattern: string;
  /** RE2 program size (instructions), at most MAX_REGEX_PROGRAM_SIZE: what one character of input costs at most. */
  readonly programSize: number;
  /** Whether its lazy DFA runs under DFA_MEMORY_BYTES (else it is evaluated on the NFA only). */
  readonly dfaBudgeted: boolean;
  test(text: string): boolean;
}

type Analysis = { ok: true; regex: PythonRegex } | { ok: false; refusal: RegexRefusal };

// ---------------------------------------------------------------------------------------------------------------
// Public API

const cache = new Map<string, Analysis>();

function analyse(pattern: string): Analysis {
  const hit = cache.get(pattern);
  if (hit !== undefined) {
    cache.delete(pattern); // most recently used last
    cache.set(pattern, hit);
    return hit;
  }
  let analysis: Analysis;
  try {
    analysis = analyseUncached(pattern);
  } catch {
    // Defensive: a translator or RE2 failure never escapes (e.g. a stack overflow on absurd input).
    analysis = { ok: false, refusal: { kind: "unsupported", construct: "pattern", message: "REGEX pattern cannot be evaluated by the linear-time engine" } };
  }
  cache.set(pattern, analysis);
  if (cache.size > REGEX_CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  return analysis;
}

/** The compiled pattern, or null when it is invalid in Python or unsupported (it then never matches). */
export function compilePythonRegex(pattern: string): PythonRegex | null {
  const analysis = analyse(pattern);
  return analysis.ok ? analysis.regex : null;
}

/** Why a pattern will not be evaluated, or null when it will be. */
export function regexRefusal(pattern: string): RegexRefusal | null {
  const analysis = analyse(pattern);
  return analysis.ok ? null : analysis.refusal;
}

/** RE2 program size of an accepted pattern, or null when it is not evaluated (invalid or unsupported). */
export function regexProgramSize(pattern: string): number | null {
  const analysis = analyse(pattern);
  return analysis.ok ? analysis.regex.programSize : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

/**
 * Limits a compiled program's lazy DFA to DFA_MEMORY_BYTES. re2js (pinned) keeps the DFA of a program in
 * `re2Input.dfa` and its budget in `maxMem`/`stateBudget`/`memBudget`, with no public option on `compile`; true
 * when the budget was applied. Where it cannot be (another re2js), the program is evaluated with `lookingAt`, which
 * never uses the DFA (bounded too, only slower on the usual patterns).
 */
function limitDfaMemory(program: RE2JS): boolean {
  const dfa = (program as unknown as { re2Input?: { dfa?: { maxMem?: unknown; stateBudget?: unknown; memBudget?: unknown; stateCount?: unknown } } }).re2Input?.dfa;
  if (!dfa || typeof dfa.maxMem !== "number" || typeof dfa.stateBudget !== "number" || typeof dfa.memBudget !== "number" || dfa.stateCount !== 0) return false;
  dfa.maxMem = DFA_MEMORY_BYTES;
  dfa.stateBudget = DFA_MEMORY_BYTES;
  dfa.memBudget = DFA_MEMORY_BYTES;
  return true;
}

class CompiledPythonRegex implements PythonRegex {
  /** `re.match` (the program starts with `\A`): the budgeted DFA search (`test`), or the anchored NFA (`lookingAt`). */
  private readonly matches: (text: string) => boolean;
  /** For texts ending with "\n" when the pattern has a non-MULTILINE `$`: run on the text without it. */
  private readonly matchesBeforeFinalNewline: ((text: string) => boolean) | null;
  /** Whether the DFA memory budget is in force (false only with a re2js whose internals differ: see limitDfaMemory). */
  readonly dfaBudgeted: boolean;

  constructor(
    readonly pattern: string,
    readonly programSize: number,
    program: RE2JS,
    beforeFinalNewline: RE2JS | null,
  ) {
    const matcherOf = (compiled: RE2JS): ((text: string) => boolean) =>
      limitDfaMemory(compiled) ? (text) => compiled.test(text) : (text) => compiled.matcher(text).lookingAt();
    this.dfaBudgeted = limitDfaMemory(program);
    this.matches = this.dfaBudgeted ? (text) => program.test(text) : (text) => program.matcher(text).lookingAt();
    this.matchesBeforeFinalNewline = beforeFinalNewline === null ? null : beforeFinalNewline === program ? this.matches : matcherOf(beforeFinalNewline);
  }

  test(text: string): boolean {
    try {
      if (this.matches(text)) return true;
      return this.matchesBeforeFinalNewline !== null && text.endsWith("\n") && this.matchesBeforeFinalNewline(text.slice(0, -1));
    } catch {
      return false;
    }
  }
}

/** Placeholder for Python's `\Z` in the translation (never produced by `literal`, which escapes NUL). */
const END_Z = "\u0000";
/** An RE2 expression that never matches (the empty class). */
const NEVER = "[^\\x00-\\x{10ffff}]";

function analyseUncached(pattern: string): Analysis {
  const parser = new Parser(pattern);
  let translation: Translation;
  try {
    translation = parser.translate();
  } catch (error) {
    if (error instanceof PythonSyntaxError) return { ok: false, refusal: { kind: "invalid", message: error.message } };
    if (error instanceof UnsupportedConstruct) return { ok: false, refusal: unsupported(error.construct, error.message) };
    throw error;
  }
  if (parser.unsupported !== null) return { ok: false, refusal: parser.unsupported };
  if (translation.size > MAX_REGEX_PROGRAM_SIZE * 2) return { ok: false, refusal: tooLarge(`about ${translation.size}`) };

  const flags = translation.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0;
  const source = `\\A${translation.source.replaceAll(END_Z, "\\z")}`;
  let main: RE2JS;
  let size: number;
  try {
    main = RE2JS.compile(source, flags);
    size = main.programSize();
  } catch (error) {
    return { ok: false, refusal: fromRe2Error(error) };
  }
  if (size > MAX_REGEX_PROGRAM_SIZE) return { ok: false, refusal: tooLarge(String(size)) };
  let beforeFinalNewline: RE2JS | null = null;
  if (translation.hasDollar) {
    // Python's `\Z` does not match before the final newline: never, in the run on the text without it.
    beforeFinalNewline = translation.hasEndZ ? RE2JS.compile(`\\A${translation.source.replaceAll(END_Z, NEVER)}`, flags) : main;
  }
  return { ok: true, regex: new CompiledPythonRegex(pattern, size, main, beforeFinalNewline) };
}

function unsupported(construct: string, message: string): RegexRefusal {
  return { kind: "unsupported", construct, message };
}

function tooLarge(size: string): RegexRefusal {
  return unsupported(
    "program size",
    `REGEX pattern is too large to evaluate quickly (RE2 program size ${size}, limit ${MAX_REGEX_PROGRAM_SIZE}): shorten bounded repeats like {0,100} or long alternations (use IN for lists of values)`,
  );
}

function fromRe2Error(error: unknown): RegexRefusal {
  const text = error instanceof Error ? error.message : String(error);
  if (/repeat count|repetition/i.test(text)) {
    return unsupported("repeat count", `REGEX patterns cannot repeat more than ${MAX_REGEX_REPEAT} times, also when repeats are nested (${text.replace(/^error parsing regexp: /, "")})`);
  }
  return unsupported("pattern", `REGEX pattern cannot be evaluated by the linear-time engine (${text.replace(/^error parsing regexp: /, "")})`);
}

// ---------------------------------------------------------------------------------------------------------------
// Python pattern → RE2 translation

class PythonSyntaxError extends Error {}
class UnsupportedConstruct extends Error {
  constructor(
    readonly construct: string,
    message: string,
  ) {
    super(message);
  }
}

interface Translation {
  /** RE2 source, `\Z` as END_Z. */
  source: string;
  ignoreCase: boolean;
  /** A non-MULTILINE `$` occurs. */
  hasDollar: boolean;
  /** A `\Z` occurs. */
  hasEndZ: boolean;
  /** Estimated RE2 program size (checked before compiling, so huge repeats are not compiled). */
  size: number;
}

/** Flags in effect; scoped groups override the global ones. */
interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  a: boolean;
}

/** "at": a zero-width assertion (`^`, `$`, `\A`, `\Z`, `\b`, `\B`), which Python refuses to repeat. */
type ItemKind = "atom" | "at" | "repeat";

interface Item {
  kind: ItemKind;
  text: string;
  size: number;
}

const FLAG_LETTERS = "aiLmsux";
const TYPE_FLAGS = "aLu";
const WHITESPACE = new Set([" ", "\t", "\n", "\r", "\v", "\f"]);
const DIGITS = /^[0-9]$/;
const OCTDIGITS = /^[0-7]$/;
const HEXDIGITS = /^[0-9a-fA-F]$/;
const ASCII_LETTER = /^[A-Za-z]$/;
const IDENTIFIER = /^[\p{XID_Start}_]\p{XID_Continue}*$/u;
/** Stands in for an unsupported construct (the pattern is refused; the text only keeps the translation well-formed). */
const EMPTY_ATOM: Item = { kind: "atom", text: "(?:)", size: 1 };

/** Python's `\s`: `str.isspace()` (Unicode) and the ASCII variant. Inclusive code point ranges. */
const UNICODE_SPACE: readonly [number, number][] = [
  [0x09, 0x0d],
  [0x1c, 0x20],
  [0x85, 0x85],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
];
const ASCII_SPACE: readonly [number, number][] = [
  [0x09, 0x0d],
  [0x20, 0x20],
];

function complement(ranges: readonly [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

/** A code point as an RE2 literal, valid inside and outside classes. */
function literal(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) return String.fromCharCode(cp);
  return `\\x{${cp.toString(16)}}`;
}

function rangesText(ranges: readonly [number, number][]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? literal(lo) : `${literal(lo)}-${literal(hi)}`)).join("");
}

function spaceRanges(flags: Flags, negated: boolean): [number, number][] {
  const ranges = flags.a ? ASCII_SPACE : UNICODE_SPACE;
  return negated ? complement(ranges) : [...ranges];
}

type ClassItem = { cp: number } | { set: string };

class Parser {
  /** Code points of the pattern. */
  private readonly chars: string[];
  private pos = 0;
  /** Python's `state.groups`: the next capturing group's number. */
  private groups = 1;
  private readonly openGroups = new Set<number>();
  private readonly groupNames = new Map<string, number>();
  /** Group numbers used by conditional groups: must exist by the end (Python's `grouprefpos`). */
  private readonly conditionalRefs: number[] = [];
  private readonly global: Flags = { i: false, m: false, s: false, x: false, a: false };
  /** Global `(?u)` (Python's default; only checked against `(?a)`). */
  private globalUnicode = false;
  private hasDollar = false;
  private hasEndZ = false;
  /** The first unsupported construct met; parsing continues so Python syntax errors still win. */
  unsupported: RegexRefusal | null = null;

  constructor(pattern: string) {
    this.chars = Array.from(pattern);
  }

  translate(): Translation {
    const { text, size } = this.alternation({}, 0);
    if (this.peek() !== undefined) this.fail("unbalanced parenthesis");
    if (this.global.a && this.globalUnicode) this.fail("bad inline flags: flags 'a', 'u' and 'L' are incompatible");
    for (const group of this.conditionalRefs) if (group >= this.groups) this.fail("invalid group reference");
    return { source: `(?:${text})`, ignoreCase: this.global.i, hasDollar: this.hasDollar, hasEndZ: this.hasEndZ, size: size + 2 };
  }

  // --- tokens (a character, or a backslash with the character after it, as Python's tokenizer) ---

  private tokenAt(index: number): [string | undefined, number] {
    const char = this.chars[index];
    if (char !== "\\") return [char, index + (char === undefined ? 0 : 1)];
    const next = this.chars[index + 1];
    if (next === undefined) this.fail("bad escape (end of pattern)");
    return [char + next, index + 2];
  }

  private peek(): string | undefined {
    return this.tokenAt(this.pos)[0];
  }

  private get(): string | undefined {
    const [token, next] = this.tokenAt(this.pos);
    this.pos = next;
    return token;
  }

  private match(token: string): boolean {
    if (this.peek() !== token) return false;
    this.get();
    return true;
  }

  /** Up to `max` tokens from `charset` (Python's `getwhile`). */
  private getWhile(max: number, charset: RegExp): string {
    let out = "";
    for (let i = 0; i < max; i++) {
      const token = this.peek();
      if (token === undefined || !charset.test(token)) break;
      out += this.get();
    }
    return out;
  }

  /** Tokens up to `terminator` (Python's `getuntil`), which is consumed. */
  private getUntil(terminator: string, what: string): string {
    let out = "";
    for (;;) {
      const token = this.get();
      if (token === undefined) this.fail(out ? `missing ${terminator}, unterminated name` : `missing ${what}`);
      if (token === terminator) {
        if (!out) this.fail(`missing ${what}`);
        return out;
      }
      out += token;
    }
  }

  private fail(message: string): never {
    throw new PythonSyntaxError(message);
  }

  private refuse(construct: string, shown: string): void {
    this.unsupported ??= unsupported(construct, `REGEX patterns cannot use ${construct} (${shown})`);
  }

  private flags(scope: Partial<Flags>): Flags {
    return {
      i: scope.i ?? this.global.i,
      m: scope.m ?? this.global.m,
      s: scope.s ?? this.global.s,
      x: scope.x ?? this.global.x,
      a: scope.a ?? this.global.a,
    };
  }

  // --- grammar ---

  private alternation(scope: Partial<Flags>, nested: number): { text: string; size: number } {
    if (nested > MAX_NESTING) throw new UnsupportedConstruct("nesting", `REGEX patterns cannot nest groups more than ${MAX_NESTING} deep`);
    const branches: string[] = [];
    let size = 0;
    for (;;) {
      const branch = this.sequence(scope, nested, nested === 0 && branches.length === 0);
      branches.push(branch.text);
      size += branch.size;
      if (!this.match("|")) break;
      size += 1;
    }
    return { text: branches.join("|"), size };
  }

  private sequence(scope: Partial<Flags>, nested: number, first: boolean): { text: string; size: number } {
    const items: Item[] = [];
    for (;;) {
      const token = this.peek();
      if (token === undefined || token === "|" || token === ")") break;
      this.get();
      const flags = this.flags(scope);
      if (flags.x) {
        if (WHITESPACE.has(token)) continue;
        if (token === "#") {
          for (let t = this.get(); t !== undefined && t !== "\n"; t = this.get());
          continue;
        }
      }
      if (token[0] === "\\") items.push(this.escape(token, flags));
      else if (token === "[") items.push({ kind: "atom", text: this.characterClass(flags), size: 1 });
      else if (token === "*" || token === "+" || token === "?" || token === "{") this.repeat(token, items);
      else if (token === ".") items.push({ kind: "atom", text: flags.s ? "(?s:.)" : ".", size: 1 });
      else if (token === "^") items.push({ kind: "at", text: flags.m ? "(?m:^)" : "\\A", size: 1 });
      else if (token === "$") {
        if (!flags.m) this.hasDollar = true;
        items.push({ kind: "at", text: flags.m ? "(?m:$)" : "\\z", size: 1 });
      } else if (token === "(") {
        const item = this.group(scope, nested, first && items.length === 0);
        if (item !== null) items.push(item);
      } else items.push({ kind: "atom", text: literal(token.codePointAt(0) as number), size: 1 });
    }
    return { text: items.map((item) => item.text).join(""), size: items.reduce((sum, item) => sum + item.size, 0) };
  }

  private repeat(token: string, items: Item[]): void {
    let min: number;
    let max: number;
    if (token === "?") [min, max] = [0, 1];
    else if (token === "*") [min, max] = [0, Infinity];
    else if (token === "+") [min, max] = [1, Infinity];
    else {
      // `{`: a repeat only when it reads {m}, {m,}, {,n}, {m,n} or {,}; otherwise a literal "{".
      const start = this.pos;
      const lo = this.peek() === "}" ? null : this.getWhile(Infinity, DIGITS);
      let hi = lo;
      if (lo !== null && this.match(",")) hi = this.getWhile(Infinity, DIGITS);
      if (lo === null || !this.match("}")) {
        this.pos = start;
        items.push({ kind: "atom", text: literal(0x7b), size: 1 });
        return;
      }
      min = lo ? Number(lo) : 0;
      max = hi ? Number(hi) : Infinity;
      if (min >= PY_MAXREPEAT || (max !== Infinity && max >= PY_MAXREPEAT)) this.fail("the repetition number is too large");
      if (max < min) this.fail("min repeat greater than max repeat");
    }
    const last = items.at(-1);
    if (last === undefined || last.kind === "at") this.fail("nothing to repeat");
    if (last.kind === "repeat") this.fail("multiple repeat");
    const shown = token === "{" ? `{${min}${max === min ? "" : `,${max === Infinity ? "" : max}`}}` : token;
    let suffix = "";
    if (this.match("?")) suffix = "?";
    else if (this.match("+")) this.refuse("possessive quantifiers", `${shown}+`);
    if (min > MAX_REGEX_REPEAT || (max !== Infinity && max > MAX_REGEX_REPEAT)) {
      this.refuse(`repeat counts above ${MAX_REGEX_REPEAT}`, shown);
    }
    let quantifier: string;
    if (min === 0 && max === Infinity) quantifier = "*";
    else if (min === 1 && max === Infinity) quantifier = "+";
    else if (min === 0 && max === 1) quantifier = "?";
    else if (max === Infinity) quantifier = `{${min},}`;
    else if (min === max) quantifier = `{${min}}`;
    else quantifier = `{${min},${max}}`;
    const bounded = Math.min(max === Infinity ? min + 1 : max, MAX_REGEX_REPEAT + 1);
    items[items.length - 1] = { kind: "repeat", text: last.text + quantifier + suffix, size: (last.size + 1) * Math.max(bounded, 1) };
  }

  /** After `(`: a group, or null for comments and global flags (nothing to emit). */
  private group(scope: Partial<Flags>, nested: number, atStart: boolean): Item | null {
    let capture = true;
    let name: string | null = null;
    let inner: Partial<Flags> = scope;
    let ignoreCaseChange: boolean | null = null;
    if (this.match("?")) {
      const char = this.get();
      if (char === undefined) this.fail("unexpected end of pattern");
      if (char === "P") {
        if (this.match("<")) {
          name = this.getUntil(">", "group name");
          this.checkGroupName(name);
        } else if (this.match("=")) {
          const ref = this.getUntil(")", "group name");
          this.checkGroupName(ref);
          const group = this.groupNames.get(ref);
          if (group === undefined) this.fail("unknown group name");
          if (this.openGroups.has(group)) this.fail("cannot refer to an open group");
          this.refuse("backreferences", `(?P=${ref})`);
          return EMPTY_ATOM;
        } else {
          this.fail(`unknown extension ?P${this.get() ?? ""}`);
        }
      } else if (char === ":") {
        capture = false;
      } else if (char === "#") {
        for (;;) {
          const token = this.get();
          if (token === undefined) this.fail("missing ), unterminated comment");
          if (token === ")") return null;
        }
      } else if (char === "=" || char === "!" || char === "<") {
        let kind = char;
        if (char === "<") {
          const next = this.get();
          if (next === undefined) this.fail("unexpected end of pattern");
          if (next !== "=" && next !== "!") this.fail(`unknown extension ?<${next}`);
          kind = `<${next}`;
          this.refuse("lookbehind assertions", `(?${kind}…)`);
        } else {
          this.refuse("lookahead assertions", `(?${kind}…)`);
        }
        this.alternation(scope, nested + 1);
        if (!this.match(")")) this.fail("missing ), unterminated subpattern");
        return EMPTY_ATOM;
      } else if (char === "(") {
        const condition = this.getUntil(")", "group name");
        if (IDENTIFIER.test(condition)) {
          if (!this.groupNames.has(condition)) this.fail("unknown group name");
        } else {
          if (!/^[0-9]+$/.test(condition)) this.fail("bad character in group name");
          const group = Number(condition);
          if (group === 0) this.fail("bad group number");
          this.conditionalRefs.push(group);
        }
        this.refuse("conditional groups", `(?(${condition})…)`);
        this.sequence(scope, nested + 1, false);
        if (this.match("|")) {
          this.sequence(scope, nested + 1, false);
          if (this.peek() === "|") this.fail("conditional backref with more than two branches");
        }
        if (!this.match(")")) this.fail("missing ), unterminated subpattern");
        return EMPTY_ATOM;
      } else if (char === ">") {
        capture = false;
        this.refuse("atomic groups", "(?>…)");
      } else if (FLAG_LETTERS.includes(char) || char === "-") {
        const parsed = this.inlineFlags(char);
        if (parsed === null) {
          if (!atStart) this.fail("global flags not at the start of the expression");
          return null;
        }
        capture = false;
        inner = { ...scope };
        for (const flag of parsed.add) if (flag !== "u") inner[flag as keyof Flags] = true;
        for (const flag of parsed.remove) inner[flag as keyof Flags] = false;
        if (parsed.add.includes("i")) ignoreCaseChange = true;
        else if (parsed.remove.includes("i")) ignoreCaseChange = false;
      } else {
        this.fail(`unknown extension ?${char}`);
      }
    }
    let group = 0;
    if (capture) {
      group = this.groups++;
      if (name !== null) {
        if (this.groupNames.has(name)) this.fail(`redefinition of group name ${JSON.stringify(name)}`);
        this.groupNames.set(name, group);
      }
      this.openGroups.add(group);
    }
    const body = this.alternation(inner, nested + 1);
    if (!this.match(")")) this.fail("missing ), unterminated subpattern");
    if (capture) this.openGroups.delete(group);
    const open = ignoreCaseChange === null ? "(?:" : ignoreCaseChange ? "(?i:" : "(?-i:";
    return { kind: "atom", text: `${open}${body.text})`, size: body.size + 1 };
  }

  private checkGroupName(name: string): void {
    if (!IDENTIFIER.test(name)) this.fail(`bad character in group name ${JSON.stringify(name)}`);
  }

  /** After `(?` and the first flag letter or `-`: null for global flags `(?aiLmsux)`, else the scoped changes. */
  private inlineFlags(firstChar: string): { add: string; remove: string } | null {
    let char: string | undefined = firstChar;
    let add = "";
    let remove = "";
    if (char !== "-") {
      for (;;) {
        if (char === "L") this.fail("bad inline flags: cannot use 'L' flag with a str pattern");
        add += char;
        if ([...TYPE_FLAGS].filter((flag) => add.includes(flag)).length > 1) this.fail("bad inline flags: flags 'a', 'u' and 'L' are incompatible");
        char = this.get();
        if (char === undefined) this.fail("missing -, : or )");
        if (char === ")" || char === "-" || char === ":") break;
        if (!FLAG_LETTERS.includes(char)) this.fail(ASCII_LETTER.test(char) ? "unknown flag" : "missing -, : or )");
      }
    }
    if (char === ")") {
      for (const flag of add) {
        if (flag === "u") this.globalUnicode = true;
        else this.global[flag as keyof Flags] = true;
      }
      return null;
    }
    if (char === "-") {
      char = this.get();
      if (char === undefined) this.fail("missing flag");
      if (!FLAG_LETTERS.includes(char)) this.fail(ASCII_LETTER.test(char) ? "unknown flag" : "missing flag");
      for (;;) {
        if (TYPE_FLAGS.includes(char)) this.fail("bad inline flags: cannot turn off flags 'a', 'u' and 'L'");
        remove += char;
        char = this.get();
        if (char === undefined) this.fail("missing :");
        if (char === ":") break;
        if (!FLAG_LETTERS.includes(char)) this.fail(ASCII_LETTER.test(char) ? "unknown flag" : "missing :");
      }
    }
    if ([...add].some((flag) => remove.includes(flag))) this.fail("bad inline flags: flag turned on and off");
    return { add, remove };
  }

  /** An escape outside a class. */
  private escape(token: string, flags: Flags): Item {
    const char = token.slice(1);
    const atom = (text: string): Item => ({ kind: "atom", text, size: 1 });
    switch (char) {
      case "A":
        return { kind: "at", text: "\\A", size: 1 };
      case "Z":
        this.hasEndZ = true;
        return { kind: "at", text: END_Z, size: 1 };
      case "b":
        return { kind: "at", text: "\\b", size: 1 };
      case "B":
        return { kind: "at", text: "\\B", size: 1 };
      case "d":
      case "D":
      case "w":
      case "W":
        return atom(`\\${char}`);
      case "s":
      case "S":
        return atom(`[${rangesText(spaceRanges(flags, char === "S"))}]`);
    }
    const cp = this.commonEscape(char, false);
    if (cp !== null) return atom(literal(cp));
    // Digits: an octal escape of three digits, else a group reference.
    let digits = char;
    if (DIGITS.test(this.peek() ?? "")) {
      digits += this.get();
      if (OCTDIGITS.test(digits[0]) && OCTDIGITS.test(digits[1]) && OCTDIGITS.test(this.peek() ?? "")) {
        digits += this.get();
        const value = parseInt(digits, 8);
        if (value > 0o377) this.fail(`octal escape value \\${digits} outside of range 0-0o377`);
        return atom(literal(value));
      }
    }
    const group = Number(digits);
    if (group >= this.groups) this.fail(`invalid group reference ${group}`);
    if (this.openGroups.has(group)) this.fail("cannot refer to an open group");
    this.refuse("backreferences", `\\${digits}`);
    return EMPTY_ATOM;
  }

  /**
   * Escapes with the same meaning inside and outside classes: control characters, `\x`, `\u`, `\U`, octal `\0…`
   * (any octal digit inside a class), literal punctuation. Returns null for a digit 1-9 outside a class.
   */
  private commonEscape(char: string, inClass: boolean): number | null {
    switch (char) {
      case "a":
        return 0x07;
      case "f":
        return 0x0c;
      case "n":
        return 0x0a;
      case "r":
        return 0x0d;
      case "t":
        return 0x09;
      case "v":
        return 0x0b;
      case "x":
      case "u":
      case "U": {
        const length = char === "x" ? 2 : char === "u" ? 4 : 8;
        const hex = this.getWhile(length, HEXDIGITS);
        if (hex.length !== length) this.fail(`incomplete escape \\${char}${hex}`);
        const value = parseInt(hex, 16);
        if (value > 0x10ffff) this.fail(`bad escape \\${char}${hex}`);
        return value;
      }
      case "N":
        if (!this.match("{")) this.fail("missing {");
        this.getUntil("}", "character name");
        this.refuse("named Unicode characters", "\\N{…}: write the character or \\uXXXX");
        return 0x20;
    }
    if (char === "0" || (inClass && OCTDIGITS.test(char))) {
      const digits = char + this.getWhile(2, OCTDIGITS);
      const value = parseInt(digits, 8);
      if (value > 0o377) this.fail(`octal escape value \\${digits} outside of range 0-0o377`);
      return value;
    }
    if (DIGITS.test(char)) {
      if (inClass) this.fail(`bad escape \\${char}`);
      return null;
    }
    if (ASCII_LETTER.test(char)) this.fail(`bad escape \\${char}`);
    return char.codePointAt(0) as number;
  }

  /** After `[`: an RE2 class. */
  private characterClass(flags: Flags): string {
    const negate = this.match("^");
    const parts: string[] = [];
    const item = (token: string): ClassItem => {
      if (token[0] !== "\\") return { cp: token.codePointAt(0) as number };
      const char = token.slice(1);
      if (char === "b") return { cp: 0x08 };
      if (char === "d" || char === "D" || char === "w" || char === "W") return { set: `\\${char}` };
      if (char === "s" || char === "S") return { set: rangesText(spaceRanges(flags, char === "S")) };
      return { cp: this.commonEscape(char, true) as number };
    };
    const text = (part: ClassItem): string => ("set" in part ? part.set : literal(part.cp));
    for (;;) {
      const token = this.get();
      if (token === undefined) this.fail("unterminated character set");
      if (token === "]" && parts.length > 0) break;
      const first = item(token);
      if (this.match("-")) {
        const that = this.get();
        if (that === undefined) this.fail("unterminated character set");
        if (that === "]") {
          parts.push(text(first), literal(0x2d));
          break;
        }
        const second = item(that);
        if ("set" in first || "set" in second) this.fail("bad character range");
        if (second.cp < first.cp) this.fail("bad character range");
        parts.push(`${literal(first.cp)}-${literal(second.cp)}`);
      } else {
        parts.push(text(first));
      }
    }
    return `[${negate ? "^" : ""}${parts.join("")}]`;
  }
}
