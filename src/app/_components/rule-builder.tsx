"use client";

/**
 * The segment rule builder: nested ALL / ANY / NONE rules with conditions (trait, operator, value).
 * Errors come keyed by the API's paths (`rules.0.conditions.1.value`), from the shared pure
 * validator (`@/server/segments/validation`) and from the server, and show next to their input.
 */
import { useId } from "react";
import {
  MAX_RULE_DEPTH,
  RULE_TYPES,
  SEGMENT_OPERATORS,
  SEMVER_OPERATORS,
  operatorRequiresProperty,
  operatorTakesValue,
  type RuleInput,
  type RuleType,
  type SegmentOperator,
  type StoredRuleLike,
} from "@/server/segments/validation";
import { Button } from "./ui";

const SEMVER_SUFFIX = ":semver";

export interface ConditionDraft {
  uid: number;
  operator: SegmentOperator;
  property: string;
  value: string;
  semver: boolean;
}

export interface RuleDraft {
  uid: number;
  type: RuleType;
  conditions: ConditionDraft[];
  rules: RuleDraft[];
}

export const OPERATOR_LABELS: Record<SegmentOperator, string> = {
  EQUAL: "= Exactly matches",
  NOT_EQUAL: "≠ Does not match",
  GREATER_THAN: "> Greater than",
  GREATER_THAN_INCLUSIVE: "≥ Greater than or equal to",
  LESS_THAN: "< Less than",
  LESS_THAN_INCLUSIVE: "≤ Less than or equal to",
  CONTAINS: "Contains",
  NOT_CONTAINS: "Does not contain",
  REGEX: "Matches regex",
  IN: "Is one of (list)",
  MODULO: "% Modulo (divisor|remainder)",
  PERCENTAGE_SPLIT: "% Split (share of identities)",
  IS_SET: "Is set",
  IS_NOT_SET: "Is not set",
};

/** Display order of the operator select. */
const OPERATOR_ORDER: readonly SegmentOperator[] = [
  "EQUAL",
  "NOT_EQUAL",
  "GREATER_THAN",
  "GREATER_THAN_INCLUSIVE",
  "LESS_THAN",
  "LESS_THAN_INCLUSIVE",
  "CONTAINS",
  "NOT_CONTAINS",
  "REGEX",
  "IN",
  "MODULO",
  "PERCENTAGE_SPLIT",
  "IS_SET",
  "IS_NOT_SET",
].filter((operator) => (SEGMENT_OPERATORS as readonly string[]).includes(operator)) as SegmentOperator[];

const RULE_TYPE_LABELS: Record<RuleType, string> = {
  ALL: "All of the following (ALL)",
  ANY: "Any of the following (ANY)",
  NONE: "None of the following (NONE)",
};

const VALUE_HINTS: Partial<Record<SegmentOperator, { placeholder: string; hint: string }>> = {
  MODULO: { placeholder: "2|0", hint: "divisor|remainder — 2|0 matches even numbers" },
  PERCENTAGE_SPLIT: { placeholder: "0–100", hint: "Percentage of identities (stable hashing), 0–100" },
  IN: { placeholder: "gb,fr,de", hint: "Comma-separated values" },
  REGEX: { placeholder: "^.+@example\\.com$", hint: "Regular expression (Python syntax, matched from the start; no backreferences or lookarounds)" },
  CONTAINS: { placeholder: "text", hint: "Substring of the trait value" },
  NOT_CONTAINS: { placeholder: "text", hint: "Substring the trait value must not contain" },
};

let uidCounter = 0;
const uid = () => ++uidCounter;

export function newCondition(): ConditionDraft {
  return { uid: uid(), operator: "EQUAL", property: "", value: "", semver: false };
}

export function newRule(type: RuleType = "ANY", withCondition = true): RuleDraft {
  return { uid: uid(), type, conditions: withCondition ? [newCondition()] : [], rules: [] };
}

/** The rules of a new segment: ALL with one empty condition. */
export function initialRules(): RuleDraft[] {
  return [newRule("ALL")];
}

/** Stored rules (from the API) as editable drafts. */
export function draftsOf(rules: readonly StoredRuleLike[]): RuleDraft[] {
  return rules.map((rule) => ({
    uid: uid(),
    type: (RULE_TYPES as readonly string[]).includes(rule.type) ? (rule.type as RuleType) : "ALL",
    conditions: rule.conditions.map((condition) => {
      const value = condition.value ?? "";
      const semver = value.endsWith(SEMVER_SUFFIX);
      return {
        uid: uid(),
        operator: ((SEGMENT_OPERATORS as readonly string[]).includes(condition.operator) ? condition.operator : "EQUAL") as SegmentOperator,
        property: condition.property ?? "",
        value: semver ? value.slice(0, -SEMVER_SUFFIX.length) : value,
        semver,
      };
    }),
    rules: draftsOf(rule.rules),
  }));
}

/** Drafts as the API's rule input (what the validator and the server check). */
export function rulesInput(rules: readonly RuleDraft[]): RuleInput[] {
  return rules.map((rule) => ({
    type: rule.type,
    conditions: rule.conditions.map((condition) => ({
      operator: condition.operator,
      property: !operatorRequiresProperty(condition.operator) && condition.property.trim() === "" ? null : condition.property,
      value: !operatorTakesValue(condition.operator)
        ? null
        : condition.semver && SEMVER_OPERATORS.includes(condition.operator)
          ? `${condition.value}${SEMVER_SUFFIX}`
          : condition.value,
    })),
    rules: rulesInput(rule.rules),
  }));
}

type Path = readonly number[];

function pathKey(path: Path): string {
  return `rules.${path.join(".rules.")}`;
}

function mapRule(rules: readonly RuleDraft[], path: Path, change: (rule: RuleDraft) => RuleDraft | null): RuleDraft[] {
  const [head, ...rest] = path;
  const next: RuleDraft[] = [];
  rules.forEach((rule, index) => {
    if (index !== head) next.push(rule);
    else if (rest.length === 0) {
      const changed = change(rule);
      if (changed) next.push(changed);
    } else next.push({ ...rule, rules: mapRule(rule.rules, rest, change) });
  });
  return next;
}

export interface RuleBuilderProps {
  rules: RuleDraft[];
  onChange: (rules: RuleDraft[]) => void;
  /** Messages to show, by API path (`rules`, `rules.0.type`, `rules.0.conditions.1.value`, …). */
  errors: Record<string, string>;
  /** Called when an input loses focus, with its path (to start showing its errors). */
  onTouch?: (path: string) => void;
  disabled?: boolean;
}

export function RuleBuilder({ rules, onChange, errors, onTouch, disabled }: RuleBuilderProps) {
  return (
    <div className="rule-builder stack">
      {rules.map((rule, index) => (
        <RuleEditor
          key={rule.uid}
          rule={rule}
          path={[index]}
          label={`${index + 1}`}
          depth={1}
          errors={errors}
          onTouch={onTouch}
          disabled={disabled}
          update={(path, change) => onChange(mapRule(rules, path, change))}
          canRemove={rules.length > 1}
        />
      ))}
      {errors.rules ? (
        <p className="field-error" role="alert">
          {errors.rules}
        </p>
      ) : null}
      <div>
        <Button type="button" onClick={() => onChange([...rules, newRule("ANY")])} disabled={disabled}>
          Add rule
        </Button>
      </div>
    </div>
  );
}

function RuleEditor({
  rule,
  path,
  label,
  depth,
  errors,
  onTouch,
  disabled,
  update,
  canRemove,
}: {
  rule: RuleDraft;
  path: Path;
  label: string;
  depth: number;
  errors: Record<string, string>;
  onTouch?: (path: string) => void;
  disabled?: boolean;
  update: (path: Path, change: (rule: RuleDraft) => RuleDraft | null) => void;
  canRemove: boolean;
}) {
  const id = useId();
  const key = pathKey(path);
  const setConditions = (conditions: ConditionDraft[]) => update(path, (r) => ({ ...r, conditions }));
  const connector = rule.type === "ALL" ? "and" : rule.type === "ANY" ? "or" : "nor";
  return (
    <fieldset className={`rule rule-${rule.type.toLowerCase()}`} aria-label={`Rule ${label}`}>
      <legend className="sr-only">Rule {label}</legend>
      <div className="rule-head">
        <span className="rule-label" aria-hidden>
          Rule {label}
        </span>
        <div className="field rule-type">
          <label htmlFor={`${id}-type`} className="sr-only">
            Rule {label} match
          </label>
          <select
            id={`${id}-type`}
            className="input"
            value={rule.type}
            disabled={disabled}
            aria-invalid={errors[`${key}.type`] ? true : undefined}
            onChange={(e) => update(path, (r) => ({ ...r, type: e.target.value as RuleType }))}
          >
            {RULE_TYPES.map((type) => (
              <option key={type} value={type}>
                {RULE_TYPE_LABELS[type]}
              </option>
            ))}
          </select>
        </div>
        {canRemove ? (
          <Button type="button" variant="ghost" className="btn-sm" aria-label={`Remove rule ${label}`} disabled={disabled} onClick={() => update(path, () => null)}>
            Remove rule
          </Button>
        ) : null}
      </div>
      {errors[key] || errors[`${key}.type`] ? (
        <p className="field-error" role="alert">
          {errors[key] ?? errors[`${key}.type`]}
        </p>
      ) : null}
      {rule.conditions.map((condition, index) => (
        <div key={condition.uid} className="condition-wrap">
          {index > 0 ? (
            <span className="connector" aria-hidden>
              {connector}
            </span>
          ) : null}
          <ConditionEditor
            condition={condition}
            label={`Rule ${label} condition ${index + 1}`}
            path={`${key}.conditions.${index}`}
            errors={errors}
            onTouch={onTouch}
            disabled={disabled}
            onChange={(next) => setConditions(rule.conditions.map((c) => (c.uid === condition.uid ? next : c)))}
            onRemove={() => setConditions(rule.conditions.filter((c) => c.uid !== condition.uid))}
          />
        </div>
      ))}
      {rule.rules.length > 0 ? (
        <div className="nested-rules stack">
          {rule.rules.map((child, index) => (
            <RuleEditor
              key={child.uid}
              rule={child}
              path={[...path, index]}
              label={`${label}.${index + 1}`}
              depth={depth + 1}
              errors={errors}
              onTouch={onTouch}
              disabled={disabled}
              update={update}
              canRemove
            />
          ))}
        </div>
      ) : null}
      <div className="row">
        <Button type="button" className="btn-sm" disabled={disabled} onClick={() => setConditions([...rule.conditions, newCondition()])} aria-label={`Add condition to rule ${label}`}>
          + Condition
        </Button>
        {depth < MAX_RULE_DEPTH ? (
          <Button
            type="button"
            className="btn-sm"
            disabled={disabled}
            onClick={() => update(path, (r) => ({ ...r, rules: [...r.rules, newRule(rule.type === "ANY" ? "ALL" : "ANY")] }))}
            aria-label={`Add nested rule to rule ${label}`}
          >
            + Nested rule
          </Button>
        ) : null}
      </div>
    </fieldset>
  );
}

function ConditionEditor({
  condition,
  label,
  path,
  errors,
  onTouch,
  disabled,
  onChange,
  onRemove,
}: {
  condition: ConditionDraft;
  label: string;
  path: string;
  errors: Record<string, string>;
  onTouch?: (path: string) => void;
  disabled?: boolean;
  onChange: (condition: ConditionDraft) => void;
  onRemove: () => void;
}) {
  const id = useId();
  const { operator } = condition;
  const needsProperty = operatorRequiresProperty(operator);
  const takesValue = operatorTakesValue(operator);
  const semverAllowed = SEMVER_OPERATORS.includes(operator);
  const hint = VALUE_HINTS[operator];
  const propertyError = errors[`${path}.property`];
  const operatorError = errors[`${path}.operator`];
  const valueError = errors[`${path}.value`] ?? errors[path];
  return (
    <div className="condition" role="group" aria-label={label}>
      <div className={`field ${propertyError ? "field-invalid" : ""}`}>
        <label htmlFor={`${id}-property`}>Trait</label>
        {needsProperty || condition.property !== "" ? (
          <input
            id={`${id}-property`}
            className="input mono"
            value={condition.property}
            disabled={disabled}
            placeholder="plan, or $.identity.identifier"
            autoComplete="off"
            aria-invalid={propertyError ? true : undefined}
            aria-describedby={propertyError ? `${id}-property-error` : undefined}
            onChange={(e) => onChange({ ...condition, property: e.target.value })}
            onBlur={() => onTouch?.(`${path}.property`)}
          />
        ) : (
          <input id={`${id}-property`} className="input" value="" placeholder="Identity (hashed)" disabled readOnly />
        )}
        {propertyError ? (
          <p className="field-error" id={`${id}-property-error`} role="alert">
            {propertyError}
          </p>
        ) : null}
      </div>
      <div className={`field ${operatorError ? "field-invalid" : ""}`}>
        <label htmlFor={`${id}-operator`}>Operator</label>
        <select
          id={`${id}-operator`}
          className="input"
          value={operator}
          disabled={disabled}
          aria-invalid={operatorError ? true : undefined}
          onChange={(e) => {
            const next = e.target.value as SegmentOperator;
            onChange({
              ...condition,
              operator: next,
              semver: SEMVER_OPERATORS.includes(next) ? condition.semver : false,
              property: operatorRequiresProperty(next) ? condition.property : "",
              value: operatorTakesValue(next) ? condition.value : "",
            });
          }}
        >
          {OPERATOR_ORDER.map((op) => (
            <option key={op} value={op}>
              {OPERATOR_LABELS[op]}
            </option>
          ))}
        </select>
        {operatorError ? (
          <p className="field-error" role="alert">
            {operatorError}
          </p>
        ) : null}
      </div>
      <div className={`field ${valueError ? "field-invalid" : ""}`}>
        <label htmlFor={`${id}-value`}>Value</label>
        {takesValue ? (
          <input
            id={`${id}-value`}
            className="input mono"
            value={condition.value}
            disabled={disabled}
            placeholder={hint?.placeholder ?? (condition.semver ? "1.2.3" : "value")}
            inputMode={operator === "PERCENTAGE_SPLIT" ? "decimal" : undefined}
            autoComplete="off"
            aria-invalid={valueError ? true : undefined}
            aria-describedby={valueError ? `${id}-value-error` : `${id}-value-hint`}
            onChange={(e) => onChange({ ...condition, value: e.target.value })}
            onBlur={() => onTouch?.(`${path}.value`)}
          />
        ) : (
          <input id={`${id}-value`} className="input" value="" placeholder="No value needed" disabled readOnly />
        )}
        {valueError ? (
          <p className="field-error" id={`${id}-value-error`} role="alert">
            {valueError}
          </p>
        ) : hint ? (
          <p className="field-hint" id={`${id}-value-hint`}>
            {hint.hint}
          </p>
        ) : null}
        {semverAllowed && takesValue ? (
          <label className="checkbox small semver-toggle">
            <input
              type="checkbox"
              checked={condition.semver}
              disabled={disabled}
              onChange={(e) => {
                onTouch?.(`${path}.value`);
                onChange({ ...condition, semver: e.target.checked });
              }}
            />
            <span>Compare as semantic version (:semver)</span>
          </label>
        ) : null}
      </div>
      <div className="condition-remove">
        <button type="button" className="icon-btn" aria-label={`Remove ${label.toLowerCase()}`} disabled={disabled} onClick={onRemove}>
          ×
        </button>
      </div>
    </div>
  );
}
