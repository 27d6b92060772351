/**
 * A small RFC 9535 JSONPath implementation, enough for Flagsmith condition properties
 * (`$.identity.identifier`, `$.environment.name`, `$.identity.traits['a b']`, …).
 *
 * Supported: root `$`, child segments `.name` / `.*` / `[<selectors>]`, descendant segments `..name` / `..*` /
 * `..[<selectors>]`, and the name (quoted string), wildcard, index and slice selectors, comma-separated.
 * Filter selectors (`[?…]`) are recognised as valid syntax but not evaluated: such a query finds nothing.
 *
 * Only the first node of the result is ever needed (Python `find_one`), so evaluation is a depth-first search
 * that stops at the first match, which is the first node of the RFC's nodelist order.
 */

type Selector =
  | { kind: "name"; name: string }
  | { kind: "wildcard" }
  | { kind: "index"; index: number }
  | { kind: "slice"; start: number | null; end: number | null; step: number | null };

interface Segment {
  descendant: boolean;
  selectors: Selector[];
}

export type CompiledJsonPath =
  /** Not a valid JSONPath query: Flagsmith then treats the property as a plain trait name. */
  | { kind: "invalid" }
  /** Valid, but uses a feature this implementation does not evaluate (filters): never matches. */
  | { kind: "unsupported" }
  | { kind: "query"; segments: Segment[]; /** Set when every segment is a single `.name` child: walk directly. */ names: string[] | null };

/** Returned by `findFirst` when the query selects nothing. */
export const NOT_FOUND: unique symbol = Symbol("jsonpath.notFound");

class SyntaxFailure extends Error {}
class UnsupportedFeature extends Error {}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isNameFirst(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    code === 0x5f ||
    (code >= 0x80 && code <= 0xd7ff) ||
    code >= 0xe000 ||
    // A surrogate pair encodes %x10000-10FFFF (valid); a lone surrogate is rejected by the caller.
    (code >= 0xd800 && code <= 0xdfff)
  );
}

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parse(): Segment[] {
    if (this.text.charCodeAt(0) !== 0x24) throw new SyntaxFailure(); // "$"
    this.pos = 1;
    const segments: Segment[] = [];
    for (;;) {
      const beforeBlank = this.pos;
      this.skipBlank();
      if (this.pos >= this.text.length) {
        if (this.pos !== beforeBlank) throw new SyntaxFailure(); // trailing blank space
        return segments;
      }
      segments.push(this.parseSegment());
    }
  }

  private peek(offset = 0): number {
    return this.text.charCodeAt(this.pos + offset);
  }

  private skipBlank(): void {
    while (this.pos < this.text.length && isBlank(this.peek())) this.pos++;
  }

  private parseSegment(): Segment {
    const code = this.peek();
    if (code === 0x5b) return { descendant: false, selectors: this.parseBracketed() }; // "["
    if (code !== 0x2e) throw new SyntaxFailure(); // "."
    this.pos++;
    if (this.peek() === 0x2e) {
      this.pos++;
      if (this.peek() === 0x5b) return { descendant: true, selectors: this.parseBracketed() };
      return { descendant: true, selectors: [this.parseShorthand()] };
    }
    return { descendant: false, selectors: [this.parseShorthand()] };
  }

  private parseShorthand(): Selector {
    if (this.peek() === 0x2a) {
      this.pos++;
      return { kind: "wildcard" };
    }
    const start = this.pos;
    if (!isNameFirst(this.peek())) throw new SyntaxFailure();
    while (this.pos < this.text.length) {
      const code = this.peek();
      if (isNameFirst(code) || isDigit(code)) {
        if (code >= 0xd800 && code <= 0xdbff) {
          const low = this.peek(1);
          if (!(low >= 0xdc00 && low <= 0xdfff)) throw new SyntaxFailure();
          this.pos += 2;
          continue;
        }
        if (code >= 0xdc00 && code <= 0xdfff) throw new SyntaxFailure();
        this.pos++;
      } else break;
    }
    return { kind: "name", name: this.text.slice(start, this.pos) };
  }

  private parseBracketed(): Selector[] {
    this.pos++; // "["
    const selectors: Selector[] = [];
    for (;;) {
      this.skipBlank();
      selectors.push(this.parseSelector());
      this.skipBlank();
      const code = this.peek();
      this.pos++;
      if (code === 0x5d) return selectors; // "]"
      if (code !== 0x2c) throw new SyntaxFailure(); // ","
    }
  }

  private parseSelector(): Selector {
    const code = this.peek();
    if (code === 0x27 || code === 0x22) return { kind: "name", name: this.parseString(code) };
    if (code === 0x2a) {
      this.pos++;
      return { kind: "wildcard" };
    }
    if (code === 0x3f) throw new UnsupportedFeature(); // "?" filter selector
    // index or slice
    const start = this.tryParseInt();
    this.skipBlank();
    if (this.peek() !== 0x3a) {
      if (start === null) throw new SyntaxFailure();
      return { kind: "index", index: start };
    }
    this.pos++; // ":"
    this.skipBlank();
    const end = this.tryParseInt();
    this.skipBlank();
    let step: number | null = null;
    if (this.peek() === 0x3a) {
      this.pos++;
      this.skipBlank();
      step = this.tryParseInt();
    }
    return { kind: "slice", start, end, step };
  }

  /** RFC 9535 `int`: "0" / ["-"] DIGIT1 *DIGIT, within the I-JSON range. */
  private tryParseInt(): number | null {
    const start = this.pos;
    if (this.peek() === 0x2d) this.pos++; // "-"
    const digitsStart = this.pos;
    while (this.pos < this.text.length && isDigit(this.peek())) this.pos++;
    if (this.pos === digitsStart) {
      if (this.pos !== start) throw new SyntaxFailure(); // lone "-"
      return null;
    }
    const literal = this.text.slice(start, this.pos);
    if (literal.length > 1 && this.text.charCodeAt(digitsStart) === 0x30) throw new SyntaxFailure(); // "01", "-0"
    const value = Number(literal);
    if (Math.abs(value) > MAX_SAFE) throw new SyntaxFailure();
    return value;
  }

  private parseString(quote: number): string {
    this.pos++;
    let out = "";
    for (;;) {
      if (this.pos >= this.text.length) throw new SyntaxFailure();
      const code = this.peek();
      if (code === quote) {
        this.pos++;
        return out;
      }
      if (code < 0x20) throw new SyntaxFailure();
      if (code !== 0x5c) {
        out += this.text[this.pos++];
        continue;
      }
      const escaped = this.text[this.pos + 1];
      this.pos += 2;
      switch (escaped) {
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "/":
        case "\\":
          out += escaped;
          break;
        case "'":
        case '"':
          if (escaped.charCodeAt(0) !== quote) throw new SyntaxFailure();
          out += escaped;
          break;
        case "u":
          out += this.parseUnicodeEscape();
          break;
        default:
          throw new SyntaxFailure();
      }
    }
  }

  private parseUnicodeEscape(): string {
    const hex = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new SyntaxFailure();
    this.pos += 4;
    const unit = parseInt(hex, 16);
    if (unit >= 0xdc00 && unit <= 0xdfff) throw new SyntaxFailure();
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const low = /^\\u([dD][c-fC-F][0-9a-fA-F]{2})/.exec(this.text.slice(this.pos, this.pos + 6));
      if (low === null) throw new SyntaxFailure();
      this.pos += 6;
      return String.fromCharCode(unit, parseInt(low[1], 16));
    }
    return String.fromCharCode(unit);
  }
}

/** Parse a JSONPath query once; the result is reusable and immutable. */
export function compileJsonPath(query: string): CompiledJsonPath {
  let segments: Segment[];
  try {
    segments = new Parser(query).parse();
  } catch (error) {
    if (error instanceof UnsupportedFeature) return { kind: "unsupported" };
    if (error instanceof SyntaxFailure) return { kind: "invalid" };
    throw error;
  }
  const simple = segments.every((s) => !s.descendant && s.selectors.length === 1 && s.selectors[0].kind === "name");
  const names = simple ? segments.map((s) => (s.selectors[0] as { name: string }).name) : null;
  return { kind: "query", segments, names };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The first node selected by `path` in `root`, or NOT_FOUND. */
export function findFirst(path: CompiledJsonPath, root: unknown): unknown {
  if (path.kind !== "query") return NOT_FOUND;
  if (path.names !== null) {
    let node = root;
    for (const name of path.names) {
      if (!isObject(node) || !Object.hasOwn(node, name)) return NOT_FOUND;
      node = node[name];
    }
    return node;
  }
  return matchFrom(root, path.segments, 0);
}

function matchFrom(node: unknown, segments: readonly Segment[], index: number): unknown {
  if (index === segments.length) return node;
  const segment = segments[index];
  if (segment.descendant) return matchDescendants(node, segment.selectors, segments, index);
  return applySelectors(node, segment.selectors, segments, index);
}

/** Applies the descendant segment to `node` and each of its descendants, in pre-order. */
function matchDescendants(node: unknown, selectors: Selector[], segments: readonly Segment[], index: number): unknown {
  const here = applySelectors(node, selectors, segments, index);
  if (here !== NOT_FOUND) return here;
  const children = Array.isArray(node) ? node : isObject(node) ? Object.values(node) : null;
  if (children === null) return NOT_FOUND;
  for (const child of children) {
    const found = matchDescendants(child, selectors, segments, index);
    if (found !== NOT_FOUND) return found;
  }
  return NOT_FOUND;
}

function applySelectors(node: unknown, selectors: Selector[], segments: readonly Segment[], index: number): unknown {
  for (const selector of selectors) {
    const found = applySelector(node, selector, segments, index);
    if (found !== NOT_FOUND) return found;
  }
  return NOT_FOUND;
}

function applySelector(node: unknown, selector: Selector, segments: readonly Segment[], index: number): unknown {
  const next = index + 1;
  switch (selector.kind) {
    case "name":
      if (!isObject(node) || !Object.hasOwn(node, selector.name)) return NOT_FOUND;
      return matchFrom(node[selector.name], segments, next);
    case "wildcard": {
      const children = Array.isArray(node) ? node : isObject(node) ? Object.values(node) : null;
      if (children === null) return NOT_FOUND;
      for (const child of children) {
        const found = matchFrom(child, segments, next);
        if (found !== NOT_FOUND) return found;
      }
      return NOT_FOUND;
    }
    case "index": {
      if (!Array.isArray(node)) return NOT_FOUND;
      const position = selector.index < 0 ? node.length + selector.index : selector.index;
      if (position < 0 || position >= node.length) return NOT_FOUND;
      return matchFrom(node[position], segments, next);
    }
    case "slice": {
      if (!Array.isArray(node)) return NOT_FOUND;
      const step = selector.step ?? 1;
      if (step === 0) return NOT_FOUND;
      const length = node.length;
      const normalize = (i: number) => (i >= 0 ? i : length + i);
      if (step > 0) {
        const lower = Math.min(Math.max(normalize(selector.start ?? 0), 0), length);
        const upper = Math.min(Math.max(normalize(selector.end ?? length), 0), length);
        for (let i = lower; i < upper; i += step) {
          const found = matchFrom(node[i], segments, next);
          if (found !== NOT_FOUND) return found;
        }
      } else {
        const upper = Math.min(Math.max(normalize(selector.start ?? length - 1), -1), length - 1);
        const lower = Math.min(Math.max(selector.end === null ? -length - 1 : normalize(selector.end), -1), length - 1);
        for (let i = upper; lower < i; i += step) {
          const found = matchFrom(node[i], segments, next);
          if (found !== NOT_FOUND) return found;
        }
      }
      return NOT_FOUND;
    }
  }
}
