/**
 * How a benchmark reports its figures: each script prints its own human-readable lines, then one
 * `@@figures` line of JSON that `bench/all.ts` collects into the closing table. A figure carries
 * its value, the baseline it was compared with in the same run, the ratio, and the target.
 */

/** One measured figure. */
export interface Figure {
  /** Short name, e.g. "sweep wall time / throttle lower bound". */
  name: string;
  /** The measured value, in `unit`. */
  value: number;
  unit: string;
  /** What the value was compared with in the same run, in words ("bare node:http server"). */
  baseline?: string;
  /** The baseline's value, in `unit`. */
  baselineValue?: number;
  /** value / baselineValue (or the ratio the target is written in). */
  ratio?: number;
  /** The target in words ("≤ 1.3×"). */
  target?: string;
  /** Whether the target was met; absent when the figure has no target. */
  met?: boolean;
}

/** The marker `bench/all.ts` looks for. */
export const FIGURES_MARKER = "@@figures ";

/** Prints the figures of one benchmark as its last line. */
export function reportFigures(bench: string, figures: readonly Figure[]): void {
  process.stdout.write(`${FIGURES_MARKER}${JSON.stringify({ bench, figures })}\n`);
}

/** The q-quantile (0..1) of `xs`, nearest rank; NaN for an empty list. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}
