/**
 * The state one rule evaluation runs in: the document, parameters, `now`, the gaps of the
 * observation, the members a `count` is iterating, and the trace being written.
 */
import type { TraceEntry } from "../types.js";

/** Three-valued result of a condition: a missing input makes the outcome unknown, never `pass`. */
export type Tri = 0 | 1 | 2;
export const FALSE: Tri = 0;
export const TRUE: Tri = 1;
export const UNKNOWN: Tri = 2;

/** The member a `count` is visiting. */
export interface Frame {
  value: unknown;
  /** Concrete path of the member (field count) or `undefined` (value count). */
  path: string | undefined;
}

/** Why part of an evaluation could not be decided. */
export interface UnknownNote {
  path?: string;
  message: string;
}

/** Mutable context of one evaluation; compiled closures read it. */
export interface EvalContext {
  doc: unknown;
  params: Readonly<Record<string, unknown>>;
  nowMs: number;
  nowText: string;
  /** Lower-cased canonical paths that could not be collected, or `null` when there are none. */
  gaps: readonly string[] | null;
  /** The original spelling of each gap, for messages; same order as `gaps`. */
  gapNotes: readonly UnknownNote[] | null;
  /** One slot per enclosing `count`, outermost first; slots at and past `depth` are spare. */
  frames: Frame[];
  /** How many counts enclose the condition being evaluated. */
  depth: number;
  /** Where leaf conditions record what they read; `null` when nothing is to be recorded. */
  trace: TraceEntry[] | null;
  /** How many more entries reads inside counts may add (top-level entries are always kept). */
  traceBudget: number;
  /** True under an odd number of `not`s. */
  negated: boolean;
  /** Reasons the outcome may be unknown, in the order met. */
  unknowns: UnknownNote[];
}

/** Thrown through expression evaluation when a value it needs lies in a gap. */
export class UnknownValueSignal extends Error {
  readonly note: UnknownNote;
  constructor(note: UnknownNote) {
    // A control-flow signal, caught a few frames up: capturing a stack would cost more than
    // the whole evaluation.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(note.message);
    Error.stackTraceLimit = limit;
    this.name = "UnknownValueSignal";
    this.note = note;
  }
}

/**
 * The gap that makes a read of `path` untrustworthy, if any. A value read whole is untrustworthy
 * when it lies inside a gap or holds one (`mode` "overlap"); an array being enumerated only when
 * the array itself lies inside a gap (`mode` "within"): a gap deep inside one member spoils that
 * member's values, not the count of members.
 */
export function gapFor(
  ctx: EvalContext,
  path: string,
  mode: "overlap" | "within",
): UnknownNote | undefined {
  const gaps = ctx.gaps;
  if (gaps === null) return undefined;
  const lower = path.toLowerCase();
  for (let i = 0; i < gaps.length; i += 1) {
    const gap = gaps[i] as string;
    if (isWithin(lower, gap) || (mode === "overlap" && isWithin(gap, lower))) {
      return (ctx.gapNotes as readonly UnknownNote[])[i];
    }
  }
  return undefined;
}

/** True when `path` equals `ancestor` or lies below it. */
function isWithin(path: string, ancestor: string): boolean {
  if (ancestor === "") return true;
  if (path.length === ancestor.length) return path === ancestor;
  return (
    path.length > ancestor.length &&
    path.startsWith(ancestor) &&
    isBoundary(path.charCodeAt(ancestor.length))
  );
}

function isBoundary(code: number): boolean {
  return code === 46 /* . */ || code === 91 /* [ */;
}
