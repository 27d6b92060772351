/**
 * Condition property → JsonLogic expression for its context value, in the flagd context
 * `{ targetingKey: <identity identifier>, ...<traits> }`.
 *
 * Flagpost's engine (src/server/engine/conditions.ts `resolveRawValue`) resolves a property as:
 * - empty → no value (PERCENTAGE_SPLIT then uses the identity key);
 * - a trait with exactly that name, when it is set (not null);
 * - otherwise, for properties starting with `$.`, the first JSONPath match over the evaluation context
 *   `{environment: {key, name}, identity: {identifier, key, traits}, segments, features}` when it is a primitive.
 * This module reproduces that with `var` lookups: `$.identity.identifier` → `targetingKey`, `$.identity.key` →
 * `"<environment api key>_" + targetingKey` (Flagsmith's default identity key), `$.identity.traits.<t>` → trait
 * `<t>`, `$.environment.name|key` → constants known at export time; the trait-named-like-the-path rule is kept.
 */
import { compileJsonPath, findFirst, NOT_FOUND } from "@/server/engine/jsonpath";
import { TARGETING_KEY, v, varPath } from "./logic";
import type { JsonLogicArg, JsonLogicRule } from "./types";

export type ValueSource =
  /** The property is empty: the condition sees no value. */
  | { kind: "none" }
  /** A constant known at export time (e.g. `$.environment.name`); null = no value. */
  | { kind: "const"; value: string | number | boolean | null }
  /**
   * `expr` evaluates to the raw context value (a JSON scalar, or null when missing). `plainVar` is set when
   * `expr` is a bare `{"var": …}` (needed where the schema only accepts a var, e.g. `sem_ver`).
   */
  | { kind: "expr"; expr: JsonLogicArg; plainVar: boolean }
  /** A `$.` property: the trait of that exact name when it is set, otherwise `fallback` (the JSONPath's value). */
  | { kind: "choice"; trait: JsonLogicRule; fallback: Exclude<ValueSource, { kind: "choice" } | { kind: "none" } | { kind: "unsupported" }> }
  | { kind: "unsupported"; detail: string };

/**
 * Context keys a trait cannot use in flagd: `targetingKey` carries the identifier, flagd replaces `$flagd`, and
 * `__proto__` resolves to `Object.prototype` in JavaScript evaluators.
 */
const RESERVED_TRAITS = new Set(["targetingKey", "$flagd", "__proto__"]);

export interface PropertyEnvironment {
  /** Environment API key (client key): seeds Flagsmith's default identity key. */
  apiKey: string;
  name: string;
  /**
   * `use_identity_composite_key_for_hashing`: the identity key is `<api key>_<identifier>`; otherwise it is
   * the identity's internal id, which a flagd context does not carry.
   */
  compositeIdentityKey: boolean;
}

function traitVar(name: string): ValueSource {
  if (RESERVED_TRAITS.has(name)) {
    return { kind: "unsupported", detail: `trait "${name}" collides with a reserved flagd context key` };
  }
  return { kind: "expr", expr: v(varPath(name)), plainVar: true };
}

/** What a JSONPath resolves to when no trait carries the property's exact name. */
type Fallback = { kind: "const"; value: string | number | boolean | null } | { kind: "expr"; expr: JsonLogicArg } | { kind: "unsupported"; detail: string };

function identityFallback(names: readonly string[], env: PropertyEnvironment, property: string): Fallback {
  // names[0] === "identity"; the identity object is {identifier, key, traits} (all strings but traits).
  if (names.length === 2 && names[1] === "identifier") return { kind: "expr", expr: TARGETING_KEY };
  if (names.length === 2 && names[1] === "key") {
    if (!env.compositeIdentityKey) {
      return { kind: "unsupported", detail: `${property}: the identity key is the identity's internal id here (composite-key hashing is off), which flagd contexts do not carry` };
    }
    return { kind: "expr", expr: { cat: [`${env.apiKey}_`, TARGETING_KEY] } };
  }
  if (names.length === 3 && names[1] === "traits") {
    const trait = traitVar(names[2]);
    if (trait.kind === "unsupported") return { kind: "unsupported", detail: `${property}: ${trait.detail}` };
    if (trait.kind === "expr") return { kind: "expr", expr: trait.expr };
  }
  // The identity object, its traits object, or a path below a string/scalar or to a missing key: no primitive.
  return { kind: "const", value: null };
}

function jsonPathFallback(property: string, env: PropertyEnvironment): Fallback {
  const compiled = compileJsonPath(property);
  if (compiled.kind !== "query") return { kind: "const", value: null }; // invalid/unsupported query: trait only
  const first = compiled.segments[0];
  const firstName =
    first !== undefined && !first.descendant && first.selectors.length === 1 && first.selectors[0].kind === "name"
      ? first.selectors[0].name
      : null;
  if (firstName === null) {
    return { kind: "unsupported", detail: `JSONPath ${property} may reach identity data through a wildcard or descendant selector` };
  }
  if (firstName === "identity") {
    if (compiled.names === null) {
      return { kind: "unsupported", detail: `JSONPath ${property} uses selectors flagd cannot map onto its context` };
    }
    return identityFallback(compiled.names, env, property);
  }
  if (firstName === "segments" || firstName === "features") {
    return { kind: "unsupported", detail: `JSONPath ${property} reads the engine's ${firstName}, which flagd contexts do not carry` };
  }
  // Environment (or an unknown root): constant for the whole document.
  const found = findFirst(compiled, { environment: { key: env.apiKey, name: env.name } });
  const type = typeof found;
  const value = found !== NOT_FOUND && (type === "string" || type === "number" || type === "boolean") ? (found as string | number | boolean) : null;
  return { kind: "const", value };
}

export function resolveProperty(property: string, env: PropertyEnvironment): ValueSource {
  if (!property) return { kind: "none" };
  if (!property.startsWith("$.")) return traitVar(property);

  // A trait named exactly like the path wins when it is set (not null).
  const fallback = jsonPathFallback(property, env);
  if (fallback.kind === "unsupported") return { kind: "unsupported", detail: fallback.detail };
  if (fallback.kind === "const" && fallback.value === null) return traitVar(property);
  const own = traitVar(property); // "$." names are never reserved
  if (own.kind !== "expr") return own;
  return {
    kind: "choice",
    trait: own.expr as JsonLogicRule,
    fallback: fallback.kind === "const" ? fallback : { kind: "expr", expr: fallback.expr, plainVar: isPlainVar(fallback.expr) },
  };
}

function isPlainVar(expr: JsonLogicArg): boolean {
  return typeof expr === "object" && expr !== null && !Array.isArray(expr) && Object.keys(expr).length === 1 && "var" in expr;
}
