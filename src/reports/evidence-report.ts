/**
 * The evidence report's model (what `vigil report` builds from the ledger) and its CSV and JSON
 * renderers. The HTML and OSCAL renderers read the same model.
 */
import type {
  AppliedWaiver,
  Family,
  Framework,
  Severity,
  Status,
  TraceEntry,
} from "../core/index.js";
import { csvCell } from "./csv.js";

/** The frameworks a report can be built for; `all` puts every framework's requirements in one report. */
export const REPORT_FRAMEWORKS = ["iso27001", "soc2", "nist80053", "mcsb", "all"] as const;
export type ReportFramework = (typeof REPORT_FRAMEWORKS)[number];

/** Display names of the frameworks. */
export const FRAMEWORK_NAMES: Record<Framework, string> = {
  iso27001: "ISO/IEC 27001:2022 Annex A",
  soc2: "SOC 2 Trust Services Criteria",
  nist80053: "NIST SP 800-53 Rev. 5",
  mcsb: "Microsoft cloud security benchmark",
  cis: "CIS Benchmarks",
};

/** Where a piece of evidence is kept in the ledger. */
export interface LedgerReference {
  /** The record blob: `ledger/000000000007.json`. */
  name: string;
  seq: number;
  /** SHA-256 of the record's stored bytes: what the next record names and `vigil verify` checks. */
  hash: string;
}

/** The latest status of one control on one resource within the period, with its evidence. */
export interface EvidenceItem {
  controlId: string;
  controlTitle: string;
  family: Family;
  severity: Severity;
  resourceId: string;
  resourceType: string;
  scope?: string;
  status: Status;
  /** Built from the trace by the engine. */
  reason: string;
  /** The values the rule read and what it expected (the finding's trace). */
  observed: TraceEntry[];
  /** The evaluation time the finding was computed for. */
  evaluatedAt: string;
  runId: string;
  /** The target label the record was written for. */
  target: string;
  record: LedgerReference;
  /** SHA-256 of the resource's observation snapshot (`snapshots/<hash>.json`); null when none. */
  snapshotHash: string | null;
  /** Requirement ids per framework, as the control mapped them when it ran. */
  frameworks: Partial<Record<Framework, string[]>>;
  waiver?: AppliedWaiver;
}

/** One control under a requirement, with the latest evidence for each resource it ran on. */
export interface RequirementControl {
  controlId: string;
  title: string;
  family: Family | null;
  severity: Severity | null;
  /** Worst status over the resources (fail > error > waived > pass > not_applicable); null: no evidence in the period. */
  status: Status | null;
  resources: EvidenceItem[];
}

/** One requirement of a framework, the controls that evidence it, and its overall status. */
export interface RequirementSection {
  framework: Framework;
  requirement: string;
  /** Worst status over its controls; null when none has evidence in the period. */
  status: Status | null;
  controls: RequirementControl[];
}

/** Pass rate of one family: pass / (pass + fail + error); waived and not-applicable are left out. */
export interface FamilyRate {
  family: Family;
  pass: number;
  fail: number;
  error: number;
  waived: number;
  /** 0 to 1; null when nothing was decided (no pass, fail or error). */
  rate: number | null;
}

/** An accepted exception: a waiver and the findings it waived in the period. */
export interface ExceptionEntry {
  waiverId: string;
  controlId: string;
  /** The resources it waived (latest status `waived`); empty when it waived nothing in the period. */
  resourceIds: string[];
  approver: string;
  expires: string;
  justification: string;
  ticket?: string;
  /** The status each waived finding would have without the waiver. */
  statusWithoutWaiver: Status[];
  /** The waiver has expired at the report's generation time. */
  expired: boolean;
}

/** One day of the trend: each family's pass rate at the end of that day. */
export interface TrendDay {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  rates: Partial<Record<Family, number | null>>;
}

/** Everything an evidence report shows, built by `buildEvidenceReport` in `src/app/report.ts`. */
export interface EvidenceReportModel {
  title: string;
  framework: ReportFramework;
  /** The frameworks whose requirements the report lists. */
  frameworks: Framework[];
  /** ISO 8601; null when the period is open on that side. */
  period: { from: string | null; to: string | null };
  /** First and last evaluation time among the period's records; null when there are none. */
  observedPeriod: { first: string; last: string } | null;
  scope: string | null;
  generatedAt: string;
  ledger: {
    /** The chain head when the report was built. */
    head: { seq: number; hash: string } | null;
    /** `vigil verify` would pass. */
    verified: boolean;
    problems: number;
    /** Records in the whole ledger and in the period. */
    records: number;
    recordsInPeriod: number;
    runIds: string[];
  };
  summary: {
    /** Latest (control, resource) pairs in the report's scope. */
    total: number;
    byStatus: Record<Status, number>;
    /** Per severity, how many are failing and how many in error. */
    bySeverity: Record<Severity, { fail: number; error: number; total: number }>;
    passRateByFamily: FamilyRate[];
    /** Failing or in-error items of critical or high severity, most severe first. */
    failingCriticalHigh: EvidenceItem[];
  };
  requirements: RequirementSection[];
  /** Every latest item in the report's scope, each once, ordered by control then resource. */
  items: EvidenceItem[];
  exceptions: ExceptionEntry[];
  trend: { families: Family[]; days: TrendDay[] };
}

const CSV_COLUMNS = [
  "controlId",
  "controlTitle",
  "family",
  "severity",
  "status",
  "resourceType",
  "resourceId",
  "scope",
  "reason",
  "observed",
  "requirements",
  "evaluatedAt",
  "runId",
  "ledgerRecord",
  "ledgerSeq",
  "ledgerRecordSha256",
  "snapshotSha256",
  "waiverId",
  "waiverApprover",
  "waiverExpires",
  "statusWithoutWaiver",
] as const;

/**
 * Most characters of one observed or expected value a report shows. A resource can carry a
 * property of megabytes (a certificate chain, a policy document); the report shows its start and
 * its length, and the evidence snapshot keeps it whole.
 */
export const MAX_REPORTED_VALUE_CHARS = 2000;

/** A value as JSON text, cut to `maxChars` with the number of characters left out. */
export function boundedJson(value: unknown, maxChars = MAX_REPORTED_VALUE_CHARS): string {
  const text = JSON.stringify(value) ?? "";
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}… (${text.length - maxChars} more characters)`;
}

/**
 * A trace whose observed and expected values are each at most `maxChars` of JSON: a longer one is
 * replaced by its cut text (see {@link boundedJson}), for outputs that carry the trace as data.
 */
export function boundedTrace(
  trace: readonly TraceEntry[],
  maxChars = MAX_REPORTED_VALUE_CHARS,
): TraceEntry[] {
  const bound = (value: unknown) => {
    const text = JSON.stringify(value);
    return text === undefined || text.length <= maxChars ? value : boundedJson(value, maxChars);
  };
  return trace.map((t) => ({ ...t, observed: bound(t.observed), expected: bound(t.expected) }));
}

/** The trace as one line: `field observed=… expected=…` per entry that decided, `; ` between. */
export function observedText(trace: readonly TraceEntry[]): string {
  return trace
    .filter((t) => t.within === undefined)
    .map((t) => {
      const what = t.field ?? t.value ?? "(value)";
      const observed = t.missing === true ? "missing" : boundedJson(t.observed);
      return `${what} ${t.operator} observed=${observed} expected=${boundedJson(t.expected)}`;
    })
    .join("; ");
}

/** `iso27001:A.8.5 soc2:CC6.1 …` for the frameworks an item maps to. */
export function requirementsText(item: EvidenceItem): string {
  return Object.entries(item.frameworks)
    .flatMap(([framework, ids]) => (ids ?? []).map((id) => `${framework}:${id}`))
    .join(" ");
}

/**
 * The report as CSV (RFC 4180): one row per item (latest status of a control on a resource),
 * with its evidence. Cells go through `csvCell`, so estate strings cannot run as formulas.
 */
export function renderEvidenceCsv(model: EvidenceReportModel): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const item of model.items) {
    const row: Record<(typeof CSV_COLUMNS)[number], unknown> = {
      controlId: item.controlId,
      controlTitle: item.controlTitle,
      family: item.family,
      severity: item.severity,
      status: item.status,
      resourceType: item.resourceType,
      resourceId: item.resourceId,
      scope: item.scope,
      reason: item.reason,
      observed: observedText(item.observed),
      requirements: requirementsText(item),
      evaluatedAt: item.evaluatedAt,
      runId: item.runId,
      ledgerRecord: item.record.name,
      ledgerSeq: item.record.seq,
      ledgerRecordSha256: item.record.hash,
      snapshotSha256: item.snapshotHash,
      waiverId: item.waiver?.id,
      waiverApprover: item.waiver?.approver,
      waiverExpires: item.waiver?.expires,
      statusWithoutWaiver: item.waiver?.statusWithoutWaiver,
    };
    lines.push(CSV_COLUMNS.map((c) => csvCell(row[c])).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** The report model as pretty-printed JSON. */
export function renderEvidenceJson(model: EvidenceReportModel): string {
  return `${JSON.stringify(model, null, 2)}\n`;
}
