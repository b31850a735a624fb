/**
 * Cold start: the time a fresh Node process takes to import the Functions entry point
 * (`dist/functions/index.js`, what the Functions host loads to register the functions), against a
 * fresh process importing nothing (the baseline, in the same run). Each sample is a new process,
 * so module caches never help. Prints the median and p90 of each, and the extra time the entry
 * point costs (target ≤ 300 ms).
 *
 * Run: npm run bench:cold-start   (options: --samples N)
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { samples: { type: "string", default: "9" } } });
const SAMPLES = Number(values.samples);
const ROOT = join(import.meta.dirname, "..");
const ENTRY = join(ROOT, "dist", "functions", "index.js");
if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run npm run build first`);

/** One fresh process that imports `specifier` (or nothing) and reports the import's duration. */
function sample(specifier: string | undefined): number {
  const script =
    specifier === undefined
      ? "const t = performance.now(); console.log(performance.now() - t);"
      : `const t = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - t);`;
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`the sample process failed: ${run.stderr}`);
  const lines = run.stdout.trim().split("\n");
  return Number(lines.at(-1));
}

/** Wall time of a whole fresh process that imports `specifier` (or nothing). */
function wall(specifier: string | undefined): number {
  const started = performance.now();
  const script = specifier === undefined ? "" : `await import(${JSON.stringify(specifier)});`;
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT });
  if (run.status !== 0) throw new Error("the sample process failed");
  return performance.now() - started;
}

function stats(xs: number[]): { median: number; p90: number } {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { median: at(0.5), p90: at(0.9) };
}

const importMs: number[] = [];
const processMs: number[] = [];
const baselineMs: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  // Interleaved, so that machine noise hits both alike.
  importMs.push(sample(ENTRY));
  processMs.push(wall(ENTRY));
  baselineMs.push(wall(undefined));
}
const imp = stats(importMs);
const proc = stats(processMs);
const base = stats(baselineMs);
const f = (n: number) => `${n.toFixed(0)} ms`;
console.log(`cold start of the Functions entry point (${SAMPLES} fresh processes each)`);
console.log(
  `  import of dist/functions/index.js   median ${f(imp.median)}, p90 ${f(imp.p90)}   (target ≤ 300 ms)`,
);
console.log(`  whole process with the import        median ${f(proc.median)}, p90 ${f(proc.p90)}`);
console.log(`  baseline: whole process, no import   median ${f(base.median)}, p90 ${f(base.p90)}`);
console.log(
  `  ratio process/baseline               ${(proc.median / base.median).toFixed(2)}×; the import adds ${f(proc.median - base.median)}`,
);
console.log(`  target ${imp.median <= 300 ? "met" : "MISSED"}`);
