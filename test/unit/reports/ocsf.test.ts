/**
 * OCSF Detection Finding events checked against vigil's table of what OCSF 1.5.0 requires of the
 * class and of the objects vigil puts in it (test/fixtures/ocsf/detection-finding-1.5.0.json;
 * its README names the sources): required attributes, no attribute outside the class, the
 * dictionary types, enum values and their captions, and the objects' "at least one" rules.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
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

interface ObjectRules {
  required: string[];
  recommended: string[];
  atLeastOne?: string[];
  attributes: Record<string, string>;
}

interface Table {
  version: string;
  category: { uid: number; name: string };
  class: { uid: number; name: string };
  enums: Record<string, Record<string, string>>;
  captions: Record<string, string>;
  objects: Record<string, ObjectRules>;
}

const TABLE = JSON.parse(
  readFileSync(
    join(import.meta.dirname, "..", "..", "fixtures", "ocsf", "detection-finding-1.5.0.json"),
    "utf8",
  ),
) as Table;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Problems of `value` against a type of the table's notation (see the fixture README). */
function typeProblems(path: string, value: unknown, type: string): string[] {
  if (type.endsWith("[]")) {
    if (!Array.isArray(value)) return [`${path}: expected an array of ${type.slice(0, -2)}`];
    return value.flatMap((v, i) => typeProblems(`${path}[${i}]`, v, type.slice(0, -2)));
  }
  const ok: Record<string, (v: unknown) => boolean> = {
    string: (v) => typeof v === "string",
    boolean: (v) => typeof v === "boolean",
    integer: (v) => Number.isSafeInteger(v) && Math.abs(v as number) <= 2 ** 31,
    long: (v) => Number.isSafeInteger(v),
    // timestamp_t: epoch milliseconds; a value below 1e11 would be seconds (or 1973)
    timestamp: (v) => Number.isSafeInteger(v) && (v as number) > 1e11,
    json: () => true,
    object: isObject,
  };
  const check = ok[type] ?? (type.startsWith("object:") ? isObject : undefined);
  if (check !== undefined) return check(value) ? [] : [`${path}: expected ${type}`];
  return objectProblems(path, value, type);
}

function objectProblems(path: string, value: unknown, name: string): string[] {
  const rules = TABLE.objects[name];
  if (rules === undefined) return [`${path}: no rules for ${name}`];
  if (!isObject(value)) return [`${path}: expected a ${name} object`];
  const problems = rules.required
    .filter((a) => value[a] === undefined || value[a] === null)
    .map((a) => `${path}.${a}: required by ${name}`);
  if (rules.atLeastOne && !rules.atLeastOne.some((a) => value[a] !== undefined))
    problems.push(`${path}: ${name} needs one of ${rules.atLeastOne.join(", ")}`);
  for (const [key, v] of Object.entries(value)) {
    const type = rules.attributes[key];
    if (type === undefined) problems.push(`${path}.${key}: not an attribute of ${name}`);
    else problems.push(...typeProblems(`${path}.${key}`, v, type));
  }
  return problems;
}

/** Every problem of one event against the table; [] when it conforms. */
function conformance(event: unknown): string[] {
  const problems = objectProblems("event", event, "event");
  if (!isObject(event)) return problems;
  for (const [id, values] of Object.entries(TABLE.enums)) {
    if (event[id] === undefined) continue;
    const caption = values[String(event[id])];
    if (caption === undefined)
      problems.push(`event.${id}: ${String(event[id])} is not in the enum`);
    const sibling = TABLE.captions[id];
    if (caption !== undefined && sibling !== undefined && event[sibling] !== undefined)
      if (event[id] !== 99 && event[sibling] !== caption)
        problems.push(`event.${sibling}: expected ${caption}`);
  }
  const expected = {
    category_uid: TABLE.category.uid,
    category_name: TABLE.category.name,
    class_uid: TABLE.class.uid,
    class_name: TABLE.class.name,
    type_uid: TABLE.class.uid * 100 + (event.activity_id as number),
    type_name: `${TABLE.class.name}: ${TABLE.enums.activity_id?.[String(event.activity_id)]}`,
  };
  for (const [key, value] of Object.entries(expected))
    if (event[key] !== undefined && event[key] !== value)
      problems.push(`event.${key}: expected ${value}`);
  return problems;
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

  it("conforms to OCSF 1.5.0: required attributes, no others, types, enums and captions", () => {
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) expect(conformance(event)).toEqual([]);
  });

  it("conforms also with a remediation, a scope, a waiver and odd resource ids", () => {
    const fail = findings.find((f) => f.status === "fail")!;
    const odd: Finding[] = [
      { ...fail, scope: "prod", resourceId: "/", reason: "line one\nline two" },
      { ...fail, scope: "", resourceId: "k8s://c/ns/x/", title: "" },
      {
        ...fail,
        status: "waived",
        waiver: {
          id: "w1",
          justification: "replica",
          approver: "ciso@example.com",
          expires: "2027-01-01",
          statusWithoutWaiver: "fail",
        },
      },
    ];
    const rendered = JSON.parse(
      renderOcsf(odd, {
        vigilVersion: "0.1.0",
        controls: [makeControl({ id: fail.controlId, remediation: "Enable it." })],
      }),
    ) as Event[];

    expect(rendered).toHaveLength(3);
    for (const event of rendered) expect(conformance(event)).toEqual([]);
    expect(rendered[0]?.remediation).toEqual({ desc: "Enable it." });
  });

  it("reports what does not conform", () => {
    const [event] = events;
    const broken = {
      ...event,
      time: 1795413600,
      status_id: 6,
      extra: true,
      finding_info: { title: "no uid" },
      resources: [{ type: "T", group: "rg" }],
    };

    expect(conformance(broken)).toEqual(
      expect.arrayContaining([
        "event.finding_info.uid: required by finding_info",
        "event.time: expected timestamp",
        "event.extra: not an attribute of event",
        "event.resources[0]: resource_details needs one of name, uid",
        "event.resources[0].group: expected a group object",
        "event.status_id: 6 is not in the enum",
      ]),
    );
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

  it("sets time in epoch milliseconds, not seconds", () => {
    for (const event of events) expect(event.time).toBe(at("2026-11-23T06:00:00Z"));
    expect(at("2026-11-23T06:00:00Z")).toBeGreaterThan(1e12);
  });

  it("names the OCSF version the table is for, and the product", () => {
    expect(OCSF_VERSION).toBe(TABLE.version);
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
    expect(event?.unmapped).toMatchObject({ waiver: { approver: "ciso@example.com" } });
  });
});
