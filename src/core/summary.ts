/** Counts over findings for summaries, exit codes and reports. */
import {
  type Finding,
  SEVERITIES,
  type Severity,
  STATUSES,
  type Status,
  type Summary,
  severityRank,
} from "./types.js";

function emptyStatusCounts(): Record<Status, number> {
  return Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
}

function emptySeverityCounts(): Record<Severity, number> {
  return Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
}

/** Count findings by status, failing and error findings by severity, and statuses per family. */
export function summarize(findings: readonly Finding[]): Summary {
  const summary: Summary = {
    total: findings.length,
    byStatus: emptyStatusCounts(),
    failingBySeverity: emptySeverityCounts(),
    errorsBySeverity: emptySeverityCounts(),
    byFamily: {},
  };
  for (const f of findings) {
    summary.byStatus[f.status] += 1;
    if (f.status === "fail") summary.failingBySeverity[f.severity] += 1;
    if (f.status === "error") summary.errorsBySeverity[f.severity] += 1;
    summary.byFamily[f.family] ??= emptyStatusCounts();
    (summary.byFamily[f.family] as Record<Status, number>)[f.status] += 1;
  }
  return summary;
}

/** Findings with the given status at or above a severity threshold. */
export function atOrAbove(
  findings: readonly Finding[],
  status: Status,
  threshold: Severity,
): Finding[] {
  const min = severityRank(threshold);
  return findings.filter((f) => f.status === status && severityRank(f.severity) >= min);
}
