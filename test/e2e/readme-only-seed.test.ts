/**
 * Acceptance: a seed folder written only from src/emulator/README.md (and the control definitions),
 * by someone who never read the collectors or the emulator, gets the verdicts its author expected
 * from `vigil scan --emulate DIR --format json`.
 *
 * The seed is test/fixtures/seeds/readme-only/ (a fictional Odoo distributor, Brambleworth
 * Provisions); its expected.json was written before the first scan. Each expectation names a control,
 * a substring of the resource id (TLS probe ids are matched by host, without their port) and the
 * status. When several findings of the control contain the substring, the
 * one whose id ends with it is meant (IngressRoute odoo-web versus odoo-web-redirect).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, vigil } from "../support/cli.js";

const SEED = "test/fixtures/seeds/readme-only";

interface Expectation {
  controlId: string;
  resource: string;
  status: "pass" | "fail" | "error" | "waived" | "not_applicable";
  why?: string;
}

interface Finding {
  controlId: string;
  resourceId: string;
  status: string;
  family: string;
  reason: string;
}

interface ScanOutput {
  run: { now: string };
  findings: Finding[];
}

const expectations: Expectation[] = JSON.parse(
  readFileSync(join(ROOT, SEED, "expected.json"), "utf8"),
);
const estate: { now: string } = JSON.parse(readFileSync(join(ROOT, SEED, "estate.json"), "utf8"));

/** The one finding an expectation is about, or a description of why there is not exactly one. */
function findingFor(findings: Finding[], e: Expectation): Finding | string {
  const needle = e.resource.toLowerCase();
  let matches = findings.filter(
    (f) => f.controlId === e.controlId && f.resourceId.toLowerCase().includes(needle),
  );
  if (matches.length > 1) {
    const exact = matches.filter((f) => f.resourceId.toLowerCase().endsWith(needle));
    if (exact.length > 0) matches = exact;
  }
  if (matches.length === 1) return matches[0] as Finding;
  return `${matches.length} findings of ${e.controlId} match '${e.resource}': ${matches
    .map((f) => f.resourceId)
    .join(", ")}`;
}

describe("a seed written only from the emulator README", () => {
  let code: number | null;
  let stderr: string;
  let output: ScanOutput;

  beforeAll(() => {
    const run = vigil([
      "scan",
      "--emulate",
      SEED,
      "--config",
      `${SEED}/vigil.config.json`,
      "--format",
      "json",
      "--fail-on",
      "none",
      "-q",
    ]);
    code = run.code;
    stderr = run.stderr;
    output = JSON.parse(run.stdout) as ScanOutput;
  }, 60_000);

  it("scans cleanly at the seed's now, with no error findings", () => {
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(Date.parse(output.run.now)).toBe(Date.parse(estate.now));
    const errors = output.findings.filter((f) => f.status === "error");
    expect(errors.map((f) => `${f.controlId} ${f.resourceId}: ${f.reason}`)).toEqual([]);
  });

  it("expects at least 20 verdicts covering all seven families", () => {
    expect(expectations.length).toBeGreaterThanOrEqual(20);
    const families = new Set<string>();
    for (const e of expectations) {
      const finding = findingFor(output.findings, e);
      if (typeof finding !== "string") families.add(finding.family);
    }
    expect([...families].sort()).toEqual([
      "backup-age",
      "backup-encryption",
      "failover",
      "immutable-storage",
      "mfa",
      "segmentation",
      "tls",
    ]);
  });

  it.each(expectations.map((e) => [`${e.controlId} on ${e.resource}`, e] as const))(
    "%s",
    (_name, e) => {
      const finding = findingFor(output.findings, e);
      expect(typeof finding === "string" ? finding : "one finding").toBe("one finding");
      if (typeof finding === "string") return;
      expect({ status: finding.status, reason: finding.reason }).toMatchObject({
        status: e.status,
      });
    },
  );
});
