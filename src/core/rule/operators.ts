/**
 * The condition operators of Azure Policy's policyRule, in one registry. The control schema's
 * operator list must equal this registry's keys (a test checks it).
 */
import { RuleEvaluationError } from "../errors.js";
import { compareOrdered, isMissing, looseEquals, preview, typeName } from "./values.js";

/** An operator decides whether an observed value satisfies the condition's operand. */
export type OperatorFn = (actual: unknown, expected: unknown) => boolean;

/** What an operator needs of its operand, checked when a literal operand compiles. */
export type OperandKind = "any" | "array" | "string" | "boolean" | "ordered";

/** One registered operator. */
export interface Operator {
  readonly test: OperatorFn;
  readonly operand: OperandKind;
  /** Reads the phrase for "the value is expected to (not) satisfy this": used in reasons. */
  readonly phrase: string;
  /** The operator meaning the opposite (for reasons about the compliant state). */
  readonly opposite: string;
}

const patternCache = new Map<string, RegExp>();

function cached(key: string, build: () => RegExp): RegExp {
  let re = patternCache.get(key);
  if (re === undefined) {
    if (patternCache.size > 10_000) patternCache.clear();
    re = build();
    patternCache.set(key, re);
  }
  return re;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** The regular expression a `like` pattern stands for: `*` is any run of characters, case-insensitive. */
export function likePattern(pattern: string): RegExp {
  return cached(
    `like:${pattern}`,
    () => new RegExp(`^${pattern.split("*").map(escapeRegex).join("[\\s\\S]*")}$`, "is"),
  );
}

/**
 * The regular expression a `match` pattern stands for: `#` a digit, `?` a letter, `.` any
 * character, anything else itself; the whole value must match.
 */
export function matchPattern(pattern: string, insensitive: boolean): RegExp {
  return cached(`match:${insensitive ? "i" : "s"}:${pattern}`, () => {
    let source = "";
    for (const ch of pattern) {
      if (ch === "#") source += "[0-9]";
      else if (ch === "?") source += "[A-Za-z]";
      else if (ch === ".") source += "[\\s\\S]";
      else source += escapeRegex(ch);
    }
    return new RegExp(`^${source}$`, insensitive ? "iu" : "u");
  });
}

function asText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

function requireString(value: unknown, op: string): string {
  if (typeof value !== "string")
    throw new RuleEvaluationError(
      `${op} expects a string operand, got ${typeName(value)} ${preview(value)}`,
    );
  return value;
}

function like(actual: unknown, expected: unknown): boolean {
  const text = asText(actual);
  return text !== undefined && likePattern(requireString(expected, "like")).test(text);
}

function match(insensitive: boolean): OperatorFn {
  return (actual, expected) => {
    const text = asText(actual);
    return (
      text !== undefined && matchPattern(requireString(expected, "match"), insensitive).test(text)
    );
  };
}

function contains(actual: unknown, expected: unknown): boolean {
  if (isMissing(actual)) return false;
  if (Array.isArray(actual)) return actual.some((member) => looseEquals(member, expected));
  const text = asText(actual);
  const needle = asText(expected);
  if (text === undefined || needle === undefined) return false;
  return text.toLowerCase().includes(needle.toLowerCase());
}

function inList(actual: unknown, expected: unknown): boolean {
  if (!Array.isArray(expected))
    throw new RuleEvaluationError(
      `in/notIn expects an array operand, got ${typeName(expected)} ${preview(expected)}`,
    );
  for (const candidate of expected) if (looseEquals(actual, candidate)) return true;
  return false;
}

function containsKey(actual: unknown, expected: unknown): boolean {
  if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
  const key = asText(expected);
  if (key === undefined)
    throw new RuleEvaluationError(`containsKey expects a key name, got ${typeName(expected)}`);
  if (Object.hasOwn(actual, key)) return true;
  const lower = key.toLowerCase();
  return Object.keys(actual).some((k) => k.toLowerCase() === lower);
}

/** Normalise an `exists` operand: `true`, `false`, `"true"`, `"false"` (any case). */
export function existsOperand(expected: unknown): boolean {
  if (typeof expected === "boolean") return expected;
  if (typeof expected === "string") {
    const lower = expected.toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
  }
  throw new RuleEvaluationError(`exists expects true or false, got ${preview(expected)}`);
}

function exists(actual: unknown, expected: unknown): boolean {
  return !isMissing(actual) === existsOperand(expected);
}

function not(fn: OperatorFn): OperatorFn {
  return (actual, expected) => !fn(actual, expected);
}

function entry(test: OperatorFn, operand: OperandKind, phrase: string, opposite: string): Operator {
  return { test, operand, phrase, opposite };
}

/** Every operator, by its name in the rule language. */
export const OPERATORS: Readonly<Record<string, Operator>> = Object.freeze({
  equals: entry(looseEquals, "any", "equal", "notEquals"),
  notEquals: entry(not(looseEquals), "any", "not equal", "equals"),
  like: entry(like, "string", "be like", "notLike"),
  notLike: entry(not(like), "string", "not be like", "like"),
  match: entry(match(false), "string", "match (case-sensitive)", "notMatch"),
  matchInsensitively: entry(match(true), "string", "match", "notMatchInsensitively"),
  notMatch: entry(not(match(false)), "string", "not match (case-sensitive)", "match"),
  notMatchInsensitively: entry(not(match(true)), "string", "not match", "matchInsensitively"),
  contains: entry(contains, "any", "contain", "notContains"),
  notContains: entry(not(contains), "any", "not contain", "contains"),
  in: entry(inList, "array", "be one of", "notIn"),
  notIn: entry(not(inList), "array", "be none of", "in"),
  containsKey: entry(containsKey, "string", "contain the key", "notContainsKey"),
  notContainsKey: entry(not(containsKey), "string", "not contain the key", "containsKey"),
  less: entry((a, b) => compareOrdered(a, b) < 0, "ordered", "be less than", "greaterOrEquals"),
  lessOrEquals: entry((a, b) => compareOrdered(a, b) <= 0, "ordered", "be at most", "greater"),
  greater: entry((a, b) => compareOrdered(a, b) > 0, "ordered", "be greater than", "lessOrEquals"),
  greaterOrEquals: entry((a, b) => compareOrdered(a, b) >= 0, "ordered", "be at least", "less"),
  exists: entry(exists, "boolean", "exist", "exists"),
});

/** The operator names, in registry order. */
export const OPERATOR_NAMES: readonly string[] = Object.keys(OPERATORS);

/**
 * Describe what the compliant state asks of a value, given the operator of the non-compliant
 * condition and whether that condition held: `expected 'Enabled'`, `expected at least 2`.
 */
export function describeExpectation(
  operator: string,
  expected: unknown,
  mustHold: boolean,
): string {
  const op = OPERATORS[operator];
  if (op === undefined) return `${operator} ${preview(expected)}`;
  const name = mustHold ? operator : op.opposite;
  if (operator === "exists") {
    const wanted = existsSafe(expected) === mustHold;
    return wanted ? "expected it to exist" : "expected it to be absent";
  }
  const target = OPERATORS[name] ?? op;
  if (name === "equals") return `expected ${preview(expected)}`;
  return `expected to ${target.phrase} ${preview(expected)}`;
}

function existsSafe(expected: unknown): boolean {
  return !(
    expected === false ||
    (typeof expected === "string" && expected.toLowerCase() === "false")
  );
}

const VERBS: Readonly<Record<string, string>> = {
  equals: "is",
  notEquals: "is not",
  like: "is like",
  notLike: "is not like",
  match: "matches (case-sensitive)",
  matchInsensitively: "matches",
  notMatch: "does not match (case-sensitive)",
  notMatchInsensitively: "does not match",
  contains: "contains",
  notContains: "does not contain",
  in: "is one of",
  notIn: "is none of",
  containsKey: "has the key",
  notContainsKey: "lacks the key",
  less: "is less than",
  lessOrEquals: "is at most",
  greater: "is greater than",
  greaterOrEquals: "is at least",
};

/**
 * State a condition as a plain clause about "it": `is one of ['a', 'b']`, `exists`, `is absent`;
 * `holds` false states its opposite.
 */
export function describeRequirement(operator: string, expected: unknown, holds: boolean): string {
  const op = OPERATORS[operator];
  if (operator === "exists") return existsSafe(expected) === holds ? "exists" : "is absent";
  const name = holds || op === undefined ? operator : op.opposite;
  return `${VERBS[name] ?? name} ${preview(expected)}`;
}
