/**
 * Segment input validation, shared by the segments service and the UI's rule builder (inline,
 * client-side). PURE: no server imports, no node-only APIs — only the pure engine helpers, so a
 * rule the form accepts is exactly a rule the service accepts and the engine can evaluate.
 *
 * `validateSegment` / `validateRules` return a map `path → message`, in traversal order, with
 * dotted paths relative to the segment input: `name`, `description`, `rules` (the rule list as a
 * whole), `rules.0.type`, `rules.0.conditions.1.operator|property|value`, `rules.0.rules.2.type`, …
 * An empty map means valid. The service rejects with the first entry (`field` = its path).
 */
import { MAX_SEGMENT_REGEX_PROGRAM_SIZE, regexProgramSize, regexRefusal } from "@/server/engine/regex";
import { parsePyFloat } from "@/server/engine/python";
import { isSemverConditionValue, parseSemver, SEMVER_SUFFIX } from "@/server/engine/semver";
import { SEGMENT_CONDITION_OPERATORS, type SegmentConditionOperator } from "@/server/engine/types";
import { textProblem } from "@/server/input";

export const RULE_TYPES = ["ALL", "ANY", "NONE"] as const;
export type RuleType = (typeof RULE_TYPES)[number];

export const SEGMENT_OPERATORS = SEGMENT_CONDITION_OPERATORS;
export type SegmentOperator = SegmentConditionOperator;

export const MAX_SEGMENT_NAME_LENGTH = 200;
export const MAX_SEGMENT_DESCRIPTION_LENGTH = 2000;
export const MAX_PROPERTY_LENGTH = 1000;
export const MAX_CONDITION_VALUE_LENGTH = 1000;
/** Top-level rules are at depth 1; Flagsmith's own UI uses 2 (ALL → ANY/ALL/NONE with conditions). */
export const MAX_RULE_DEPTH = 5;
export const MAX_RULES = 100;
export const MAX_CONDITIONS = 100;

/** What the API accepts for a condition (the UI may send numbers/booleans; they are stored as text). */
export interface ConditionInput {
  operator: string;
  /** Trait name or `$.` JSONPath; optional for PERCENTAGE_SPLIT (then the identity key is hashed). */
  property?: string | null;
  value?: string | number | boolean | null;
}

export interface RuleInput {
  type: string;
  conditions?: ConditionInput[];
  rules?: RuleInput[];
}

/** A validated, normalised condition / rule (the stored and document shape, `property` for `property_`). */
export interface SegmentCondition {
  operator: SegmentOperator;
  property: string | null;
  value: string | null;
}
export interface SegmentRule {
  type: RuleType;
  conditions: SegmentCondition[];
  rules: SegmentRule[];
}

/** Rules as stored (operators and types as plain strings), e.g. read back from the database. */
export interface StoredRuleLike {
  type: string;
  conditions: readonly { operator: string; property: string | null; value: string | null }[];
  rules: readonly StoredRuleLike[];
}

export type FieldErrors = Record<string, string>;

/** Operators comparing a `:semver` value (the typed comparison operators). */
export const SEMVER_OPERATORS: readonly SegmentOperator[] = [
  "EQUAL",
  "NOT_EQUAL",
  "GREATER_THAN",
  "GREATER_THAN_INCLUSIVE",
  "LESS_THAN",
  "LESS_THAN_INCLUSIVE",
];

export function isOperator(operator: unknown): operator is SegmentOperator {
  return typeof operator === "string" && (SEGMENT_OPERATORS as readonly string[]).includes(operator);
}

/** Whether the operator reads a trait / context property (PERCENTAGE_SPLIT may hash the identity key instead). */
export function operatorRequiresProperty(operator: SegmentOperator): boolean {
  return operator !== "PERCENTAGE_SPLIT";
}

/** Whether the operator compares against a value (IS_SET / IS_NOT_SET ignore it). */
export function operatorTakesValue(operator: SegmentOperator): boolean {
  return operator !== "IS_SET" && operator !== "IS_NOT_SET";
}

/** Operators for which an empty value is meaningful (equal to / different from the empty string). */
const EMPTY_VALUE_ALLOWED: readonly SegmentOperator[] = ["EQUAL", "NOT_EQUAL"];

export const MESSAGES = {
  nameRequired: "Name is required",
  nameTooLong: `Name must be ${MAX_SEGMENT_NAME_LENGTH} characters or fewer`,
  descriptionInvalid: `Description must be text of ${MAX_SEGMENT_DESCRIPTION_LENGTH} characters or fewer`,
  rulesNotList: "Rules must be a list",
  noRules: "Add at least one rule",
  noConditions: "Add at least one condition",
  tooManyRules: `A segment can have at most ${MAX_RULES} rules`,
  tooManyConditions: `A segment can have at most ${MAX_CONDITIONS} conditions`,
  tooDeep: `Rules can be nested at most ${MAX_RULE_DEPTH} levels deep`,
  ruleNotObject: "A rule must be an object with a type, conditions and rules",
  ruleType: "Rule type must be ALL, ANY or NONE",
  conditionsNotList: "Conditions must be a list",
  subRulesNotList: "Sub-rules must be a list",
  conditionNotObject: "A condition must be an object with an operator, a property and a value",
  unknownOperator: "Unknown operator",
  propertyRequired: "A trait name is required",
  propertyInvalid: "The trait name must be text",
  propertyTooLong: `The trait name must be ${MAX_PROPERTY_LENGTH} characters or fewer`,
  valueRequired: "A value is required",
  valueInvalid: "The value must be text, a number or true/false",
  valueTooLong: `The value must be ${MAX_CONDITION_VALUE_LENGTH} characters or fewer`,
  regex: "Not a valid regular expression",
  modulo: "Use divisor|remainder with numbers, e.g. 2|0",
  moduloZero: "The divisor cannot be 0",
  percentage: "Enter a percentage between 0 and 100",
  inEmpty: "List at least one value (comma-separated)",
  semverOperator: "Semantic versions (:semver) can only be compared with equal, not equal, greater than or less than",
  semverVersion: "Not a valid semantic version (e.g. 1.2.3:semver)",
} as const;

/** One segment's REGEX conditions together are too large to evaluate quickly (each is evaluated on every identity). */
export function regexBudgetMessage(total: number): string {
  return `This segment's REGEX conditions are too large together to evaluate quickly (RE2 program size ${total} in all, limit ${MAX_SEGMENT_REGEX_PROGRAM_SIZE}): use fewer or shorter patterns, or IN for lists of values`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The condition value as stored: text (numbers and booleans stringified), or null. */
export function conditionValueText(value: unknown): string | null | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === "boolean") return value ? "true" : "false";
  return undefined; // not representable
}

/** Messages for one condition's value, or null when valid. */
function valueProblem(operator: SegmentOperator, value: string | null): string | null {
  if (!operatorTakesValue(operator)) return value !== null && value.length > MAX_CONDITION_VALUE_LENGTH ? MESSAGES.valueTooLong : null;
  if (value === null || (value === "" && !EMPTY_VALUE_ALLOWED.includes(operator))) return MESSAGES.valueRequired;
  if (value.length > MAX_CONDITION_VALUE_LENGTH) return MESSAGES.valueTooLong;
  if (isSemverConditionValue(value)) {
    if (!SEMVER_OPERATORS.includes(operator)) return MESSAGES.semverOperator;
    return parseSemver(value.slice(0, -SEMVER_SUFFIX.length)) === null ? MESSAGES.semverVersion : null;
  }
  switch (operator) {
    case "REGEX": {
      // Invalid in Python → the generic message; valid but not expressible in linear time (backreferences,
      // lookarounds, …) → a message naming the construct (regex.ts).
      const refusal = regexRefusal(value);
      if (refusal === null) return null;
      return refusal.kind === "invalid" ? MESSAGES.regex : refusal.message;
    }
    case "MODULO": {
      const parts = value.split("|");
      if (parts.length !== 2) return MESSAGES.modulo;
      const divisor = parsePyFloat(parts[0]);
      const remainder = parsePyFloat(parts[1]);
      if (divisor === undefined || remainder === undefined || !Number.isFinite(divisor) || !Number.isFinite(remainder)) return MESSAGES.modulo;
      return divisor === 0 ? MESSAGES.moduloZero : null;
    }
    case "PERCENTAGE_SPLIT": {
      const threshold = parsePyFloat(value);
      return threshold === undefined || !Number.isFinite(threshold) || threshold < 0 || threshold > 100 ? MESSAGES.percentage : null;
    }
    case "IN": {
      if (value.trim() === "") return MESSAGES.inEmpty;
      if (value.trimStart().startsWith("[")) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(value);
        } catch {
          parsed = undefined; // the engine falls back to splitting on commas
        }
        if (Array.isArray(parsed) && parsed.length === 0) return MESSAGES.inEmpty;
      }
      return value.split(",").every((item) => item === "") ? MESSAGES.inEmpty : null;
    }
    default:
      return null;
  }
}

/** Checks one condition, adding `path.operator|property|value` messages. */
function checkCondition(condition: unknown, path: string, counts: Counts, errors: FieldErrors): void {
  if (!isRecord(condition)) {
    errors[path] = MESSAGES.conditionNotObject;
    return;
  }
  const operator = condition.operator;
  if (!isOperator(operator)) {
    errors[`${path}.operator`] = MESSAGES.unknownOperator;
    return;
  }
  const property = condition.property;
  if (property !== null && property !== undefined && typeof property !== "string") errors[`${path}.property`] = MESSAGES.propertyInvalid;
  else if (typeof property === "string" && property.length > MAX_PROPERTY_LENGTH) errors[`${path}.property`] = MESSAGES.propertyTooLong;
  else if (typeof property === "string" && textProblem(property)) errors[`${path}.property`] = textProblem(property)!;
  else if (operatorRequiresProperty(operator) && (typeof property !== "string" || property.trim() === "")) errors[`${path}.property`] = MESSAGES.propertyRequired;

  const value = conditionValueText(condition.value);
  if (value === undefined) {
    errors[`${path}.value`] = MESSAGES.valueInvalid;
    return;
  }
  const problem = (value !== null ? textProblem(value) : null) ?? valueProblem(operator, value);
  if (problem) errors[`${path}.value`] = problem;
  else if (operator === "REGEX" && value !== null) counts.regexProgramSize += regexProgramSize(value) ?? 0;
}

interface Counts {
  rules: number;
  conditions: number;
  /** Sum of the RE2 program sizes of the segment's (valid) REGEX conditions. */
  regexProgramSize: number;
}

function checkRule(rule: unknown, path: string, depth: number, counts: Counts, errors: FieldErrors): void {
  counts.rules++;
  if (!isRecord(rule)) {
    errors[path] = MESSAGES.ruleNotObject;
    return;
  }
  if (depth > MAX_RULE_DEPTH) {
    errors[path] = MESSAGES.tooDeep;
    return;
  }
  if (typeof rule.type !== "string" || !(RULE_TYPES as readonly string[]).includes(rule.type)) errors[`${path}.type`] = MESSAGES.ruleType;
  const conditions = rule.conditions ?? [];
  if (!Array.isArray(conditions)) errors[`${path}.conditions`] = MESSAGES.conditionsNotList;
  else {
    counts.conditions += conditions.length;
    if (counts.conditions > MAX_CONDITIONS) return;
    conditions.forEach((condition, index) => checkCondition(condition, `${path}.conditions.${index}`, counts, errors));
  }
  const rules = rule.rules ?? [];
  if (!Array.isArray(rules)) errors[`${path}.rules`] = MESSAGES.subRulesNotList;
  else {
    for (let index = 0; index < rules.length && counts.rules <= MAX_RULES && counts.conditions <= MAX_CONDITIONS; index++) {
      checkRule(rules[index], `${path}.rules.${index}`, depth + 1, counts, errors);
    }
  }
}

/**
 * Validates a segment's rule list. Paths start with `prefix` (default `rules`): `rules` itself for
 * list-level problems (no rule, no condition anywhere, too many), else the offending element.
 */
export function validateRules(rules: unknown, prefix = "rules"): FieldErrors {
  const errors: FieldErrors = {};
  if (!Array.isArray(rules)) {
    errors[prefix] = MESSAGES.rulesNotList;
    return errors;
  }
  if (rules.length === 0) {
    errors[prefix] = MESSAGES.noRules;
    return errors;
  }
  const counts: Counts = { rules: 0, conditions: 0, regexProgramSize: 0 };
  for (let index = 0; index < rules.length && counts.rules <= MAX_RULES && counts.conditions <= MAX_CONDITIONS; index++) {
    checkRule(rules[index], `${prefix}.${index}`, 1, counts, errors);
  }
  if (counts.rules > MAX_RULES) errors[prefix] = MESSAGES.tooManyRules;
  else if (counts.conditions > MAX_CONDITIONS) errors[prefix] = MESSAGES.tooManyConditions;
  else if (counts.conditions === 0 && Object.keys(errors).length === 0) errors[prefix] = MESSAGES.noConditions;
  else if (counts.regexProgramSize > MAX_SEGMENT_REGEX_PROGRAM_SIZE) errors[prefix] = regexBudgetMessage(counts.regexProgramSize);
  return errors;
}

/**
 * Validates a segment form: `name` and `description` when present (`name` is required unless
 * `partial`, i.e. an update), and `rules` when present (required unless `partial`).
 */
export function validateSegment(
  input: { name?: unknown; description?: unknown; rules?: unknown },
  options: { partial?: boolean } = {},
): FieldErrors {
  const errors: FieldErrors = {};
  if (input.name !== undefined || !options.partial) {
    if (typeof input.name !== "string" || input.name.trim() === "") errors.name = MESSAGES.nameRequired;
    else if (input.name.trim().length > MAX_SEGMENT_NAME_LENGTH) errors.name = MESSAGES.nameTooLong;
    else if (textProblem(input.name)) errors.name = textProblem(input.name)!;
  }
  if (input.description !== undefined && input.description !== null) {
    if (typeof input.description !== "string" || input.description.length > MAX_SEGMENT_DESCRIPTION_LENGTH) errors.description = MESSAGES.descriptionInvalid;
    else if (textProblem(input.description)) errors.description = textProblem(input.description)!;
  }
  if (input.rules !== undefined || !options.partial) Object.assign(errors, validateRules(input.rules));
  return errors;
}

/** The first `[path, message]` of a validation result, or null when valid. */
export function firstError(errors: FieldErrors): [string, string] | null {
  const [first] = Object.entries(errors);
  return first ?? null;
}

/**
 * The stored form of validated rules: only `type`, `conditions` (`operator`, `property`, `value`)
 * and `rules`; values as text; an empty PERCENTAGE_SPLIT property as null. Call after
 * `validateRules` found nothing.
 */
export function normaliseRules(rules: readonly RuleInput[]): SegmentRule[] {
  return rules.map((rule) => ({
    type: rule.type as RuleType,
    conditions: (rule.conditions ?? []).map((condition) => {
      const property = typeof condition.property === "string" && condition.property.trim() !== "" ? condition.property : null;
      return { operator: condition.operator as SegmentOperator, property, value: conditionValueText(condition.value) ?? null };
    }),
    rules: normaliseRules(rule.rules ?? []),
  }));
}

/**
 * A one-line human summary of rules for audit entries and lists:
 * `ALL(ANY(age LESS_THAN "40", plan IN "pro,team"), NONE(country EQUAL "FR"))`.
 */
export function describeRules(rules: readonly StoredRuleLike[]): string {
  const describeCondition = (condition: StoredRuleLike["conditions"][number]) =>
    [condition.property ?? "(identity)", condition.operator, condition.value === null ? null : JSON.stringify(condition.value)].filter((part) => part !== null).join(" ");
  const describeRule = (rule: StoredRuleLike): string =>
    `${rule.type}(${[...rule.conditions.map(describeCondition), ...rule.rules.map(describeRule)].join(", ")})`;
  const text = rules.map(describeRule).join(", ");
  return text.length > 2000 ? `${text.slice(0, 1999)}…` : text;
}
