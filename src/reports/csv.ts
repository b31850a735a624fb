/** Findings as CSV (RFC 4180), one row per finding, for spreadsheets and SIEM imports. */
import type { Finding } from "../core/index.js";

const COLUMNS = [
  "controlId",
  "status",
  "severity",
  "family",
  "resourceType",
  "resourceId",
  "scope",
  "reason",
  "waiverId",
  "waiverExpires",
  "statusWithoutWaiver",
  "environment",
  "evaluatedAt",
] as const;

/**
 * A cell a spreadsheet may run as a formula: it starts with `=`, `+`, `-`, `@` (or their
 * full-width forms, which some spreadsheets fold), tab or carriage return, possibly after
 * whitespace, since some spreadsheets trim a cell before reading it.
 */
const FORMULA_LEADER = /^[\s\u00a0\ufeff]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r]/;

/**
 * Quote a CSV cell. Cells that a spreadsheet would run as a formula get a leading apostrophe,
 * since estate strings are untrusted.
 */
export function csvCell(value: unknown): string {
  let text = value === undefined || value === null ? "" : String(value);
  if (FORMULA_LEADER.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Render findings as CSV with a header row. */
export function renderCsv(findings: readonly Finding[]): string {
  const lines = [COLUMNS.join(",")];
  for (const f of findings) {
    const row: Record<(typeof COLUMNS)[number], unknown> = {
      controlId: f.controlId,
      status: f.status,
      severity: f.severity,
      family: f.family,
      resourceType: f.resourceType,
      resourceId: f.resourceId,
      scope: f.scope,
      reason: f.reason,
      waiverId: f.waiver?.id,
      waiverExpires: f.waiver?.expires,
      statusWithoutWaiver: f.waiver?.statusWithoutWaiver,
      environment: f.environment,
      evaluatedAt: f.evaluatedAt,
    };
    lines.push(COLUMNS.map((c) => csvCell(row[c])).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}
