/**
 * OCSF Detection Finding events checked against the class's required attributes, enums and
 * types as read from ocsf/ocsf-schema (test/fixtures/ocsf/README.md names each source). No
 * generated JSON Schema of the class was available, so this is a requirements table.
 */
import { describe, expect, it } from "vitest";
import { evaluate, type Finding } from "../../../src/core/index.js";
import { OCSF_VERSION, renderOcsf } from "../../../src/reports/ocsf.js";
import { findingFingerprint } from "../../../src/reports/sarif.js";
import { at, makeCatalogue, makeControl, pgServer } from "../../support/builders.js";

type Event = Record<string, unknown> & {
  metadata: Record<string, unknown> & { product: Record<string, unknown> };
  finding_info: Record<string, unknown>;
  resources: Record<string, unknown>[];
};

/** Required attributes of Detection Finding (class 2004) and of the objects it requires. */
const REQUIRED: { path: string; type: "integer" | "string" | "object" }[] = [
  { path: "activity_id", type: "integer" },
  { path: "category_uid", type: "integer" },
  { path: "class_uid", type: "integer" },
  { path: "type_uid", type: "integer" },
  { path: "severity_id", type: "integer" },
  { path: "time", type: "integer" },
  { path: "metadata", type: "object" },
  { path: "metadata.version", type: "string" },
  { path: "metadata.product", type: "object" },
  { path: "finding_info", type: "object" },
  { path: "finding_info.uid", type: "string" },
  // Required up to OCSF 1.3.0, recommended since: vigil always sets it.
  { path: "finding_info.title", type: "string" },
];

const ACTIVITY_IDS = [0, 1, 2, 3, 99];
const SEVERITY_IDS = [0, 1, 2, 3, 4, 5, 6, 99];
const STATUS_IDS = [0, 1, 2, 3, 4, 5, 6, 99];

function read(value: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>(
      (at, key) =>
        typeof at === "object" && at !== null ? (at as Record<string, unknown>)[key] : undefined,
      value,
    );
}

function typeOf(value: unknown): string {
  if (Number.isSafeInteger(value)) return "integer";
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return "object";
  return typeof value;
}

function demoFindings(): Finding[] {
  const catalogue = makeCatalogue(
    makeControl(),
    makeControl({
      id: "postgresql-public-network-access-disabled",
      family: "segmentation",
      severity: "critical",
      policyRule: {
        if: { field: "properties.network.publicNetworkAccess", notEquals: "Disabled" },
        then: { effect: "audit" },
      },
    }),
  );
  return evaluate(
    catalogue,
    [
      pgServer("odoo-prod-pg", {
        backup: { geoRedundantBackup: "Disabled" },
        network: { publicNetworkAccess: "Enabled" },
      }),
      pgServer("odoo-broken", {}, { error: { message: "timeout" } }),
      pgServer("odoo-ok", {
        backup: { geoRedundantBackup: "Enabled" },
        network: { publicNetworkAccess: "Disabled" },
      }),
    ],
    { nowMs: at("2026-11-23T06:00:00Z") },
  );
}

function render(findings: readonly Finding[] = demoFindings()): Event[] {
  return JSON.parse(renderOcsf(findings, { vigilVersion: "0.1.0" })) as Event[];
}

describe("renderOcsf", () => {
  const findings = demoFindings();
  const events = render(findings);

  it("emits one event per fail, error or waived finding, and none for pass or not_applicable", () => {
    const kept = findings.filter((f) => ["fail", "error", "waived"].includes(f.status));

    expect(findings.some((f) => f.status === "pass")).toBe(true);
    expect(kept.length).toBeGreaterThan(0);
    expect(events).toHaveLength(kept.length);
  });

  it.each(REQUIRED)("sets required $path as $type on every event", ({ path, type }) => {
    for (const event of events) expect(typeOf(read(event, path))).toBe(type);
  });

  it("identifies the class: category 2, class 2004, type 200401 (Create)", () => {
    for (const event of events) {
      expect(event).toMatchObject({
        category_uid: 2,
        class_uid: 2004,
        activity_id: 1,
        type_uid: 200401,
        class_name: "Detection Finding",
      });
      expect(event.type_uid).toBe(
        (event.class_uid as number) * 100 + (event.activity_id as number),
      );
    }
  });

  it("uses only values of the OCSF enums", () => {
    for (const event of events) {
      expect(ACTIVITY_IDS).toContain(event.activity_id);
      expect(SEVERITY_IDS).toContain(event.severity_id);
      expect(STATUS_IDS).toContain(event.status_id);
    }
  });

  it("sets time in epoch milliseconds, not seconds", () => {
    for (const event of events) expect(event.time).toBe(at("2026-11-23T06:00:00Z"));
    expect(at("2026-11-23T06:00:00Z")).toBeGreaterThan(1e12);
  });

  it("names the OCSF version and the product", () => {
    expect(events[0]?.metadata).toMatchObject({
      version: OCSF_VERSION,
      product: { name: "vigil", vendor_name: "vigil", version: "0.1.0" },
    });
  });

  it("maps severity and status, and gives a stable finding uid of control and resource", () => {
    const fail = findings.find(
      (f) => f.status === "fail" && f.controlId === "postgresql-public-network-access-disabled",
    )!;
    const event = events.find(
      (e) => e.metadata.event_code === fail.controlId && e.resources[0]?.uid === fail.resourceId,
    )!;

    expect(event).toMatchObject({ severity_id: 5, severity: "Critical", status_id: 1 });
    expect(event.finding_info).toMatchObject({
      uid: findingFingerprint(fail.controlId, fail.resourceId),
      title: fail.title,
      desc: fail.reason,
      types: ["segmentation"],
    });
    expect(event.resources[0]).toMatchObject({ uid: fail.resourceId, type: fail.resourceType });
    expect(render([fail])[0]?.finding_info.uid).toBe(event.finding_info.uid);
  });

  it("reports an error finding as a new alert with status code ERROR", () => {
    const error = events.find((e) => e.status_code === "ERROR");

    expect(error).toMatchObject({ status_id: 1, is_alert: true });
  });

  it("reports a waived finding as Suppressed, not an alert", () => {
    const fail = findings.find((f) => f.status === "fail")!;
    const waived: Finding = {
      ...fail,
      status: "waived",
      waiver: {
        id: "w1",
        justification: "replica in another region",
        approver: "ciso@example.com",
        expires: "2027-01-01",
        statusWithoutWaiver: "fail",
      },
    };

    const [event] = render([waived]);

    expect(event).toMatchObject({ status_id: 3, status: "Suppressed", is_alert: false });
    expect(read(event, "unmapped.waiver.approver")).toBe("ciso@example.com");
  });
});
