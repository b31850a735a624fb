/**
 * Compiles a policyRule condition tree, once, into closures over an evaluation context. The
 * closures return a three-valued result (true, false, unknown) and write the trace.
 */
import { joinPointer, RuleCompileError, RuleEvaluationError } from "../errors.js";
import type { ParameterDefinition, TraceEntry } from "../types.js";
import { looksLikeAlias, resolveAlias } from "./aliases.js";
import {
  type EvalContext,
  FALSE,
  type Frame,
  gapFor,
  TRUE,
  type Tri,
  UNKNOWN,
  type UnknownNote,
  UnknownValueSignal,
} from "./context.js";
import {
  ExpressionSyntaxError,
  type ExprFn,
  type ExprNode,
  indexOf,
  isExpression,
  memberOf,
  parseExpression,
  unescapeLiteral,
} from "./expression.js";
import { FUNCTIONS, SPECIAL_FORMS } from "./functions.js";
import { existsOperand, OPERATORS, type Operator } from "./operators.js";
import {
  appendPath,
  type FieldPath,
  formatPath,
  getProperty,
  isPrefix,
  PathSyntaxError,
  parsePath,
  type Segment,
} from "./path.js";
import { preview } from "./values.js";

/** A compiled condition. */
export type CondFn = (ctx: EvalContext) => Tri;

/** A `count` the condition being compiled sits inside. */
type StaticFrame =
  | { readonly kind: "field"; readonly segments: readonly Segment[]; readonly text: string }
  | { readonly kind: "value"; readonly name: string };

/** What the compiler knows while it walks a rule. */
export interface CompileScope {
  readonly file?: string;
  readonly parameters: Readonly<Record<string, ParameterDefinition>>;
  /** Declared parameter names used so far, filled by the compiler. */
  readonly usedParameters: Set<string>;
  readonly frames: readonly StaticFrame[];
}

const MAX_TRACE_VALUES = 20;
const MAX_MATCHED = 20;
const MAX_COUNT_RANGE = 4096;
const MAX_TRACED_MEMBERS = 5;
const MAX_TRACED_NESTED_MEMBERS = 2;
/** Entries reads inside counts may add to one finding's trace. */
export const TRACE_BUDGET = 32;

function compileError(
  scope: CompileScope,
  pointer: string,
  message: string,
  cause?: unknown,
): RuleCompileError {
  return new RuleCompileError(
    message,
    { file: scope.file, pointer },
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Compile a condition.
 * @throws RuleCompileError naming the JSON pointer of the first problem: an unknown operator,
 * function or alias, an undeclared parameter, a malformed path or expression, a bad operand.
 */
export function compileCondition(node: unknown, scope: CompileScope, pointer: string): CondFn {
  if (node === null || typeof node !== "object" || Array.isArray(node)) {
    throw compileError(scope, pointer, "a condition must be an object");
  }
  const record = node as Record<string, unknown>;
  const keys = Object.keys(record);
  if ("allOf" in record || "anyOf" in record) {
    const key = "allOf" in record ? "allOf" : "anyOf";
    if (keys.length !== 1)
      throw compileError(
        scope,
        pointer,
        `'${key}' must be the only key of its object, found ${keys.join(", ")}`,
      );
    const items = record[key];
    if (!Array.isArray(items) || items.length === 0)
      throw compileError(
        scope,
        joinPointer(pointer, key),
        `'${key}' must be a non-empty array of conditions`,
      );
    const children = items.map((child, i) =>
      compileCondition(child, scope, joinPointer(pointer, key, i)),
    );
    return key === "allOf" ? allOf(children) : anyOf(children);
  }
  if ("not" in record) {
    if (keys.length !== 1)
      throw compileError(
        scope,
        pointer,
        `'not' must be the only key of its object, found ${keys.join(", ")}`,
      );
    return negate(compileCondition(record.not, scope, joinPointer(pointer, "not")));
  }
  const subjectKey = (["field", "value", "count"] as const).find((k) => k in record);
  if (subjectKey === undefined) {
    throw compileError(
      scope,
      pointer,
      `expected one of allOf, anyOf, not, field, value or count; found ${keys.join(", ") || "nothing"}`,
    );
  }
  const operatorKeys = keys.filter((k) => k !== subjectKey);
  const unknown = operatorKeys.filter((k) => OPERATORS[k] === undefined);
  if (unknown.length > 0) {
    throw compileError(
      scope,
      joinPointer(pointer, unknown[0] as string),
      `unknown operator '${unknown[0]}'; expected one of ${Object.keys(OPERATORS).join(", ")}`,
    );
  }
  if (operatorKeys.length !== 1) {
    throw compileError(
      scope,
      pointer,
      `a '${subjectKey}' condition needs exactly one operator, found ${operatorKeys.length === 0 ? "none" : operatorKeys.join(", ")}`,
    );
  }
  const opName = operatorKeys[0] as string;
  const op = OPERATORS[opName] as Operator;
  const opPointer = joinPointer(pointer, opName);
  const expected = compileOperand(record[opName], op, opName, scope, opPointer);
  if (subjectKey === "field")
    return compileFieldCondition(record.field, opName, op, expected, scope, pointer);
  if (subjectKey === "value")
    return compileValueCondition(record.value, opName, op, expected, scope, pointer);
  return compileCount(record.count, opName, op, expected, scope, pointer);
}

function allOf(children: CondFn[]): CondFn {
  return (ctx) => {
    let unknown = false;
    for (let i = 0; i < children.length; i += 1) {
      const r = (children[i] as CondFn)(ctx);
      if (r === FALSE) return FALSE;
      if (r === UNKNOWN) unknown = true;
    }
    return unknown ? UNKNOWN : TRUE;
  };
}

function anyOf(children: CondFn[]): CondFn {
  return (ctx) => {
    let unknown = false;
    for (let i = 0; i < children.length; i += 1) {
      const r = (children[i] as CondFn)(ctx);
      if (r === TRUE) return TRUE;
      if (r === UNKNOWN) unknown = true;
    }
    return unknown ? UNKNOWN : FALSE;
  };
}

function negate(child: CondFn): CondFn {
  return (ctx) => {
    ctx.negated = !ctx.negated;
    const r = child(ctx);
    ctx.negated = !ctx.negated;
    return r === UNKNOWN ? UNKNOWN : r === TRUE ? FALSE : TRUE;
  };
}

// ---------------------------------------------------------------------------------------------
// Operands and expressions

interface Operand {
  readonly fn: ExprFn;
  /** The literal value, when the operand is constant (for traces and compile-time checks). */
  readonly constant: boolean;
}

function compileOperand(
  raw: unknown,
  op: Operator,
  opName: string,
  scope: CompileScope,
  pointer: string,
): Operand {
  const compiled = compileValue(raw, scope, pointer);
  if (compiled.constant) {
    const value = compiled.fn(undefined as unknown as EvalContext);
    const problem = checkOperand(value, op, opName);
    if (problem !== undefined) throw compileError(scope, pointer, problem);
  }
  return compiled;
}

function checkOperand(value: unknown, op: Operator, opName: string): string | undefined {
  switch (op.operand) {
    case "array":
      return Array.isArray(value)
        ? undefined
        : `'${opName}' expects an array, got ${preview(value)}`;
    case "string":
      return typeof value === "string"
        ? undefined
        : `'${opName}' expects a string, got ${preview(value)}`;
    case "boolean":
      try {
        existsOperand(value);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    case "ordered":
      return typeof value === "number" || typeof value === "string"
        ? undefined
        : `'${opName}' expects a number, string or date, got ${preview(value)}`;
    default:
      return undefined;
  }
}

function compileValue(raw: unknown, scope: CompileScope, pointer: string): Operand {
  if (typeof raw === "string" && isExpression(raw)) {
    let ast: ExprNode;
    try {
      ast = parseExpression(raw.slice(1, -1));
    } catch (error) {
      if (error instanceof ExpressionSyntaxError)
        throw compileError(scope, pointer, `invalid expression ${raw}: ${error.message}`, error);
      throw error;
    }
    const fn = compileExpr(ast, scope, pointer, raw);
    return { fn: readsResource(ast) ? fn : memoizePerInputs(fn), constant: false };
  }
  const literal = typeof raw === "string" ? unescapeLiteral(raw) : raw;
  return { fn: () => literal, constant: true };
}

/** True when an expression reads the resource (`field`, `current`), so it varies per read. */
function readsResource(node: ExprNode): boolean {
  switch (node.kind) {
    case "literal":
      return false;
    case "member":
      return readsResource(node.target);
    case "index":
      return readsResource(node.target) || readsResource(node.index);
    case "call": {
      const name = node.name.toLowerCase();
      return name === "field" || name === "current" || node.args.some(readsResource);
    }
  }
}

/**
 * An expression that reads only parameters and `now` (`[addDays(utcNow(), -7)]`) has one value
 * per (parameters, now): compute it once, not once per member of a count.
 */
function memoizePerInputs(fn: ExprFn): ExprFn {
  let params: unknown;
  let now = Number.NaN;
  let value: unknown;
  return (ctx) => {
    if (ctx.params === params && ctx.nowMs === now) return value;
    const computed = fn(ctx);
    params = ctx.params;
    now = ctx.nowMs;
    value = computed;
    return computed;
  };
}

function compileExpr(node: ExprNode, scope: CompileScope, pointer: string, source: string): ExprFn {
  switch (node.kind) {
    case "literal": {
      const value = node.value;
      return () => value;
    }
    case "member": {
      const target = compileExpr(node.target, scope, pointer, source);
      const property = node.property;
      return (ctx) => memberOf(target(ctx), property);
    }
    case "index": {
      const target = compileExpr(node.target, scope, pointer, source);
      const index = compileExpr(node.index, scope, pointer, source);
      return (ctx) => indexOf(target(ctx), index(ctx));
    }
    case "call":
      return compileCall(node, scope, pointer, source);
  }
}

function compileCall(
  node: Extract<ExprNode, { kind: "call" }>,
  scope: CompileScope,
  pointer: string,
  source: string,
): ExprFn {
  const name = node.name.toLowerCase();
  const special = SPECIAL_FORMS[name];
  const spec = FUNCTIONS[name];
  const arity = special ?? spec;
  if (arity === undefined) {
    throw compileError(scope, pointer, `unknown function '${node.name}' in ${source}`);
  }
  if (node.args.length < arity.minArgs || node.args.length > arity.maxArgs) {
    const wanted =
      arity.minArgs === arity.maxArgs ? `${arity.minArgs}` : `${arity.minArgs} to ${arity.maxArgs}`;
    throw compileError(
      scope,
      pointer,
      `${node.name}() takes ${wanted} argument(s), got ${node.args.length} in ${source}`,
    );
  }
  if (name === "parameters") return compileParameters(node, scope, pointer, source);
  if (name === "field") return compileFieldFunction(node, scope, pointer, source);
  if (name === "current") return compileCurrent(node, scope, pointer, source);
  const args = node.args.map((a) => compileExpr(a, scope, pointer, source));
  const fn = spec as NonNullable<typeof spec>;
  if (fn.lazy !== undefined) {
    const lazy = fn.lazy;
    return (ctx) => lazy(args, ctx);
  }
  const call = fn.call as NonNullable<typeof fn.call>;
  if (args.length === 0) return (ctx) => call([], ctx);
  if (args.length === 1) {
    const a0 = args[0] as ExprFn;
    return (ctx) => call([a0(ctx)], ctx);
  }
  if (args.length === 2) {
    const a0 = args[0] as ExprFn;
    const a1 = args[1] as ExprFn;
    return (ctx) => call([a0(ctx), a1(ctx)], ctx);
  }
  return (ctx) =>
    call(
      args.map((a) => a(ctx)),
      ctx,
    );
}

function literalString(node: ExprNode | undefined): string | undefined {
  return node?.kind === "literal" && typeof node.value === "string" ? node.value : undefined;
}

function findParameter(scope: CompileScope, name: string): string | undefined {
  if (Object.hasOwn(scope.parameters, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(scope.parameters).find((k) => k.toLowerCase() === lower);
}

function compileParameters(
  node: Extract<ExprNode, { kind: "call" }>,
  scope: CompileScope,
  pointer: string,
  source: string,
): ExprFn {
  const literal = literalString(node.args[0]);
  if (literal !== undefined) {
    const declared = findParameter(scope, literal);
    if (declared === undefined) {
      const known = Object.keys(scope.parameters);
      throw compileError(
        scope,
        pointer,
        `parameter '${literal}' is used in ${source} but not declared in 'parameters' (declared: ${known.length === 0 ? "none" : known.join(", ")})`,
      );
    }
    scope.usedParameters.add(declared);
    return (ctx) => ctx.params[declared];
  }
  for (const name of Object.keys(scope.parameters)) scope.usedParameters.add(name);
  const arg = compileExpr(node.args[0] as ExprNode, scope, pointer, source);
  return (ctx) => {
    const name = arg(ctx);
    const declared = typeof name === "string" ? findParameter(scope, name) : undefined;
    if (declared === undefined)
      throw new RuleEvaluationError(`parameters(${preview(name)}) names no declared parameter`);
    return ctx.params[declared];
  };
}

// ---------------------------------------------------------------------------------------------
// Fields

/** A field path bound to the `count` frames it sits in. */
interface BoundField {
  readonly text: string;
  /** Index of the frame whose member the path starts from, or -1 for the document root. */
  readonly frameIndex: number;
  /** Segments after the frame's pattern (all segments for the root). */
  readonly rest: readonly Segment[];
  /** `rest` formatted, for building concrete paths. */
  readonly restText: string;
  readonly hasWildcard: boolean;
}

function parseFieldText(text: string, scope: CompileScope, pointer: string): FieldPath {
  let pathText = text;
  if (looksLikeAlias(text)) {
    const resolved = resolveAlias(text);
    if (resolved === undefined) {
      throw compileError(
        scope,
        pointer,
        `unknown alias '${text}'; vigil knows the aliases listed in docs/rule-language.md, or write the document path (e.g. properties.x.y)`,
      );
    }
    pathText = resolved;
  }
  try {
    return parsePath(pathText);
  } catch (error) {
    if (error instanceof PathSyntaxError)
      throw compileError(scope, pointer, `invalid field path '${text}': ${error.message}`, error);
    throw error;
  }
}

function bindField(path: FieldPath, frames: readonly StaticFrame[]): BoundField {
  for (let i = frames.length - 1; i >= 0; i -= 1) {
    const frame = frames[i] as StaticFrame;
    if (frame.kind === "field" && isPrefix(frame.segments, path.segments)) {
      const rest = path.segments.slice(frame.segments.length);
      return {
        text: path.text,
        frameIndex: i,
        rest,
        restText: formatPath(rest),
        hasWildcard: rest.some((s) => s.kind === "all"),
      };
    }
  }
  return {
    text: path.text,
    frameIndex: -1,
    rest: path.segments,
    restText: formatPath(path.segments),
    hasWildcard: path.hasWildcard,
  };
}

function joinConcrete(base: string, restText: string): string {
  if (base === "") return restText;
  if (restText === "") return base;
  return restText.startsWith("[") ? base + restText : `${base}.${restText}`;
}

function startValue(ctx: EvalContext, field: BoundField): unknown {
  return field.frameIndex < 0 ? ctx.doc : (ctx.frames[field.frameIndex] as Frame).value;
}

function startPath(ctx: EvalContext, field: BoundField): string {
  return field.frameIndex < 0 ? "" : ((ctx.frames[field.frameIndex] as Frame).path ?? "");
}

/** The concrete path a bound field reads in the current member (built only when needed). */
function concretePath(ctx: EvalContext, field: BoundField): string {
  return joinConcrete(startPath(ctx, field), field.restText);
}

/** Follow segments without `[*]`; `undefined` as soon as something is absent. */
function walk(value: unknown, segments: readonly Segment[], end: number): unknown {
  let current = value;
  for (let i = 0; i < end && current !== undefined; i += 1) {
    const seg = segments[i] as Segment;
    if (seg.kind === "prop") current = getProperty(current, seg);
    else if (seg.kind === "index")
      current = Array.isArray(current) ? current[seg.index] : undefined;
  }
  return current;
}

/**
 * Read a path with no `[*]` (undefined when absent).
 * @throws UnknownValueSignal when the value lies in, or holds, a gap.
 */
function readOne(ctx: EvalContext, field: BoundField): unknown {
  if (ctx.gaps !== null) {
    const gap = gapFor(ctx, concretePath(ctx, field), "overlap");
    if (gap !== undefined) throw new UnknownValueSignal(gap);
  }
  return walk(startValue(ctx, field), field.rest, field.rest.length);
}

/** A value selected by a `[*]` path; `path` is empty when the evaluation needs no paths. */
interface Selected {
  value: unknown;
  path: string;
}

/**
 * Read a path with `[*]`: every selected value, with its concrete path when a trace or gaps
 * need it (empty for a missing array). `members` reads count members, whose own insides are
 * checked when `where` reads them.
 */
function readMany(
  ctx: EvalContext,
  field: BoundField,
  out: Selected[],
  leafCheck: "overlap" | "within" | "none" = "overlap",
): void {
  const withPaths = ctx.trace !== null || ctx.gaps !== null;
  collect(
    ctx,
    startValue(ctx, field),
    withPaths ? startPath(ctx, field) : "",
    field.rest,
    0,
    out,
    leafCheck,
    withPaths,
  );
}

/** Every value a `[*]` path selects, absent ones as `null` (what `field()` and `current()` return). */
function readAllValues(ctx: EvalContext, bound: BoundField): unknown[] {
  const out: Selected[] = [];
  readMany(ctx, bound, out);
  return out.map((o) => o.value ?? null);
}

function collect(
  ctx: EvalContext,
  value: unknown,
  path: string,
  segments: readonly Segment[],
  from: number,
  out: Selected[],
  mode: "overlap" | "within" | "none",
  withPaths: boolean,
): void {
  let current = value;
  let currentPath = path;
  for (let i = from; i < segments.length; i += 1) {
    const seg = segments[i] as Segment;
    if (seg.kind === "all") {
      if (ctx.gaps !== null) {
        const gap = gapFor(ctx, currentPath, "within");
        if (gap !== undefined) throw new UnknownValueSignal(gap);
      }
      if (!Array.isArray(current)) return;
      for (let j = 0; j < current.length; j += 1) {
        collect(
          ctx,
          current[j],
          withPaths ? `${currentPath}[${j}]` : "",
          segments,
          i + 1,
          out,
          mode,
          withPaths,
        );
      }
      return;
    }
    if (withPaths) currentPath = appendPath(currentPath, seg);
    if (current === undefined) continue;
    if (seg.kind === "prop") current = getProperty(current, seg);
    else current = Array.isArray(current) ? current[seg.index] : undefined;
  }
  if (ctx.gaps !== null && mode !== "none") {
    const gap = gapFor(ctx, currentPath, mode);
    if (gap !== undefined) throw new UnknownValueSignal(gap);
  }
  out.push({ value: current, path: currentPath });
}

function compileFieldFunction(
  node: Extract<ExprNode, { kind: "call" }>,
  scope: CompileScope,
  pointer: string,
  source: string,
): ExprFn {
  const literal = literalString(node.args[0]);
  if (literal === undefined) {
    const arg = compileExpr(node.args[0] as ExprNode, scope, pointer, source);
    const frames = scope.frames;
    return (ctx) => {
      const text = arg(ctx);
      if (typeof text !== "string")
        throw new RuleEvaluationError(`field() needs a path string, got ${preview(text)}`);
      return fieldFunctionValue(ctx, bindField(parseRuntimePath(text), frames), frames);
    };
  }
  const bound = bindField(parseFieldText(literal, scope, pointer), scope.frames);
  const frames = scope.frames;
  return (ctx) => fieldFunctionValue(ctx, bound, frames);
}

/**
 * `field()` as Azure Policy documents it: a missing value reads as `""`; a `[*]` path returns
 * the flat array of selected values; the counted `[*]` path itself, inside `where`, returns a
 * one-element array holding the current member.
 */
function fieldFunctionValue(
  ctx: EvalContext,
  bound: BoundField,
  frames: readonly StaticFrame[],
): unknown {
  if (
    bound.frameIndex >= 0 &&
    bound.rest.length === 0 &&
    (frames[bound.frameIndex] as StaticFrame).kind === "field"
  ) {
    return [(ctx.frames[bound.frameIndex] as Frame).value];
  }
  if (bound.hasWildcard) return readAllValues(ctx, bound);
  const value = readOne(ctx, bound);
  return value === undefined ? "" : value;
}

function parseRuntimePath(text: string): FieldPath {
  const resolved = looksLikeAlias(text) ? resolveAlias(text) : text;
  if (resolved === undefined) throw new RuleEvaluationError(`unknown alias '${text}'`);
  try {
    return parsePath(resolved);
  } catch (error) {
    throw new RuleEvaluationError(`invalid field path '${text}'`, { cause: error });
  }
}

function compileCurrent(
  node: Extract<ExprNode, { kind: "call" }>,
  scope: CompileScope,
  pointer: string,
  source: string,
): ExprFn {
  const frames = scope.frames;
  if (frames.length === 0)
    throw compileError(
      scope,
      pointer,
      `current() is only allowed inside a count's 'where' (${source})`,
    );
  if (node.args.length === 0) {
    const index = frames.length - 1;
    return (ctx) => (ctx.frames[index] as Frame).value;
  }
  const name = literalString(node.args[0]);
  if (name === undefined)
    throw compileError(scope, pointer, `current() takes a literal name in ${source}`);
  for (let i = frames.length - 1; i >= 0; i -= 1) {
    const frame = frames[i] as StaticFrame;
    if (frame.kind === "value" && frame.name.toLowerCase() === name.toLowerCase()) {
      return (ctx) => (ctx.frames[i] as Frame).value;
    }
  }
  const path = parseFieldText(name, scope, pointer);
  const bound = bindField(path, frames);
  if (bound.frameIndex < 0) {
    throw compileError(
      scope,
      pointer,
      `current('${name}') names no enclosing count (value count names or counted field paths)`,
    );
  }
  if (bound.rest.length === 0) return (ctx) => (ctx.frames[bound.frameIndex] as Frame).value;
  return (ctx) => (bound.hasWildcard ? readAllValues(ctx, bound) : (readOne(ctx, bound) ?? null));
}

// ---------------------------------------------------------------------------------------------
// Leaf conditions

function recordEntry(ctx: EvalContext, entry: TraceEntry): void {
  if (ctx.depth > 0) {
    if (ctx.traceBudget <= 0) return;
    ctx.traceBudget -= 1;
  }
  if (ctx.negated) entry.negated = true;
  (ctx.trace as TraceEntry[]).push(entry);
}

function unknownResult(
  ctx: EvalContext,
  error: unknown,
  entry: Omit<TraceEntry, "result" | "note" | "observed"> & { observed?: unknown },
): Tri {
  let message: string;
  if (error instanceof UnknownValueSignal) {
    ctx.unknowns.push(error.note);
    message = error.note.message;
  } else if (error instanceof RuleEvaluationError) {
    const note = {
      message: error.message,
      ...(entry.field !== undefined ? { path: entry.field } : {}),
    };
    ctx.unknowns.push(note);
    message = error.message;
  } else {
    throw error;
  }
  if (ctx.trace !== null)
    recordEntry(ctx, { observed: null, ...entry, result: "unknown", note: message });
  return UNKNOWN;
}

/** A trace entry for a comparison, with `missing` set when the value was absent. */
function entryFor(
  subject: { field?: string; value?: string },
  value: unknown,
  operator: string,
  expected: unknown,
  result: boolean,
): TraceEntry {
  const entry: TraceEntry =
    value === undefined
      ? { observed: null, missing: true, operator, expected, result }
      : { observed: value, operator, expected, result };
  if (subject.field !== undefined) entry.field = subject.field;
  if (subject.value !== undefined) entry.value = subject.value;
  return entry;
}

function compileFieldCondition(
  raw: unknown,
  opName: string,
  op: Operator,
  expected: Operand,
  scope: CompileScope,
  pointer: string,
): CondFn {
  if (typeof raw !== "string" || raw.length === 0)
    throw compileError(scope, joinPointer(pointer, "field"), "'field' must be a non-empty string");
  const fieldPointer = joinPointer(pointer, "field");
  const test = op.test;
  const exp = expected.fn;
  if (isExpression(raw)) {
    const pathFn = compileValue(raw, scope, fieldPointer).fn;
    const frames = scope.frames;
    return (ctx) => {
      let bound: BoundField;
      try {
        const text = pathFn(ctx);
        if (typeof text !== "string")
          throw new RuleEvaluationError(
            `field expression ${raw} returned ${preview(text)}, not a path`,
          );
        bound = bindField(parseRuntimePath(text), frames);
      } catch (error) {
        return unknownResult(ctx, error, { field: raw, operator: opName, expected: null });
      }
      return bound.hasWildcard
        ? evalMany(ctx, bound, opName, test, exp)
        : evalOne(ctx, bound, opName, test, exp);
    };
  }
  const bound = bindField(parseFieldText(raw, scope, fieldPointer), scope.frames);
  if (bound.hasWildcard) return (ctx) => evalMany(ctx, bound, opName, test, exp);
  return (ctx) => evalOne(ctx, bound, opName, test, exp);
}

function evalOne(
  ctx: EvalContext,
  bound: BoundField,
  opName: string,
  test: Operator["test"],
  exp: ExprFn,
): Tri {
  let value: unknown;
  let read = false;
  let expectedValue: unknown;
  try {
    value = readOne(ctx, bound);
    read = true;
    expectedValue = exp(ctx);
    const ok = test(value, expectedValue);
    if (ctx.trace !== null)
      recordEntry(
        ctx,
        entryFor({ field: concretePath(ctx, bound) }, value, opName, expectedValue, ok),
      );
    return ok ? TRUE : FALSE;
  } catch (error) {
    const field = concretePath(ctx, bound);
    const entry = read
      ? entryFor({ field }, value, opName, expectedValue ?? null, false)
      : { field, operator: opName, expected: expectedValue ?? null };
    return unknownResult(ctx, error, entry);
  }
}

/** `[*]` outside count: the condition must hold for every selected value (true when there are none). */
function evalMany(
  ctx: EvalContext,
  bound: BoundField,
  opName: string,
  test: Operator["test"],
  exp: ExprFn,
): Tri {
  const values: Selected[] = [];
  let expectedValue: unknown;
  try {
    // Members are read without their own gap check: a member in a gap is unknown, but another
    // member that fails still decides the all-of.
    readMany(ctx, bound, values, "none");
    expectedValue = exp(ctx);
    let unknown: UnknownNote | undefined;
    for (const item of values) {
      const gap = ctx.gaps === null ? undefined : gapFor(ctx, item.path, "overlap");
      if (gap !== undefined) {
        unknown ??= gap;
        continue;
      }
      if (!test(item.value, expectedValue)) {
        if (ctx.trace !== null)
          recordEntry(
            ctx,
            entryFor({ field: item.path }, item.value, opName, expectedValue, false),
          );
        return FALSE;
      }
    }
    if (unknown !== undefined) throw new UnknownValueSignal(unknown);
    if (ctx.trace !== null) {
      recordEntry(ctx, {
        field: concretePath(ctx, bound),
        observed: values.slice(0, MAX_TRACE_VALUES).map((v) => v.value ?? null),
        operator: opName,
        expected: expectedValue,
        result: true,
      });
    }
    return TRUE;
  } catch (error) {
    return unknownResult(ctx, error, {
      field: concretePath(ctx, bound),
      operator: opName,
      expected: expectedValue ?? null,
    });
  }
}

function compileValueCondition(
  raw: unknown,
  opName: string,
  op: Operator,
  expected: Operand,
  scope: CompileScope,
  pointer: string,
): CondFn {
  const subject = compileValue(raw, scope, joinPointer(pointer, "value")).fn;
  const source = typeof raw === "string" ? raw : JSON.stringify(raw);
  const test = op.test;
  const exp = expected.fn;
  return (ctx) => {
    let actual: unknown;
    let expectedValue: unknown;
    try {
      actual = subject(ctx);
      expectedValue = exp(ctx);
      const ok = test(actual, expectedValue);
      if (ctx.trace !== null)
        recordEntry(ctx, entryFor({ value: source }, actual, opName, expectedValue, ok));
      return ok ? TRUE : FALSE;
    } catch (error) {
      return unknownResult(ctx, error, {
        value: source,
        operator: opName,
        expected: expectedValue ?? null,
      });
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Counts

function compileCount(
  raw: unknown,
  opName: string,
  op: Operator,
  expected: Operand,
  scope: CompileScope,
  pointer: string,
): CondFn {
  const countPointer = joinPointer(pointer, "count");
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw compileError(scope, countPointer, "'count' must be an object with 'field' or 'value'");
  const spec = raw as Record<string, unknown>;
  const extra = Object.keys(spec).filter((k) => !["field", "value", "name", "where"].includes(k));
  if (extra.length > 0)
    throw compileError(
      scope,
      joinPointer(countPointer, extra[0] as string),
      `unknown key '${extra[0]}' in count; expected field, value, name, where`,
    );
  if ("field" in spec === "value" in spec)
    throw compileError(scope, countPointer, "a count needs exactly one of 'field' or 'value'");
  const test = op.test;
  const exp = expected.fn;

  if ("field" in spec) {
    if ("name" in spec)
      throw compileError(
        scope,
        joinPointer(countPointer, "name"),
        "'name' is only allowed in a value count",
      );
    const text = spec.field;
    if (typeof text !== "string" || isExpression(text))
      throw compileError(
        scope,
        joinPointer(countPointer, "field"),
        "count 'field' must be a literal path ending in [*]",
      );
    const path = parseFieldText(text, scope, joinPointer(countPointer, "field"));
    const last = path.segments.at(-1);
    if (last?.kind !== "all")
      throw compileError(
        scope,
        joinPointer(countPointer, "field"),
        `count 'field' must end with [*] (got '${text}')`,
      );
    const bound = bindField(path, scope.frames);
    // Paths inside `where` are written in full (`a[*].b[*].c`), so the frame's pattern is the full path.
    const frame: StaticFrame = { kind: "field", segments: path.segments, text: path.text };
    const where = compileWhere(spec.where, scope, frame, joinPointer(countPointer, "where"));
    const wildcards = bound.rest.filter((seg) => seg.kind === "all").length;
    if (wildcards === 1) {
      // The common shape (`joined.backups[*]`, `spec.ingress[*]` inside a member): one array,
      // counted in place, with member paths built only for the trace or for gaps.
      const container = bound.rest.slice(0, -1);
      const containerText = formatPath(container);
      return (ctx) => {
        let expectedValue: unknown;
        let array: unknown;
        const needPaths = ctx.trace !== null || ctx.gaps !== null;
        const base = needPaths ? joinConcrete(startPath(ctx, bound), containerText) : "";
        try {
          if (ctx.gaps !== null) {
            const gap = gapFor(ctx, base, "within");
            if (gap !== undefined) throw new UnknownValueSignal(gap);
          }
          array = walk(startValue(ctx, bound), container, container.length);
          expectedValue = exp(ctx);
        } catch (error) {
          return unknownResult(ctx, error, {
            field: `${base}[*]`,
            operator: opName,
            expected: expectedValue ?? null,
          });
        }
        const members = Array.isArray(array) ? array : EMPTY;
        return runCount(
          ctx,
          members,
          needPaths ? (k) => `${base}[${k}]` : undefined,
          where,
          test,
          expectedValue,
          opName,
          `${base}[*]`,
          undefined,
        );
      };
    }
    return (ctx) => {
      const selected: Selected[] = [];
      let expectedValue: unknown;
      try {
        readMany(ctx, bound, selected, "within");
        expectedValue = exp(ctx);
      } catch (error) {
        return unknownResult(ctx, error, {
          field: concretePath(ctx, bound),
          operator: opName,
          expected: expectedValue ?? null,
        });
      }
      const values = selected.map((m) => m.value);
      return runCount(
        ctx,
        values,
        (k) => (selected[k] as Selected).path,
        where,
        test,
        expectedValue,
        opName,
        concretePath(ctx, bound),
        undefined,
      );
    };
  }

  const name = spec.name === undefined ? "default" : spec.name;
  if (typeof name !== "string" || !/^[A-Za-z][A-Za-z0-9_]*$/.test(name))
    throw compileError(
      scope,
      joinPointer(countPointer, "name"),
      "count 'name' must be letters and digits",
    );
  const source = typeof spec.value === "string" ? spec.value : JSON.stringify(spec.value);
  const valueFn = compileValue(spec.value, scope, joinPointer(countPointer, "value"));
  if (valueFn.constant && !Array.isArray(valueFn.fn(undefined as unknown as EvalContext))) {
    throw compileError(
      scope,
      joinPointer(countPointer, "value"),
      "count 'value' must be an array or an expression returning one",
    );
  }
  const frame: StaticFrame = { kind: "value", name };
  const where = compileWhere(spec.where, scope, frame, joinPointer(countPointer, "where"));
  return (ctx) => {
    let list: unknown;
    let expectedValue: unknown;
    try {
      list = valueFn.fn(ctx);
      if (!Array.isArray(list))
        throw new RuleEvaluationError(
          `count value ${source} returned ${preview(list)}, not an array`,
        );
      expectedValue = exp(ctx);
    } catch (error) {
      return unknownResult(ctx, error, {
        value: source,
        operator: opName,
        expected: expectedValue ?? null,
      });
    }
    return runCount(
      ctx,
      list as unknown[],
      undefined,
      where,
      test,
      expectedValue,
      opName,
      undefined,
      source,
    );
  };
}

function compileWhere(
  raw: unknown,
  scope: CompileScope,
  frame: StaticFrame,
  pointer: string,
): CondFn | undefined {
  if (raw === undefined) return undefined;
  const inner: CompileScope = { ...scope, frames: [...scope.frames, frame] };
  return compileCondition(raw, inner, pointer);
}

const EMPTY: readonly unknown[] = Object.freeze([]);

/**
 * Count the members for which `where` holds and compare the count. Members whose `where` is
 * unknown widen the count to a range; the result is unknown only when the range straddles the
 * comparison. The outermost count traces what its first members' `where` read.
 */
function runCount(
  ctx: EvalContext,
  members: readonly unknown[],
  pathOf: ((k: number) => string) | undefined,
  where: CondFn | undefined,
  test: Operator["test"],
  expectedValue: unknown,
  opName: string,
  fieldLabel: string | undefined,
  valueLabel: string | undefined,
): Tri {
  let min = 0;
  let max = 0;
  let matched: string[] | undefined;
  const savedTrace = ctx.trace;
  if (where === undefined) {
    min = members.length;
    max = members.length;
  } else {
    const savedNegated = ctx.negated;
    const depth = ctx.depth;
    const gaps = ctx.gaps !== null;
    const tracedMembers = depth === 0 ? MAX_TRACED_MEMBERS : MAX_TRACED_NESTED_MEMBERS;
    if (savedTrace !== null) matched = [];
    ctx.negated = false;
    // Frames are reused slot by slot: a count allocates none.
    let frame = ctx.frames[depth];
    if (frame === undefined) {
      frame = { value: undefined, path: undefined };
      ctx.frames[depth] = frame;
    }
    ctx.depth = depth + 1;
    try {
      for (let k = 0; k < members.length; k += 1) {
        frame.value = members[k];
        // The first members trace their reads (within the evaluation's trace budget), marked
        // with the member they were read for; such entries explain the count, and the count's
        // own entry decides.
        const traced = savedTrace !== null && k < tracedMembers && ctx.traceBudget > 0;
        frame.path = pathOf !== undefined && (traced || gaps) ? pathOf(k) : undefined;
        ctx.trace = traced ? savedTrace : null;
        const before = traced ? (savedTrace as TraceEntry[]).length : 0;
        const r = where(ctx);
        if (traced) {
          const within = frame.path ?? `${valueLabel ?? ""}[${k}]`;
          const trace = savedTrace as TraceEntry[];
          for (let t = before; t < trace.length; t += 1) (trace[t] as TraceEntry).within ??= within;
        }
        if (r === TRUE) {
          min += 1;
          max += 1;
          if (matched !== undefined && matched.length < MAX_MATCHED)
            matched.push(frame.path ?? (pathOf !== undefined ? pathOf(k) : `[${k}]`));
        } else if (r === UNKNOWN) {
          max += 1;
        }
      }
    } finally {
      frame.value = undefined;
      ctx.depth = depth;
      ctx.trace = savedTrace;
      ctx.negated = savedNegated;
    }
  }
  let first: boolean;
  try {
    first = test(min, expectedValue);
    for (let n = min + 1; n <= max && n - min <= MAX_COUNT_RANGE; n += 1) {
      if (
        test(n, expectedValue) !== first ||
        (n - min === MAX_COUNT_RANGE && test(max, expectedValue) !== first)
      ) {
        const note = {
          message: `${fieldLabel ?? valueLabel}: between ${min} and ${max} members match; the uncollected ones decide`,
        };
        ctx.unknowns.push(note);
        if (savedTrace !== null)
          recordEntry(
            ctx,
            countEntry(
              fieldLabel,
              valueLabel,
              { min, max },
              opName,
              expectedValue,
              "unknown",
              matched,
              note.message,
            ),
          );
        return UNKNOWN;
      }
    }
  } catch (error) {
    const entry = countEntry(
      fieldLabel,
      valueLabel,
      min,
      opName,
      expectedValue ?? null,
      false,
      undefined,
      undefined,
    );
    return unknownResult(ctx, error, entry);
  }
  if (savedTrace !== null)
    recordEntry(
      ctx,
      countEntry(fieldLabel, valueLabel, min, opName, expectedValue, first, matched, undefined),
    );
  return first ? TRUE : FALSE;
}

function countEntry(
  fieldLabel: string | undefined,
  valueLabel: string | undefined,
  observed: unknown,
  operator: string,
  expected: unknown,
  result: boolean | "unknown",
  matched: string[] | undefined,
  note: string | undefined,
): TraceEntry {
  const entry: TraceEntry = { observed, operator, expected, result };
  if (fieldLabel !== undefined) entry.field = fieldLabel;
  else entry.value = valueLabel ?? "";
  if (matched !== undefined) entry.matched = matched;
  if (note !== undefined) entry.note = note;
  return entry;
}

/** A compile scope for a control's rule. */
export function createCompileScope(
  parameters: Readonly<Record<string, ParameterDefinition>>,
  file?: string,
): CompileScope {
  return {
    parameters,
    usedParameters: new Set<string>(),
    frames: [],
    ...(file !== undefined ? { file } : {}),
  };
}
