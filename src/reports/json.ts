/** Findings as JSON: `{ run, findings, summary }`, the shape of `vigil scan --format json`. */
import type { Finding, Run, Summary } from "../core/index.js";

/** Render a scan result as pretty-printed JSON. */
export function renderJson(result: {
  run: Run;
  findings: readonly Finding[];
  summary: Summary;
}): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}
