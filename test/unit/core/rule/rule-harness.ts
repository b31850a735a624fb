/**
 * Builders shared by the rule-engine unit tests: an evaluation context built by hand (the way
 * `evaluateControl` builds one), and helpers that compile a condition and run it.
 */
import {
  type CondFn,
  compileCondition,
  createCompileScope,
  TRACE_BUDGET,
} from "../../../../src/core/rule/compiler.js";
import { type EvalContext, type Tri, UNKNOWN } from "../../../../src/core/rule/context.js";
import { formatPath, parsePath } from "../../../../src/core/rule/path.js";
import { formatInstant } from "../../../../src/core/rule/values.js";
import type { ParameterDefinition, TraceEntry } from "../../../../src/core/types.js";

/** The fixed evaluation time of every test: 2025-01-15T12:00:00Z. */
export const NOW_MS = Date.UTC(2025, 0, 15, 12, 0, 0);

/** The rule pointer `compileControl` uses for `policyRule.if`. */
export const IF_POINTER = "/policyRule/if";

export interface ContextOptions {
  /** Effective parameter values. */
  params?: Record<string, unknown>;
  /** Paths that could not be collected, in the rule language's syntax. */
  gaps?: readonly string[];
  nowMs?: number;
  /** Record a trace (default true, as `evaluateControl` does). */
  trace?: boolean;
}

/** An evaluation context as `evaluateControl` builds it, with the trace switched on by default. */
export function makeContext(doc: unknown, options: ContextOptions = {}): EvalContext {
  const nowMs = options.nowMs ?? NOW_MS;
  const gaps = options.gaps ?? [];
  return {
    doc,
    params: options.params ?? {},
    nowMs,
    nowText: formatInstant(nowMs),
    gaps:
      gaps.length === 0 ? null : gaps.map((g) => formatPath(parsePath(g).segments).toLowerCase()),
    gapNotes:
      gaps.length === 0 ? null : gaps.map((g) => ({ path: g, message: `${g} was not collected` })),
    frames: [],
    depth: 0,
    trace: options.trace === false ? null : [],
    traceBudget: TRACE_BUDGET,
    negated: false,
    unknowns: [],
  };
}

/** A declared parameter. */
export function param(
  type: ParameterDefinition["type"],
  defaultValue: unknown,
): ParameterDefinition {
  return { type, defaultValue, description: "a parameter used by a unit test" };
}

/** Compile a condition at `/policyRule/if`. */
export function compile(
  condition: unknown,
  parameters: Record<string, ParameterDefinition> = {},
): CondFn {
  return compileCondition(condition, createCompileScope(parameters), IF_POINTER);
}

export interface RunOptions extends ContextOptions {
  parameters?: Record<string, ParameterDefinition>;
}

/** Compile a condition and run it once on `doc`; parameter values default to the declared defaults. */
export function run(
  condition: unknown,
  doc: unknown = {},
  options: RunOptions = {},
): { result: Tri; ctx: EvalContext } {
  const parameters = options.parameters ?? {};
  const defaults = Object.fromEntries(
    Object.entries(parameters).map(([name, def]) => [name, def.defaultValue]),
  );
  const fn = compile(condition, parameters);
  const ctx = makeContext(doc, { ...options, params: { ...defaults, ...options.params } });
  return { result: fn(ctx), ctx };
}

/** Compile and run a condition; only the three-valued result. */
export function check(condition: unknown, doc: unknown = {}, options: RunOptions = {}): Tri {
  return run(condition, doc, options).result;
}

export type ExpressionOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly message: string };

/**
 * Evaluate a template expression string (`"[concat('a', 'b')]"`) through a `value` condition and
 * read its result back from the trace; a failed evaluation returns its message.
 */
export function evaluateExpression(
  expression: string,
  doc: unknown = {},
  options: RunOptions = {},
): ExpressionOutcome {
  const { result, ctx } = run({ value: expression, exists: true }, doc, options);
  const entry = (ctx.trace as TraceEntry[]).at(-1);
  if (result === UNKNOWN) return { ok: false, message: entry?.note ?? "unknown" };
  if (entry === undefined) throw new Error("the value condition wrote no trace entry");
  return { ok: true, value: entry.missing === true ? undefined : entry.observed };
}

/** Evaluate an expression that must succeed, returning its value. */
export function evaluateValue(
  expression: string,
  doc: unknown = {},
  options: RunOptions = {},
): unknown {
  const outcome = evaluateExpression(expression, doc, options);
  if (!outcome.ok) throw new Error(`${expression} failed: ${outcome.message}`);
  return outcome.value;
}
