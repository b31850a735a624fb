/**
 * The demo estate end to end through the emulator and the real collectors: every seeded
 * violation is reported in its family, faults do not change the findings, a permanently failing
 * API turns exactly its controls into `error`, and no Secret is ever requested.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EstateScanResult,
  loadCatalogue,
  loadConfig,
  scanEstate,
} from "../../src/app/index.js";
import { openEmulatedEstate } from "../../src/cli/estate.js";
import { type Finding, parseInstant } from "../../src/core/index.js";
import type { FaultRule, RunningEmulator } from "../../src/emulator/index.js";
import { ROOT, tempDir, vigil } from "../support/cli.js";
import { DEMO_NON_PASSING as EXPECTED_NON_PASSING, stableId } from "../support/demo.js";

const DEMO = join(ROOT, "estates", "demo");
const CONFIG = join(DEMO, "vigil.config.json");

/** Findings as comparable lines, sorted. */
function comparable(findings: readonly Finding[]): string[] {
  return findings
    .map((f) => `${f.controlId} ${stableId(f.resourceId)} ${f.status} ${f.reason}`)
    .sort();
}

function seedFaults(): FaultRule[] {
  const estate = JSON.parse(readFileSync(join(DEMO, "estate.json"), "utf8")) as {
    faults?: FaultRule[];
  };
  return estate.faults ?? [];
}

/** Scan the demo in-process through an emulator started with these options. */
async function scanDemo(
  options: { faults?: FaultRule[]; randomSeed?: number } = {},
): Promise<{ result: EstateScanResult; emulator: RunningEmulator }> {
  const catalogue = loadCatalogue();
  const loaded = loadConfig(catalogue, CONFIG);
  const session = await openEmulatedEstate(DEMO, loaded.config, {
    configPath: CONFIG,
    emulator: options,
  });
  try {
    const result = await scanEstate(catalogue, session.config, session.deps, {
      nowMs: parseInstant(session.now ?? "") ?? 0,
      loaded: { ...loaded, config: session.config },
      vigilVersion: "test",
    });
    return { result, emulator: session.emulator as RunningEmulator };
  } finally {
    await session.close();
  }
}

describe("vigil scan --emulate estates/demo", () => {
  let run: ReturnType<typeof vigil>;
  let findings: Finding[];

  beforeAll(() => {
    run = vigil([
      "scan",
      "--emulate",
      "estates/demo",
      "--config",
      "estates/demo/vigil.config.json",
      "--format",
      "json",
    ]);
    findings = (JSON.parse(run.stdout) as { findings: Finding[] }).findings;
  });

  it("reports exactly the seeded violations, errors and waivers, each in its family", () => {
    const nonPassing = findings
      .filter((f) => f.status !== "pass" && f.status !== "not_applicable")
      .map((f) => `${f.controlId} ${stableId(f.resourceId)} ${f.status}`);

    const expected = EXPECTED_NON_PASSING.map(([controlId, suffix, status]) => {
      const match = nonPassing.find(
        (line) => line.startsWith(`${controlId} `) && line.endsWith(`${suffix} ${status}`),
      );
      return match ?? `MISSING ${controlId} …${suffix} ${status}`;
    });

    expect(expected.filter((line) => line.startsWith("MISSING"))).toEqual([]);
    expect([...nonPassing].sort()).toEqual([...expected].sort());
  });

  it("fails at least one control in every family", () => {
    const families = new Set(findings.filter((f) => f.status === "fail").map((f) => f.family));

    expect([...families].sort()).toEqual(
      [
        "backup-age",
        "backup-encryption",
        "failover",
        "immutable-storage",
        "mfa",
        "segmentation",
        "tls",
      ].sort(),
    );
  });

  it("passes what the demo keeps compliant", () => {
    const status = (controlId: string, suffix: string) =>
      findings.find((f) => f.controlId === controlId && stableId(f.resourceId).endsWith(suffix))
        ?.status;

    expect(status("tls-endpoint-legacy-protocols-refused", "tls://erp.hollinsford.example")).toBe(
      "pass",
    );
    expect(status("postgresql-high-availability-healthy", "/psql-hfw-odoo-prod")).toBe("pass");
    expect(
      status("namespace-default-deny-ingress", "aks-hfw-prod/_/core/Namespace/odoo-prod"),
    ).toBe("pass");
    expect(status("postgresql-latest-backup-fresh", "/psql-hfw-odoo-prod")).toBe("pass");
  });

  it("exits 1 for failing findings at or above high", () => {
    expect(run.code).toBe(1);
  });
});

describe("scanEstate over the emulated demo", () => {
  let clean: { result: EstateScanResult; emulator: RunningEmulator };

  beforeAll(async () => {
    clean = await scanDemo();
  }, 60_000);

  it("never requests a Secret and never writes", () => {
    const requests = clean.emulator.requests;

    expect(requests.length).toBeGreaterThan(50);
    expect(requests.filter((r) => /\/secrets(\/|\?|$)/i.test(r.path))).toEqual([]);
    expect(
      requests.filter(
        (r) =>
          r.method !== "GET" &&
          r.method !== "HEAD" &&
          !/\/listClusterUserCredential\?/i.test(r.path) &&
          !/^\/providers\/Microsoft\.ResourceGraph\/resources\?/i.test(r.path),
      ),
    ).toEqual([]);
  });

  it("finds the same findings when 20% of ARM and Kubernetes calls fail", async () => {
    const storm: FaultRule[] = [
      ...seedFaults(),
      { api: "arm", kind: "throttle", retryAfterMs: 20, retryAfterSeconds: 1, rate: 0.07 },
      { api: "arm", kind: "error", status: 503, rate: 0.07 },
      { api: "arm", kind: "reset", rate: 0.07 },
      { api: "kubernetes", kind: "throttle", retryAfterMs: 20, retryAfterSeconds: 1, rate: 0.07 },
      { api: "kubernetes", kind: "error", status: 503, rate: 0.07 },
      { api: "kubernetes", kind: "reset", rate: 0.07 },
    ];

    const stormy = await scanDemo({ faults: storm, randomSeed: 7 });

    const faulted = stormy.emulator.requests.filter((r) => r.fault !== undefined);
    expect(faulted.length).toBeGreaterThan(10);
    expect(comparable(stormy.result.findings)).toEqual(comparable(clean.result.findings));
  }, 120_000);

  it("turns exactly the Conditional Access control into error when Graph is down", async () => {
    const down = await scanDemo({
      faults: [...seedFaults(), { api: "graph", kind: "error", status: 503 }],
    });

    const changed = comparable(down.result.findings).filter(
      (line) => !comparable(clean.result.findings).includes(line),
    );
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^entra-privileged-roles-require-mfa graph:\/\/\S+ error /);
  }, 120_000);

  it("turns the cluster's controls, and its TLS endpoints, into error when its Kubernetes API is down", async () => {
    const down = await scanDemo({
      faults: [
        ...seedFaults(),
        { api: "kubernetes", path: "^/k8s/aks-hfw-staging/", kind: "error", status: 503 },
      ],
    });

    const staging = down.result.findings.filter((f) =>
      /^(k8s|tls):\/\/aks-hfw-staging\//.test(f.resourceId),
    );
    expect(staging.length).toBeGreaterThan(0);
    expect(
      new Set(staging.filter((f) => f.status !== "not_applicable").map((f) => f.status)),
    ).toEqual(new Set(["error"]));
    expect(staging.some((f) => f.controlId === "tls-endpoint-legacy-protocols-refused")).toBe(true);
    const prodBefore = comparable(
      clean.result.findings.filter(
        (f) =>
          !/aks-hfw-staging/.test(f.resourceId) &&
          !f.resourceId.includes("erp-staging") &&
          !f.resourceId.includes("traefik-staging"),
      ),
    );
    const prodAfter = comparable(
      down.result.findings.filter(
        (f) =>
          !/aks-hfw-staging/.test(f.resourceId) &&
          !f.resourceId.includes("erp-staging") &&
          !f.resourceId.includes("traefik-staging"),
      ),
    );
    expect(prodAfter).toEqual(prodBefore);
  }, 120_000);
});

describe("vigil scan --emulate with an API permanently down", () => {
  let seed: string;

  beforeAll(() => {
    seed = tempDir("vigil-demo-down-");
    cpSync(DEMO, seed, { recursive: true });
    const estatePath = join(seed, "estate.json");
    const estate = JSON.parse(readFileSync(estatePath, "utf8")) as { faults?: FaultRule[] };
    estate.faults = [...(estate.faults ?? []), { api: "graph", kind: "error", status: 503 }];
    writeFileSync(estatePath, JSON.stringify(estate));
  });

  afterAll(() => rmSync(seed, { recursive: true, force: true }));

  it("exits 2 and names the control it could not decide", () => {
    const run = vigil(["scan", "--emulate", seed, "--config", CONFIG, "--format", "json", "-q"]);

    expect(run.code).toBe(2);
    const findings = (JSON.parse(run.stdout) as { findings: Finding[] }).findings;
    expect(
      findings
        .filter((f) => f.status === "error")
        .map((f) => f.controlId)
        .sort(),
    ).toEqual([
      "entra-privileged-roles-require-mfa",
      "storage-backup-account-blob-soft-delete-enabled",
      "storage-backup-account-container-soft-delete-enabled",
      "storage-backup-account-versioning-enabled",
    ]);
    expect(run.stderr).toMatch(/could not be evaluated \(error\): failing closed/);
  });
});

describe("vigil scan --emulate --faults", () => {
  it("refuses a malformed fault file, naming the file and the field", () => {
    const dir = tempDir("vigil-faults-");
    const file = join(dir, "faults.json");
    writeFileSync(file, JSON.stringify([{ api: "arm", kind: "explode" }]));

    const run = vigil(["scan", "--emulate", "estates/demo", "--faults", file, "-q"]);

    rmSync(dir, { recursive: true, force: true });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("faults.json");
    expect(run.stderr).toContain('"faults[0].kind"');
    expect(run.stdout).toBe("");
  });

  it("refuses fault flags without --emulate", () => {
    const run = vigil(["scan", "--snapshot", "estates/demo/snapshot", "--throttle"]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/need --emulate/);
  });
});
