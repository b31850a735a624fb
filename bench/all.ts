/**
 * `npm run bench`: runs every benchmark in its own process, one after the other (so that each
 * measures alone and peak RSS is per benchmark), passes its output through, and ends with one table
 * of every figure, its same-run baseline, ratio and target.
 *
 * Run: npm run bench   (options: --only name[,name])
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FIGURES_MARKER, type Figure } from "./lib/figures.js";

const BENCHES: readonly { name: string; file: string }[] = [
  { name: "sweep", file: "sweep.bench.ts" },
  { name: "change-latency", file: "change-latency.bench.ts" },
  { name: "gate", file: "gate.bench.ts" },
  { name: "tls-probe", file: "tls-probe.bench.ts" },
  { name: "cold-start", file: "cold-start.bench.ts" },
  { name: "engine", file: "engine.bench.ts" },
];

const { values } = parseArgs({ options: { only: { type: "string" } } });
const only = values.only?.split(",").map((s) => s.trim());
const unknown = only?.filter((n) => !BENCHES.some((b) => b.name === n)) ?? [];
if (unknown.length > 0) {
  console.error(
    `bench: unknown benchmark ${unknown.join(", ")}; known: ${BENCHES.map((b) => b.name).join(", ")}`,
  );
  process.exit(2);
}

/** Runs one benchmark, echoing its output, and returns its figures (none when it failed). */
function run(file: string): Promise<{ code: number; figures: Figure[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, file)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const figures: Figure[] = [];
    let pending = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.startsWith(FIGURES_MARKER)) {
          figures.push(...(JSON.parse(line.slice(FIGURES_MARKER.length)).figures as Figure[]));
        } else {
          process.stdout.write(`${line}\n`);
        }
        newline = pending.indexOf("\n");
      }
    });
    child.on("close", (code) => resolve({ code: code ?? 1, figures }));
  });
}

const rows: { bench: string; figure: Figure }[] = [];
const failed: string[] = [];
for (const bench of BENCHES) {
  if (only !== undefined && !only.includes(bench.name)) continue;
  console.log(`\n=== ${bench.name}`);
  const { code, figures } = await run(bench.file);
  if (code !== 0) failed.push(bench.name);
  for (const figure of figures) rows.push({ bench: bench.name, figure });
}

const num = (n: number | undefined, unit = "") =>
  n === undefined || !Number.isFinite(n)
    ? "-"
    : `${Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3)}${unit ? ` ${unit}` : ""}`;
console.log("\n=== figures");
const table = rows.map(({ bench, figure: f }) => [
  bench,
  f.name,
  num(f.value, f.unit),
  f.baseline === undefined ? "-" : `${f.baseline}: ${num(f.baselineValue, f.unit)}`,
  f.ratio === undefined ? "-" : `${f.ratio.toFixed(2)}×`,
  f.target ?? "-",
  f.met === undefined ? "" : f.met ? "met" : "MISSED",
]);
const header = ["bench", "figure", "value", "baseline (same run)", "ratio", "target", ""];
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] ?? "").length)));
for (const r of [header, ...table]) {
  console.log(
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}
if (failed.length > 0) {
  console.log(`\nbenchmarks that failed: ${failed.join(", ")}`);
  process.exitCode = 1;
}
