/**
 * Build an evidence report from the ledger: for each (control, resource) the latest status within
 * a period with the evidence it rests on (observed values, time, run, ledger record and hash,
 * snapshot), grouped by framework requirement, with a summary, the exceptions and the trend.
 */

import {
  type Catalogue,
  type EvidenceRecord,
  FAMILIES,
  type Family,
  type Finding,
  type Framework,
  LedgerFormatError,
  parseInstant,
  parseRecord,
  SEVERITIES,
  type Severity,
  STATUSES,
  type Status,
  severityRank,
  sha256Hex,
  type Waiver,
} from "../core/index.js";
// biome-ignore lint/style/noRestrictedImports: types only, no runtime import: the model is defined beside its renderers and this use case builds it.
import type * as reports from "../reports/index.js";
import type { EvidenceStore } from "./deps.js";

type EvidenceItem = reports.EvidenceItem;
type EvidenceReportModel = reports.EvidenceReportModel;
type ExceptionEntry = reports.ExceptionEntry;
type FamilyRate = reports.FamilyRate;
type ReportFramework = reports.ReportFramework;
type RequirementSection = reports.RequirementSection;
type TrendDay = reports.TrendDay;

/** Options of {@link buildEvidenceReport}. */
export interface BuildEvidenceReportOptions {
  framework: ReportFramework;
  /** ISO 8601: records evaluated (`now`) before this are left out. */
  from?: string;
  /** ISO 8601: records evaluated after this are left out. */
  to?: string;
  /**
   * Keep only findings whose scope equals this, or whose resource id starts with it
   * (case-insensitive): `/subscriptions/<id>`, `k8s://aks-prod`.
   */
  scope?: string;
  /** ISO 8601 time the report is generated (the caller's clock; the app keeps none). */
  generatedAt: string;
  /** Configured waivers: listed as exceptions even when they waived nothing in the period. */
  waivers?: readonly Waiver[];
  /**
   * Which time of a record `from`/`to` compare with: its evaluation time (`now`, the default: what
   * was true in the period) or when it was written (`recordedAt`, the period of an evidence pack,
   * so that the pack's report covers exactly the pack's records).
   */
  periodBy?: "now" | "recordedAt";
}

/** The frameworks `all` stands for. */
const ALL_FRAMEWORKS: Framework[] = ["iso27001", "soc2", "nist80053", "mcsb"];

/** Worst first: what a requirement or control shows when its resources differ. */
const STATUS_WEIGHT: Record<Status, number> = {
  fail: 4,
  error: 3,
  waived: 2,
  pass: 1,
  not_applicable: 0,
};

/** A stored record with where it is and its hash. */
interface ReadRecord {
  name: string;
  hash: string;
  record: EvidenceRecord;
  nowMs: number;
}

/**
 * Read every ledger record, keep those evaluated within [from, to], and build the report model.
 * The ledger is verified too (`store.verify()`), so the report says whether its evidence is
 * intact.
 * @throws RangeError when `from`, `to` or `generatedAt` is not an ISO 8601 date-time, or `from`
 *   is after `to`.
 * @throws LedgerFormatError naming the record when a record, or a finding in it, is not in the
 *   ledger's format (a report is not built from evidence it cannot read).
 * @throws StoreError when the store cannot be read.
 */
export async function buildEvidenceReport(
  store: EvidenceStore,
  catalogue: Catalogue,
  options: BuildEvidenceReportOptions,
): Promise<EvidenceReportModel> {
  const fromMs = instant(options.from, "from");
  const toMs = instant(options.to, "to");
  const generatedMs = instant(options.generatedAt, "generatedAt") as number;
  if (fromMs !== undefined && toMs !== undefined && fromMs > toMs)
    throw new RangeError(`from (${options.from}) is after to (${options.to})`);

  let total = 0;
  const inPeriod: ReadRecord[] = [];
  for await (const { name, content } of store.listRecords()) {
    total += 1;
    const record = parseRecord(name, content);
    const nowMs = parseInstant(record.now) as number;
    const atMs =
      options.periodBy === "recordedAt" ? (parseInstant(record.recordedAt) as number) : nowMs;
    if (fromMs !== undefined && atMs < fromMs) continue;
    if (toMs !== undefined && atMs > toMs) continue;
    inPeriod.push({ name, hash: sha256Hex(content), record, nowMs });
  }
  // Chain order within one evaluation time: a later record supersedes an earlier one.
  inPeriod.sort((a, b) => a.nowMs - b.nowMs || a.record.seq - b.record.seq);
  const verification = await store.verify();

  const frameworks = options.framework === "all" ? ALL_FRAMEWORKS : [options.framework];
  const inScope = (finding: Finding): boolean => {
    if (options.scope !== undefined) {
      const scope = options.scope.toLowerCase();
      const matches =
        finding.scope?.toLowerCase() === scope ||
        finding.resourceId.toLowerCase().startsWith(scope);
      if (!matches) return false;
    }
    return (
      options.framework === "all" ||
      (finding.frameworks?.[options.framework as Framework]?.length ?? 0) > 0
    );
  };

  const latest = new Map<string, EvidenceItem>();
  const trendDays = new Map<string, Map<string, EvidenceItem>>();
  for (const read of inPeriod) {
    for (const [index, value] of read.record.findings.entries()) {
      const finding = asFinding(value, read.name, index);
      if (!inScope(finding)) continue;
      const item = toItem(finding, read);
      const key = `${finding.controlId}\u0000${finding.resourceId}`;
      latest.set(key, item);
      const day = read.record.now.slice(0, 10);
      const dayItems = trendDays.get(day) ?? new Map<string, EvidenceItem>();
      dayItems.set(key, item);
      trendDays.set(day, dayItems);
    }
  }
  const items = [...latest.values()].sort(
    (a, b) => compare(a.controlId, b.controlId) || compare(a.resourceId, b.resourceId),
  );

  const observed =
    inPeriod.length === 0
      ? null
      : {
          first: (inPeriod[0] as ReadRecord).record.now,
          last: (inPeriod.at(-1) as ReadRecord).record.now,
        };
  return {
    title: `Compliance evidence report${options.framework === "all" ? "" : `: ${options.framework}`}`,
    framework: options.framework,
    frameworks,
    period: {
      from: fromMs === undefined ? null : new Date(fromMs).toISOString(),
      to: toMs === undefined ? null : new Date(toMs).toISOString(),
    },
    observedPeriod: observed,
    scope: options.scope ?? null,
    generatedAt: new Date(generatedMs).toISOString(),
    ledger: {
      head: verification.head,
      verified: verification.ok,
      problems: verification.problems.length,
      records: total,
      recordsInPeriod: inPeriod.length,
      runIds: [...new Set(inPeriod.map((r) => r.record.runId))],
    },
    summary: summarise(items),
    requirements: requirementSections(items, catalogue, frameworks, options),
    items,
    exceptions: exceptionsOf(items, options.waivers ?? [], generatedMs),
    trend: trendOf(trendDays),
  };
}

function instant(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseInstant(text);
  if (ms === undefined) throw new RangeError(`${name} is not an ISO 8601 date-time: ${text}`);
  return ms;
}

/** A finding as the record stored it; its identifying fields are checked, the rest trusted. */
function asFinding(value: unknown, name: string, index: number): Finding {
  const f = value as Partial<Finding> | null;
  if (
    typeof f !== "object" ||
    f === null ||
    typeof f.controlId !== "string" ||
    typeof f.resourceId !== "string" ||
    !(STATUSES as readonly unknown[]).includes(f.status) ||
    !(SEVERITIES as readonly unknown[]).includes(f.severity) ||
    typeof f.evaluatedAt !== "string"
  )
    throw new LedgerFormatError(name, `findings[${index}] is not a finding`);
  return f as Finding;
}

function toItem(finding: Finding, read: ReadRecord): EvidenceItem {
  const snapshot = read.record.snapshots.find((s) => s.observationId === finding.resourceId);
  const frameworks: EvidenceItem["frameworks"] = {};
  for (const [framework, ids] of Object.entries(finding.frameworks ?? {}))
    if (Array.isArray(ids) && ids.length > 0) frameworks[framework as Framework] = [...ids];
  return {
    controlId: finding.controlId,
    controlTitle: finding.title ?? finding.controlId,
    family: finding.family,
    severity: finding.severity,
    resourceId: finding.resourceId,
    resourceType: finding.resourceType ?? "",
    ...(finding.scope !== undefined ? { scope: finding.scope } : {}),
    status: finding.status,
    reason: finding.reason ?? "",
    observed: Array.isArray(finding.trace) ? finding.trace : [],
    evaluatedAt: finding.evaluatedAt,
    runId: read.record.runId,
    target: read.record.target,
    record: { name: read.name, seq: read.record.seq, hash: read.hash },
    snapshotHash: snapshot?.hash ?? null,
    frameworks,
    ...(finding.waiver !== undefined ? { waiver: finding.waiver } : {}),
  };
}

function emptyStatusCounts(): Record<Status, number> {
  return { pass: 0, fail: 0, error: 0, waived: 0, not_applicable: 0 };
}

function summarise(items: readonly EvidenceItem[]): EvidenceReportModel["summary"] {
  const byStatus = emptyStatusCounts();
  const bySeverity = Object.fromEntries(
    SEVERITIES.map((s) => [s, { fail: 0, error: 0, total: 0 }]),
  ) as Record<Severity, { fail: number; error: number; total: number }>;
  const families = new Map<Family, Record<Status, number>>();
  for (const item of items) {
    byStatus[item.status] += 1;
    const severity = bySeverity[item.severity];
    severity.total += 1;
    if (item.status === "fail") severity.fail += 1;
    if (item.status === "error") severity.error += 1;
    const counts = families.get(item.family) ?? emptyStatusCounts();
    counts[item.status] += 1;
    families.set(item.family, counts);
  }
  const passRateByFamily: FamilyRate[] = FAMILIES.filter((f) => families.has(f)).map((family) => {
    const c = families.get(family) as Record<Status, number>;
    return {
      family,
      pass: c.pass,
      fail: c.fail,
      error: c.error,
      waived: c.waived,
      rate: rateOf(c),
    };
  });
  const failingCriticalHigh = items
    .filter(
      (i) =>
        (i.status === "fail" || i.status === "error") &&
        (i.severity === "critical" || i.severity === "high"),
    )
    .sort(
      (a, b) =>
        severityRank(b.severity) - severityRank(a.severity) ||
        STATUS_WEIGHT[b.status] - STATUS_WEIGHT[a.status] ||
        compare(a.controlId, b.controlId) ||
        compare(a.resourceId, b.resourceId),
    );
  return { total: items.length, byStatus, bySeverity, passRateByFamily, failingCriticalHigh };
}

function rateOf(c: Record<Status, number>): number | null {
  const decided = c.pass + c.fail + c.error;
  return decided === 0 ? null : c.pass / decided;
}

function worst(statuses: readonly Status[]): Status | null {
  let out: Status | null = null;
  for (const s of statuses) if (out === null || STATUS_WEIGHT[s] > STATUS_WEIGHT[out]) out = s;
  return out;
}

/**
 * Requirement → controls → resources. Controls come from the findings' own mappings (what the
 * control said when it ran) and from the catalogue (a mapped control with no evidence in the
 * period is listed with no resources, so a gap shows).
 */
function requirementSections(
  items: readonly EvidenceItem[],
  catalogue: Catalogue,
  frameworks: readonly Framework[],
  options: BuildEvidenceReportOptions,
): RequirementSection[] {
  const sections: RequirementSection[] = [];
  for (const framework of frameworks) {
    const byRequirement = new Map<string, Map<string, EvidenceItem[]>>();
    const controlsOf = (requirement: string): Map<string, EvidenceItem[]> => {
      const found = byRequirement.get(requirement) ?? new Map<string, EvidenceItem[]>();
      byRequirement.set(requirement, found);
      return found;
    };
    for (const item of items)
      for (const requirement of item.frameworks[framework] ?? []) {
        const controls = controlsOf(requirement);
        controls.set(item.controlId, [...(controls.get(item.controlId) ?? []), item]);
      }
    // A scoped report only lists what it has evidence for: other scopes' controls are not gaps.
    if (options.scope === undefined)
      for (const { control } of catalogue.controls)
        for (const requirement of control.frameworks[framework] ?? []) {
          const controls = controlsOf(requirement);
          if (!controls.has(control.id)) controls.set(control.id, []);
        }
    for (const requirement of [...byRequirement.keys()].sort(compareRequirement)) {
      const controls = [...(byRequirement.get(requirement) as Map<string, EvidenceItem[]>)]
        .sort(([a], [b]) => compare(a, b))
        .map(([controlId, resources]) => {
          const control = catalogue.byId.get(controlId.toLowerCase())?.control;
          const first = resources[0];
          return {
            controlId,
            title: first?.controlTitle ?? control?.title ?? controlId,
            family: first?.family ?? control?.family ?? null,
            severity: first?.severity ?? control?.severity ?? null,
            status: worst(resources.map((r) => r.status)),
            resources: [...resources].sort(
              (a, b) =>
                STATUS_WEIGHT[b.status] - STATUS_WEIGHT[a.status] ||
                compare(a.resourceId, b.resourceId),
            ),
          };
        });
      sections.push({
        framework,
        requirement,
        status: worst(controls.flatMap((c) => (c.status === null ? [] : [c.status]))),
        controls,
      });
    }
  }
  return sections;
}

/** `A.8.5` before `A.8.13`, `AC-2` before `AC-14`: numbers compare as numbers. */
function compareRequirement(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

function exceptionsOf(
  items: readonly EvidenceItem[],
  waivers: readonly Waiver[],
  generatedMs: number,
): ExceptionEntry[] {
  const byWaiver = new Map<string, ExceptionEntry>();
  for (const item of items) {
    if (item.status !== "waived" || item.waiver === undefined) continue;
    const w = item.waiver;
    const key = `${w.id}\u0000${item.controlId}`;
    const entry = byWaiver.get(key) ?? {
      waiverId: w.id,
      controlId: item.controlId,
      resourceIds: [],
      approver: w.approver,
      expires: w.expires,
      justification: w.justification,
      ...(w.ticket !== undefined ? { ticket: w.ticket } : {}),
      statusWithoutWaiver: [],
      expired: isExpired(w.expires, generatedMs),
    };
    entry.resourceIds.push(item.resourceId);
    entry.statusWithoutWaiver.push(w.statusWithoutWaiver);
    byWaiver.set(key, entry);
  }
  for (const w of waivers) {
    if ([...byWaiver.values()].some((e) => e.waiverId === w.id)) continue;
    byWaiver.set(`${w.id}\u0000${w.controlId}`, {
      waiverId: w.id,
      controlId: w.controlId,
      resourceIds: [],
      approver: w.approver,
      expires: w.expires,
      justification: w.justification,
      ...(w.ticket !== undefined ? { ticket: w.ticket } : {}),
      statusWithoutWaiver: [],
      expired: isExpired(w.expires, generatedMs),
    });
  }
  return [...byWaiver.values()].sort(
    (a, b) => compare(a.waiverId, b.waiverId) || compare(a.controlId, b.controlId),
  );
}

function isExpired(expires: string, generatedMs: number): boolean {
  const ms = parseInstant(expires);
  // An expiry that cannot be read is treated as expired: an exception must be provably current.
  return ms === undefined || ms <= generatedMs;
}

/**
 * Pass rate per family at the end of each day from the first to the last evaluation day: each
 * (control, resource) counts with its latest status up to that day, so several runs in one day
 * count once and a day without a run carries the previous state forward.
 */
function trendOf(days: ReadonlyMap<string, ReadonlyMap<string, EvidenceItem>>): {
  families: Family[];
  days: TrendDay[];
} {
  const sorted = [...days.keys()].sort();
  const first = sorted[0];
  const last = sorted.at(-1);
  if (first === undefined || last === undefined) return { families: [], days: [] };
  const state = new Map<string, EvidenceItem>();
  const out: TrendDay[] = [];
  const seen = new Set<Family>();
  for (
    let ms = Date.parse(`${first}T00:00:00Z`);
    ms <= Date.parse(`${last}T00:00:00Z`);
    ms += 86_400_000
  ) {
    const day = new Date(ms).toISOString().slice(0, 10);
    for (const [key, item] of days.get(day) ?? []) state.set(key, item);
    const counts = new Map<Family, Record<Status, number>>();
    for (const item of state.values()) {
      const c = counts.get(item.family) ?? emptyStatusCounts();
      c[item.status] += 1;
      counts.set(item.family, c);
      seen.add(item.family);
    }
    const rates: TrendDay["rates"] = {};
    for (const [family, c] of counts) rates[family] = rateOf(c);
    out.push({ day, rates });
  }
  return { families: FAMILIES.filter((f) => seen.has(f)), days: out };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
