import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import {
  contentUuid,
  type EvidenceItem,
  type EvidenceReportModel,
  OSCAL_VERSION,
  oscalControlId,
  renderOscalAssessmentResults,
} from "../../../src/reports/index.js";

const SCHEMA_PATH = join(
  import.meta.dirname,
  "..",
  "..",
  "fixtures",
  "oscal",
  "assessment-results.structure.schema.json",
);

/** Validates against the test schema in test/fixtures/oscal (see its README for what it is). */
function oscalValidator(): (document: unknown) => string[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, "utf8")));
  return (document) =>
    validate(document) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

function item(overrides: Partial<EvidenceItem>): EvidenceItem {
  return {
    controlId: "postgresql-geo-redundant-backup-enabled",
    controlTitle: "PostgreSQL flexible server backups are geo-redundant",
    family: "backup-encryption",
    severity: "high",
    resourceId: "/subscriptions/s1/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-a",
    resourceType: "Microsoft.DBforPostgreSQL/flexibleServers",
    status: "fail",
    reason: "properties.backup.geoRedundantBackup is Disabled",
    observed: [
      {
        field: "properties.backup.geoRedundantBackup",
        observed: "Disabled",
        operator: "notEquals",
        expected: "Enabled",
        result: true,
      },
    ],
    evaluatedAt: "2026-11-01T06:00:00Z",
    runId: "run-1",
    target: "subscription s1",
    record: { name: "ledger/000000000001.json", seq: 1, hash: "c".repeat(64) },
    snapshotHash: "d".repeat(64),
    frameworks: { nist80053: ["CP-9(1)"] },
    ...overrides,
  };
}

function model(items: EvidenceItem[]): EvidenceReportModel {
  return {
    title: "Compliance evidence report: nist80053",
    framework: "nist80053",
    frameworks: ["nist80053"],
    period: { from: "2026-11-01T00:00:00.000Z", to: null },
    observedPeriod: { first: "2026-11-01T06:00:00Z", last: "2026-11-01T06:00:00Z" },
    scope: null,
    generatedAt: "2026-11-02T00:00:00.000Z",
    ledger: {
      head: { seq: 1, hash: "c".repeat(64) },
      verified: true,
      problems: 0,
      records: 1,
      recordsInPeriod: 1,
      runIds: ["run-1"],
    },
    summary: {
      total: items.length,
      byStatus: { pass: 0, fail: items.length, error: 0, waived: 0, not_applicable: 0 },
      bySeverity: {
        critical: { fail: 0, error: 0, total: 0 },
        high: { fail: items.length, error: 0, total: items.length },
        medium: { fail: 0, error: 0, total: 0 },
        low: { fail: 0, error: 0, total: 0 },
      },
      passRateByFamily: [],
      failingCriticalHigh: items,
    },
    requirements: [
      {
        framework: "nist80053",
        requirement: "CP-9(1)",
        status: "fail",
        controls: [
          {
            controlId: "postgresql-geo-redundant-backup-enabled",
            title: "PostgreSQL flexible server backups are geo-redundant",
            family: "backup-encryption",
            severity: "high",
            status: "fail",
            resources: items,
          },
        ],
      },
    ],
    items,
    exceptions: [],
    trend: { families: [], days: [] },
  };
}

describe("renderOscalAssessmentResults", () => {
  const validate = oscalValidator();

  it("validates against the assessment-results schema", () => {
    const document = JSON.parse(
      renderOscalAssessmentResults(model([item({})]), { vigilVersion: "0.1.0" }),
    );

    expect(validate(document)).toEqual([]);
    expect(document["assessment-results"].metadata["oscal-version"]).toBe(OSCAL_VERSION);
  });

  it("targets the requirement as an objective and links the observation to the ledger record", () => {
    const document = JSON.parse(
      renderOscalAssessmentResults(model([item({})]), { vigilVersion: "0.1.0" }),
    );
    const result = document["assessment-results"].results[0];
    const [finding] = result.findings;
    const [observation] = result.observations;

    expect(finding.target).toEqual({
      type: "objective-id",
      "target-id": "cp-9.1",
      status: { state: "not-satisfied", reason: "fail" },
    });
    expect(finding["related-observations"]).toEqual([{ "observation-uuid": observation.uuid }]);
    expect(observation.methods).toEqual(["TEST"]);
    expect(observation.collected).toBe("2026-11-01T06:00:00.000Z");
    const evidence = observation["relevant-evidence"][0];
    expect(evidence.props).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "ledger-record", value: "ledger/000000000001.json" }),
        expect.objectContaining({ name: "ledger-record-sha256", value: "c".repeat(64) }),
      ]),
    );
    const record = document["assessment-results"]["back-matter"].resources.find(
      (r: { uuid: string }) => `#${r.uuid}` === evidence.href,
    );
    expect(record.rlinks[0].hashes).toEqual([{ algorithm: "SHA-256", value: "c".repeat(64) }]);
  });

  it("is deterministic: the same model gives the same document and UUIDs", () => {
    const a = renderOscalAssessmentResults(model([item({})]), { vigilVersion: "0.1.0" });
    const b = renderOscalAssessmentResults(model([item({})]), { vigilVersion: "0.1.0" });

    expect(a).toBe(b);
  });

  it("keeps estate strings as data: odd resource ids and reasons still validate", () => {
    const odd = item({
      resourceId: '  k8s://c/ns/"><img src=x>/x  ',
      reason: "",
      observed: [],
    });

    const document = JSON.parse(
      renderOscalAssessmentResults(model([odd]), { vigilVersion: "0.1.0" }),
    );

    expect(validate(document)).toEqual([]);
  });
  it("keeps property values and the version on one line, as OSCAL's string type requires", () => {
    const multiline = item({
      resourceType: "Type\nwith a line break",
      runId: "run\r\n2",
      status: "waived",
      waiver: {
        id: "w-1\n",
        justification: "replica\nin another region",
        approver: "Alice\nBob",
        expires: "2027-01-01",
        statusWithoutWaiver: "fail",
      },
    });

    const text = renderOscalAssessmentResults(model([multiline]), { vigilVersion: " " });
    const document = JSON.parse(text);

    expect(validate(document)).toEqual([]);
    expect(document["assessment-results"].metadata.version).toBe("(empty)");
    const props = document["assessment-results"].results[0].observations[0].props;
    expect(props).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "waiver-approver", value: "Alice Bob" }),
        expect.objectContaining({ name: "run-id", value: "run 2" }),
      ]),
    );
  });

  it("percent-encodes ledger record names in back-matter links", () => {
    const odd = item({ record: { name: "ledger/0001 copy#1.json", seq: 1, hash: "c".repeat(64) } });

    const document = JSON.parse(
      renderOscalAssessmentResults(model([odd]), { vigilVersion: "0.1.0" }),
    );

    expect(validate(document)).toEqual([]);
    const hrefs = document["assessment-results"]["back-matter"].resources.flatMap(
      (r: { rlinks?: { href: string }[] }) => (r.rlinks ?? []).map((l) => l.href),
    );
    expect(hrefs).toEqual(["ledger/0001%20copy%231.json"]);
  });

  it.each(["not a date", "3000-01-01T00:00:00Z"])(
    "refuses an evaluation time OSCAL cannot carry (%s) instead of writing it",
    (evaluatedAt) => {
      expect(() =>
        renderOscalAssessmentResults(model([item({ evaluatedAt })]), { vigilVersion: "0.1.0" }),
      ).toThrow(RangeError);
    },
  );
});

describe("contentUuid", () => {
  it("derives a version-5-layout UUID from its parts", () => {
    expect(contentUuid("a", "b")).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(contentUuid("a", "b")).toBe(contentUuid("a", "b"));
    expect(contentUuid("a", "b")).not.toBe(contentUuid("ab"));
  });
});

describe("oscalControlId", () => {
  it.each([
    ["nist80053", "CP-9(1)", "cp-9.1"],
    ["nist80053", "AC-2", "ac-2"],
    ["iso27001", "A.8.13", "A.8.13"],
    ["soc2", "CC6.1", "CC6.1"],
    ["cis", "Kubernetes Benchmark 5.3.2", "Kubernetes_Benchmark_5.3.2"],
    ["iso27001", "8.5", "_8.5"],
  ])("maps %s %s to the token %s", (framework, requirement, id) => {
    expect(oscalControlId(framework, requirement)).toBe(id);
  });
});
