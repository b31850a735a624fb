/**
 * Findings as OCSF Detection Finding events (class 2004, category Findings) for SIEMs such as
 * Microsoft Sentinel: a JSON array, one event per finding that needs attention. The facts this
 * relies on, with their sources in ocsf/ocsf-schema, are in test/fixtures/ocsf/README.md.
 */
import type { Control, Finding, Severity, Status } from "../core/index.js";
import { boundedTrace } from "./evidence-report.js";
import { findingFingerprint } from "./sarif.js";

/** The OCSF schema version the events follow and are tested against (`metadata.version`). */
export const OCSF_VERSION = "1.5.0";

/** Detection Finding: uid 4 in the Findings category (2), so class_uid 2 × 1000 + 4. */
export const OCSF_DETECTION_FINDING = {
  categoryUid: 2,
  categoryName: "Findings",
  classUid: 2004,
  className: "Detection Finding",
} as const;

/** `activity_id` 1 (Create): vigil reports what one evaluation found, as a new finding event. */
const ACTIVITY = { id: 1, name: "Create" } as const;

/** OCSF `severity_id`: 2 Low, 3 Medium, 4 High, 5 Critical. */
const SEVERITY: Record<Severity, { id: number; name: string }> = {
  low: { id: 2, name: "Low" },
  medium: { id: 3, name: "Medium" },
  high: { id: 4, name: "High" },
  critical: { id: 5, name: "Critical" },
};

/**
 * Which findings become events, and their OCSF finding status. `pass` and `not_applicable` are
 * left out: a Detection Finding reports something detected, and a compliant or out-of-scope
 * resource is not a detection. `error` is kept (fail closed: compliance could not be decided,
 * which a SOC must see). `waived` is kept as Suppressed, as reviewed and accepted.
 */
const STATUS: Partial<Record<Status, { id: number; name: string; code: string; alert: boolean }>> =
  {
    fail: { id: 1, name: "New", code: "FAIL", alert: true },
    error: { id: 1, name: "New", code: "ERROR", alert: true },
    waived: { id: 3, name: "Suppressed", code: "WAIVED", alert: false },
  };

/** Options of {@link renderOcsf}. */
export interface RenderOcsfOptions {
  vigilVersion: string;
  productName?: "vigil";
  /** The catalogue's controls: when given, each event carries its control's remediation. */
  controls?: readonly Control[];
}

/**
 * Render findings as a JSON array of OCSF Detection Finding events, one per `fail`, `error` or
 * `waived` finding (see `STATUS` above for why `pass` and `not_applicable` are left out), in the
 * order given. `time` is the evaluation time in epoch milliseconds (OCSF `timestamp_t`);
 * `finding_info.uid` is the SHA-256 of (control, resource), the same fingerprint SARIF uses, so
 * a SIEM can correlate repeats of one finding across scans.
 * @throws RangeError when a finding's `evaluatedAt` is not a date-time.
 */
export function renderOcsf(findings: readonly Finding[], options: RenderOcsfOptions): string {
  const controls = new Map((options.controls ?? []).map((c) => [c.id, c]));
  const events: unknown[] = [];
  for (const finding of findings) {
    const status = STATUS[finding.status];
    if (status === undefined) continue;
    const time = Date.parse(finding.evaluatedAt);
    if (Number.isNaN(time)) {
      throw new RangeError(
        `finding ${finding.controlId} on ${finding.resourceId}: evaluatedAt is not a date-time`,
      );
    }
    const severity = SEVERITY[finding.severity];
    const remediation = controls.get(finding.controlId)?.remediation;
    events.push({
      activity_id: ACTIVITY.id,
      activity_name: ACTIVITY.name,
      category_uid: OCSF_DETECTION_FINDING.categoryUid,
      category_name: OCSF_DETECTION_FINDING.categoryName,
      class_uid: OCSF_DETECTION_FINDING.classUid,
      class_name: OCSF_DETECTION_FINDING.className,
      type_uid: OCSF_DETECTION_FINDING.classUid * 100 + ACTIVITY.id,
      type_name: `${OCSF_DETECTION_FINDING.className}: ${ACTIVITY.name}`,
      severity_id: severity.id,
      severity: severity.name,
      time,
      message: finding.reason,
      status_id: status.id,
      status: status.name,
      status_code: status.code,
      status_detail: finding.reason,
      is_alert: status.alert,
      metadata: {
        version: OCSF_VERSION,
        product: {
          name: options.productName ?? "vigil",
          vendor_name: "vigil",
          version: options.vigilVersion,
        },
        event_code: finding.controlId,
      },
      finding_info: {
        uid: findingFingerprint(finding.controlId, finding.resourceId),
        title: finding.title,
        desc: finding.reason,
        types: [finding.family],
        created_time: time,
      },
      resources: [
        {
          uid: finding.resourceId,
          type: finding.resourceType,
          name: resourceName(finding.resourceId),
          ...(finding.scope === undefined ? {} : { group: { name: finding.scope } }),
        },
      ],
      ...(remediation === undefined ? {} : { remediation: { desc: remediation } }),
      unmapped: {
        control: { id: finding.controlId, version: finding.controlVersion },
        frameworks: finding.frameworks,
        ...(finding.waiver === undefined ? {} : { waiver: finding.waiver }),
        trace: boundedTrace(finding.trace),
      },
    });
  }
  return `${JSON.stringify(events, null, 2)}\n`;
}

/** The last segment of a resource id: an ARM name, a Kubernetes object name, `host:port`. */
function resourceName(resourceId: string): string {
  const trimmed = resourceId.replace(/\/+$/, "");
  const name = trimmed.slice(trimmed.lastIndexOf("/") + 1);
  return name === "" ? resourceId : name;
}
