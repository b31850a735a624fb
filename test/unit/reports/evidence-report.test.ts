import { describe, expect, it } from "vitest";
import { buildEvidenceReport, type EvidenceStore } from "../../../src/app/index.js";
import {
  buildRecord,
  type Catalogue,
  type Finding,
  snapshotContent,
  verifyLedger,
} from "../../../src/core/index.js";
import { renderEvidenceCsv, renderEvidenceJson } from "../../../src/reports/index.js";

const SNAPSHOT_A = snapshotContent({ id: "a" });
const SNAPSHOT_B = snapshotContent({ id: "b" });
const SNAPSHOTS = new Map([SNAPSHOT_A, SNAPSHOT_B].map((s) => [s.hash, s.content]));
const HASH_B = SNAPSHOT_B.hash;
const EMPTY_CATALOGUE: Catalogue = { controls: [], byId: new Map() };

function finding(overrides: Partial<Finding>): Finding {
  return {
    controlId: "postgresql-geo-redundant-backup-enabled",
    controlVersion: 1,
    title: "PostgreSQL flexible server backups are geo-redundant",
    resourceId: "/subscriptions/s1/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-a",
    resourceType: "Microsoft.DBforPostgreSQL/flexibleServers",
    scope: "s1",
    status: "pass",
    severity: "high",
    family: "backup-encryption",
    reason: "properties.backup.geoRedundantBackup is Enabled",
    trace: [
      {
        field: "properties.backup.geoRedundantBackup",
        observed: "Enabled",
        operator: "notEquals",
        expected: "Enabled",
        result: false,
      },
    ],
    parameters: {},
    frameworks: { iso27001: ["A.8.13"], soc2: ["A1.2"], nist80053: ["CP-9(1)"], mcsb: ["BR-1"] },
    evaluatedAt: "2026-11-01T06:00:00.000Z",
    ...overrides,
  };
}

/** An in-memory store holding a real hash chain of one record per run. */
function storeOf(
  runs: { now: string; findings: Finding[]; snapshotHash?: string }[],
): EvidenceStore {
  const blobs: { name: string; content: string }[] = [];
  let previous: { seq: number; hash: string } | undefined;
  for (const [i, run] of runs.entries()) {
    const built = buildRecord(
      {
        runId: `run-${i + 1}`,
        target: "subscription s1",
        trigger: "cli",
        recordedAt: run.now,
        now: run.now,
        vigilVersion: "0.1.0",
        configHash: null,
        controls: [],
        snapshots: [
          {
            observationId: run.findings[0]?.resourceId ?? "x",
            type: "Microsoft.DBforPostgreSQL/flexibleServers",
            hash: run.snapshotHash ?? SNAPSHOT_A.hash,
          },
        ],
        findings: run.findings,
      },
      previous,
    );
    const name = `ledger/${String(built.record.seq).padStart(12, "0")}.json`;
    blobs.push({ name, content: built.content });
    previous = { seq: built.record.seq, hash: built.hash };
  }
  return {
    putSnapshots: () => Promise.reject(new Error("read-only")),
    append: () => Promise.reject(new Error("read-only")),
    applyFindings: () => Promise.reject(new Error("read-only")),
    verify: async () => verifyLedger(blobs, (hash) => SNAPSHOTS.get(hash), {}),
    listRecords: async function* () {
      yield* blobs;
    },
    getSnapshot: async () => undefined,
    listSnapshotNames: async function* () {},
    close: async () => {},
  };
}

describe("buildEvidenceReport", () => {
  it("keeps each control and resource's latest status in the period, with its record and hash", async () => {
    const store = storeOf([
      { now: "2026-11-01T06:00:00Z", findings: [finding({ status: "pass" })] },
      {
        now: "2026-11-02T06:00:00Z",
        findings: [finding({ status: "fail", evaluatedAt: "2026-11-02T06:00:00.000Z" })],
        snapshotHash: HASH_B,
      },
      { now: "2026-11-03T06:00:00Z", findings: [finding({ status: "pass" })] },
    ]);

    const model = await buildEvidenceReport(store, EMPTY_CATALOGUE, {
      framework: "iso27001",
      to: "2026-11-02T23:59:59Z",
      generatedAt: "2026-11-04T00:00:00Z",
    });

    expect(model.items).toHaveLength(1);
    const item = model.items[0];
    expect(item?.status).toBe("fail");
    expect(item?.record.name).toBe("ledger/000000000002.json");
    expect(item?.record.seq).toBe(2);
    expect(item?.record.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(item?.snapshotHash).toBe(HASH_B);
    expect(item?.runId).toBe("run-2");
    expect(item?.observed[0]?.observed).toBe("Enabled");
    expect(model.ledger).toMatchObject({
      verified: true,
      problems: 0,
      records: 3,
      recordsInPeriod: 2,
    });
    expect(model.ledger.head?.seq).toBe(3);
  });

  it("groups by the framework's requirement ids and leaves out findings not mapped to it", async () => {
    const store = storeOf([
      {
        now: "2026-11-01T06:00:00Z",
        findings: [
          finding({ status: "fail" }),
          finding({
            controlId: "unmapped-control",
            resourceId: "/subscriptions/s1/x",
            frameworks: { iso27001: [], soc2: ["CC6.1"], nist80053: [], mcsb: [] },
          }),
        ],
      },
    ]);

    const model = await buildEvidenceReport(store, EMPTY_CATALOGUE, {
      framework: "iso27001",
      generatedAt: "2026-11-04T00:00:00Z",
    });

    expect(model.requirements.map((r) => [r.framework, r.requirement, r.status])).toEqual([
      ["iso27001", "A.8.13", "fail"],
    ]);
    expect(model.summary.total).toBe(1);
    expect(model.summary.failingCriticalHigh.map((i) => i.controlId)).toEqual([
      "postgresql-geo-redundant-backup-enabled",
    ]);
  });

  it("lists waived findings as exceptions with approver and expiry, and flags an expired one", async () => {
    const waiver = {
      id: "WVR-1",
      justification: "rebuilt weekly",
      approver: "Head of IT",
      expires: "2026-11-03T00:00:00Z",
      statusWithoutWaiver: "fail" as const,
    };
    const store = storeOf([
      { now: "2026-11-01T06:00:00Z", findings: [finding({ status: "waived", waiver })] },
    ]);

    const model = await buildEvidenceReport(store, EMPTY_CATALOGUE, {
      framework: "all",
      generatedAt: "2026-11-04T00:00:00Z",
    });

    expect(model.exceptions).toEqual([
      expect.objectContaining({
        waiverId: "WVR-1",
        approver: "Head of IT",
        expires: "2026-11-03T00:00:00Z",
        justification: "rebuilt weekly",
        statusWithoutWaiver: ["fail"],
        expired: true,
      }),
    ]);
  });

  it("computes the pass rate per family per day, carrying a day without a run forward", async () => {
    const store = storeOf([
      { now: "2026-11-01T06:00:00Z", findings: [finding({ status: "pass" })] },
      { now: "2026-11-03T06:00:00Z", findings: [finding({ status: "fail" })] },
    ]);

    const model = await buildEvidenceReport(store, EMPTY_CATALOGUE, {
      framework: "all",
      generatedAt: "2026-11-04T00:00:00Z",
    });

    expect(model.trend.days).toEqual([
      { day: "2026-11-01", rates: { "backup-encryption": 1 } },
      { day: "2026-11-02", rates: { "backup-encryption": 1 } },
      { day: "2026-11-03", rates: { "backup-encryption": 0 } },
    ]);
  });

  it("rejects a period whose start is after its end", async () => {
    await expect(
      buildEvidenceReport(storeOf([]), EMPTY_CATALOGUE, {
        framework: "all",
        from: "2026-11-02T00:00:00Z",
        to: "2026-11-01T00:00:00Z",
        generatedAt: "2026-11-04T00:00:00Z",
      }),
    ).rejects.toThrow(RangeError);
  });
});

describe("renderEvidenceCsv", () => {
  it("writes one row per item with its evidence, formula-safe", async () => {
    const store = storeOf([
      {
        now: "2026-11-01T06:00:00Z",
        findings: [finding({ status: "fail", reason: '=HYPERLINK("http://x")' })],
      },
    ]);
    const model = await buildEvidenceReport(store, EMPTY_CATALOGUE, {
      framework: "all",
      generatedAt: "2026-11-04T00:00:00Z",
    });

    const lines = renderEvidenceCsv(model).trimEnd().split("\r\n");

    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain("ledger/000000000001.json");
    expect(lines[1]).toContain(model.items[0]?.record.hash);
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://x"")"`);
  });
});

describe("renderEvidenceJson", () => {
  it("round-trips the model", async () => {
    const model = await buildEvidenceReport(
      storeOf([{ now: "2026-11-01T06:00:00Z", findings: [finding({})] }]),
      EMPTY_CATALOGUE,
      { framework: "all", generatedAt: "2026-11-04T00:00:00Z" },
    );

    expect(JSON.parse(renderEvidenceJson(model))).toEqual(model);
  });
});
