/**
 * Template functions of the rule language, in one registry. `parameters`, `field` and `current`
 * are special forms the compiler binds itself; every other function is here.
 */
import { RuleEvaluationError } from "../errors.js";
import type { EvalContext } from "./context.js";
import type { ExprFn } from "./expression.js";
import {
  addDuration,
  compareOrdered,
  formatInstant,
  isMissing,
  looseEquals,
  preview,
  requireInstant,
  subMillisecond,
  typeName,
} from "./values.js";

/** One registered function: its arity and how it is called. */
export interface TemplateFunction {
  readonly minArgs: number;
  readonly maxArgs: number;
  /** Called with compiled argument closures, for functions that must not evaluate every argument. */
  readonly lazy?: (args: readonly ExprFn[], ctx: EvalContext) => unknown;
  /** Called with evaluated arguments. */
  readonly call?: (args: readonly unknown[], ctx: EvalContext) => unknown;
}

/** Special forms handled by the compiler; listed so that arity checks and docs see them. */
export const SPECIAL_FORMS: Readonly<Record<string, { minArgs: number; maxArgs: number }>> = {
  parameters: { minArgs: 1, maxArgs: 1 },
  field: { minArgs: 1, maxArgs: 1 },
  current: { minArgs: 0, maxArgs: 1 },
};

function fail(message: string): never {
  throw new RuleEvaluationError(message);
}

function str(value: unknown, fn: string, position = 1): string {
  if (typeof value === "string") return value;
  return fail(
    `${fn}() argument ${position} must be a string, got ${typeName(value)} ${preview(value)}`,
  );
}

function int(value: unknown, fn: string, position = 1): number {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  return fail(
    `${fn}() argument ${position} must be an integer, got ${typeName(value)} ${preview(value)}`,
  );
}

function num(value: unknown, fn: string, position = 1): number {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  return fail(
    `${fn}() argument ${position} must be a number, got ${typeName(value)} ${preview(value)}`,
  );
}

function bool(value: unknown, fn: string): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && /^(true|false)$/i.test(value))
    return value.toLowerCase() === "true";
  return fail(`${fn}() expects a boolean, got ${typeName(value)} ${preview(value)}`);
}

function arr(value: unknown, fn: string, position = 1): unknown[] {
  if (Array.isArray(value)) return value;
  return fail(
    `${fn}() argument ${position} must be an array, got ${typeName(value)} ${preview(value)}`,
  );
}

function lengthOf(value: unknown): number {
  if (typeof value === "string" || Array.isArray(value)) return value.length;
  if (value !== null && typeof value === "object") return Object.keys(value).length;
  return fail(`length() expects a string, array or object, got ${typeName(value)}`);
}

function isEmpty(value: unknown): boolean {
  if (isMissing(value)) return true;
  if (typeof value === "string" || Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value as object).length === 0;
  return false;
}

function toStringValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function toInt(value: unknown): number {
  if (typeof value === "number") return Math.trunc(value);
  if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value))
    return Number.parseInt(value, 10);
  return fail(`int() cannot convert ${typeName(value)} ${preview(value)}`);
}

function strict(
  minArgs: number,
  maxArgs: number,
  call: (args: readonly unknown[], ctx: EvalContext) => unknown,
): TemplateFunction {
  return { minArgs, maxArgs, call };
}

function containsValue(container: unknown, item: unknown): boolean {
  if (typeof container === "string")
    return container.toLowerCase().includes(toStringValue(item).toLowerCase());
  if (Array.isArray(container)) return container.some((member) => looseEquals(member, item));
  if (container !== null && typeof container === "object") {
    const key = toStringValue(item).toLowerCase();
    return Object.keys(container).some((k) => k.toLowerCase() === key);
  }
  return fail(`contains() expects a string, array or object, got ${typeName(container)}`);
}

const VARIADIC = 128;

/** Every template function except the special forms, keyed by lower-case name (names are case-insensitive). */
export const FUNCTIONS: Readonly<Record<string, TemplateFunction>> = Object.freeze({
  // Dates: `now` is an input of the evaluation, never the clock.
  // utcNow's optional format argument is not supported: the rule fails to load rather than
  // silently ignoring it.
  utcnow: strict(0, 0, (_args, ctx) => ctx.nowText),
  adddays: strict(2, 2, ([date, days]) =>
    formatInstant(
      requireInstant(date, "addDays") + num(days, "addDays", 2) * 86_400_000,
      subMillisecond(date as string),
    ),
  ),
  datetimeadd: strict(2, 2, ([date, duration]) =>
    formatInstant(
      addDuration(requireInstant(date, "dateTimeAdd"), str(duration, "dateTimeAdd", 2)),
      subMillisecond(date as string),
    ),
  ),
  // Logic.
  if: {
    minArgs: 3,
    maxArgs: 3,
    lazy: ([cond, whenTrue, whenFalse], ctx) =>
      bool((cond as ExprFn)(ctx), "if") ? (whenTrue as ExprFn)(ctx) : (whenFalse as ExprFn)(ctx),
  },
  and: {
    minArgs: 2,
    maxArgs: VARIADIC,
    lazy: (args, ctx) => args.every((a) => bool(a(ctx), "and")),
  },
  or: {
    minArgs: 2,
    maxArgs: VARIADIC,
    lazy: (args, ctx) => args.some((a) => bool(a(ctx), "or")),
  },
  not: strict(1, 1, ([v]) => !bool(v, "not")),
  true: strict(0, 0, () => true),
  false: strict(0, 0, () => false),
  null: strict(0, 0, () => null),
  coalesce: strict(1, VARIADIC, (args) => args.find((a) => !isMissing(a)) ?? null),
  // Comparison.
  equals: strict(2, 2, ([a, b]) => looseEquals(a, b)),
  less: strict(2, 2, ([a, b]) => compareOrdered(a, b) < 0),
  lessorequals: strict(2, 2, ([a, b]) => compareOrdered(a, b) <= 0),
  greater: strict(2, 2, ([a, b]) => compareOrdered(a, b) > 0),
  greaterorequals: strict(2, 2, ([a, b]) => compareOrdered(a, b) >= 0),
  // Strings and collections.
  concat: strict(1, VARIADIC, (args) =>
    args.every(Array.isArray) ? (args as unknown[][]).flat() : args.map(toStringValue).join(""),
  ),
  tolower: strict(1, 1, ([s]) => str(s, "toLower").toLowerCase()),
  toupper: strict(1, 1, ([s]) => str(s, "toUpper").toUpperCase()),
  trim: strict(1, 1, ([s]) => str(s, "trim").trim()),
  length: strict(1, 1, ([v]) => lengthOf(v)),
  empty: strict(1, 1, ([v]) => isEmpty(v)),
  contains: strict(2, 2, ([c, item]) => containsValue(c, item)),
  startswith: strict(2, 2, ([s, p]) =>
    str(s, "startsWith")
      .toLowerCase()
      .startsWith(str(p, "startsWith", 2).toLowerCase()),
  ),
  endswith: strict(2, 2, ([s, p]) =>
    str(s, "endsWith")
      .toLowerCase()
      .endsWith(str(p, "endsWith", 2).toLowerCase()),
  ),
  indexof: strict(2, 2, ([s, p]) =>
    str(s, "indexOf")
      .toLowerCase()
      .indexOf(str(p, "indexOf", 2).toLowerCase()),
  ),
  substring: strict(2, 3, ([s, start, length]) => {
    const text = str(s, "substring");
    const from = int(start, "substring", 2);
    const count = length === undefined ? text.length - from : int(length, "substring", 3);
    if (from < 0 || count < 0 || from + count > text.length) {
      fail(`substring(${preview(text)}, ${from}, ${count}) is out of range`);
    }
    return text.substr(from, count);
  }),
  replace: strict(3, 3, ([s, a, b]) =>
    str(s, "replace")
      .split(str(a, "replace", 2))
      .join(str(b, "replace", 3)),
  ),
  split: strict(2, 2, ([s, sep]) => {
    const text = str(s, "split");
    const seps = Array.isArray(sep) ? sep.map((x) => str(x, "split", 2)) : [str(sep, "split", 2)];
    let parts = [text];
    for (const d of seps) parts = parts.flatMap((p) => p.split(d));
    return parts;
  }),
  first: strict(1, 1, ([v]) =>
    typeof v === "string" ? v.slice(0, 1) : (arr(v, "first")[0] ?? null),
  ),
  last: strict(1, 1, ([v]) =>
    typeof v === "string" ? v.slice(-1) : (arr(v, "last").at(-1) ?? null),
  ),
  take: strict(2, 2, ([v, n]) =>
    typeof v === "string"
      ? v.slice(0, Math.max(0, int(n, "take", 2)))
      : arr(v, "take").slice(0, Math.max(0, int(n, "take", 2))),
  ),
  skip: strict(2, 2, ([v, n]) =>
    typeof v === "string"
      ? v.slice(Math.max(0, int(n, "skip", 2)))
      : arr(v, "skip").slice(Math.max(0, int(n, "skip", 2))),
  ),
  createarray: strict(0, VARIADIC, (args) => [...args]),
  union: strict(1, VARIADIC, (args) => {
    if (args.every(Array.isArray)) {
      const out: unknown[] = [];
      for (const a of args as unknown[][])
        for (const v of a) if (!out.some((o) => looseEquals(o, v))) out.push(v);
      return out;
    }
    return Object.assign(
      {},
      ...args.map((a, i) =>
        a !== null && typeof a === "object"
          ? a
          : fail(`union() argument ${i + 1} must be an array or object`),
      ),
    );
  }),
  intersection: strict(2, VARIADIC, (args) => {
    const [head, ...rest] = args.map((a, i) => arr(a, "intersection", i + 1));
    return (head ?? []).filter((v) => rest.every((r) => r.some((o) => looseEquals(o, v))));
  }),
  // Conversions.
  string: strict(1, 1, ([v]) => toStringValue(v)),
  int: strict(1, 1, ([v]) => toInt(v)),
  bool: strict(1, 1, ([v]) => (typeof v === "number" ? v !== 0 : bool(v, "bool"))),
  json: strict(1, 1, ([v]) => {
    const text = str(v, "json");
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new RuleEvaluationError(`json() could not parse ${preview(text)}`, { cause: error });
    }
  }),
  array: strict(1, 1, ([v]) => (Array.isArray(v) ? v : [v])),
  trygetvalue: strict(2, 2, ([o, key]) => tryGet(o, key)),
  tryget: strict(2, 2, ([o, key]) => tryGet(o, key)),
  // Arithmetic.
  add: strict(2, 2, ([a, b]) => num(a, "add") + num(b, "add", 2)),
  sub: strict(2, 2, ([a, b]) => num(a, "sub") - num(b, "sub", 2)),
  mul: strict(2, 2, ([a, b]) => num(a, "mul") * num(b, "mul", 2)),
  div: strict(2, 2, ([a, b]) => {
    const d = int(b, "div", 2);
    if (d === 0) fail("div() by zero");
    return Math.trunc(int(a, "div") / d);
  }),
  mod: strict(2, 2, ([a, b]) => {
    const d = int(b, "mod", 2);
    if (d === 0) fail("mod() by zero");
    return int(a, "mod") % d;
  }),
  min: strict(1, VARIADIC, (args) =>
    Math.min(
      ...(args.length === 1 && Array.isArray(args[0]) ? args[0] : args).map((v, i) =>
        num(v, "min", i + 1),
      ),
    ),
  ),
  max: strict(1, VARIADIC, (args) =>
    Math.max(
      ...(args.length === 1 && Array.isArray(args[0]) ? args[0] : args).map((v, i) =>
        num(v, "max", i + 1),
      ),
    ),
  ),
});

function tryGet(target: unknown, key: unknown): unknown {
  if (Array.isArray(target) && typeof key === "number") return target[key] ?? null;
  if (target !== null && typeof target === "object" && typeof key === "string") {
    const lower = key.toLowerCase();
    const found = Object.keys(target).find((k) => k.toLowerCase() === lower);
    return found === undefined ? null : (target as Record<string, unknown>)[found];
  }
  return null;
}

/** Names of every function the language knows, for docs and error messages. */
export function functionNames(): string[] {
  return [...Object.keys(SPECIAL_FORMS), ...Object.keys(FUNCTIONS)].sort();
}
