/**
 * vigil judges its own deployment: the resources infra/main.json declares, as observations in
 * vigil's ARM wire shape, evaluated by the whole catalogue.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadCatalogue } from "../../../src/app/index.js";
import { evaluate, type Finding } from "../../../src/core/index.js";
import { readTemplate, templateObservations } from "../../support/template-observations.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const NOW_MS = Date.parse("2026-11-23T06:00:00Z");

const catalogue = loadCatalogue();
const main = readTemplate(join(ROOT, "infra", "main.json"));
const retentionScript = readFileSync(
  join(ROOT, "infra", "scripts", "retention-policies.sh"),
  "utf8",
);

function scan(parameters: Record<string, unknown> = {}): Finding[] {
  return evaluate(catalogue, templateObservations(main, { parameters, retentionScript }), {
    nowMs: NOW_MS,
  });
}

function byStatus(findings: readonly Finding[], status: Finding["status"]): string[] {
  return findings
    .filter((f) => f.status === status)
    .map((f) => `${f.controlId} ${f.resourceId.split("/").slice(-3).join("/")}`)
    .sort();
}

describe("templateObservations over infra/main.json", () => {
  it("observes both storage accounts and the three retention containers", () => {
    const observations = templateObservations(main, { retentionScript });

    const types = observations.map((o) => o.type);
    expect(types.filter((t) => t === "Microsoft.Storage/storageAccounts")).toHaveLength(2);
    expect(
      observations
        .filter((o) => o.type === "Microsoft.Storage/storageAccounts/blobServices/containers")
        .map((o) => (o.document as { name: string }).name)
        .sort(),
    ).toEqual(["app-package", "eventgrid-deadletter", "evidence", "outbox"]);
    expect(types).toContain("Microsoft.Web/sites");
  });

  it("fails nothing as deployed with its defaults: the retention script locks the policies", () => {
    const findings = scan();

    expect(byStatus(findings, "fail")).toEqual([]);
  });

  it("passes the storage controls on vigil's own evidence account", () => {
    const findings = scan();

    const passed = new Set(findings.filter((f) => f.status === "pass").map((f) => f.controlId));
    // The controls that really ran on what the template declares, not only "no failure".
    expect([...passed].sort()).toEqual([
      "storage-account-blob-public-access-disabled",
      "storage-account-https-only-tls12",
      "storage-account-public-network-restricted",
      "storage-backup-account-blob-soft-delete-enabled",
      "storage-backup-account-container-soft-delete-enabled",
      "storage-backup-account-encrypted-with-cmk",
      "storage-backup-account-infrastructure-encryption",
      "storage-backup-account-versioning-enabled",
      "storage-backup-container-immutable",
    ]);
    expect(byStatus(findings, "pass")).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^storage-backup-container-immutable .*containers\/evidence$/),
        expect.stringMatching(/^storage-backup-container-immutable .*containers\/outbox$/),
        expect.stringMatching(
          /^storage-backup-container-immutable .*containers\/eventgrid-deadletter$/,
        ),
      ]),
    );
  });

  it("reports error, not pass, for the newest-blob control a template cannot answer", () => {
    const findings = scan();

    expect(new Set(findings.filter((f) => f.status === "error").map((f) => f.controlId))).toEqual(
      new Set(["storage-backup-container-recent-blob"]),
    );
  });

  it("fails immutability when deployed with retentionPolicyState Unlocked: not WORM", () => {
    const findings = scan({ retentionPolicyState: "Unlocked" });

    expect(byStatus(findings, "fail")).toEqual([
      expect.stringMatching(/^storage-backup-container-immutable .*eventgrid-deadletter$/),
      expect.stringMatching(/^storage-backup-container-immutable .*evidence$/),
      expect.stringMatching(/^storage-backup-container-immutable .*outbox$/),
    ]);
  });

  it("fails immutability when the evidence retention is shorter than the control asks", () => {
    const findings = scan({ evidenceRetentionDays: 7 });

    expect(byStatus(findings, "fail")).toEqual([
      expect.stringMatching(/^storage-backup-container-immutable .*evidence$/),
    ]);
  });

  it("fails immutability when the deployment script is not the committed retention script", () => {
    const findings = evaluate(
      catalogue,
      templateObservations(main, { retentionScript: `${retentionScript}\n# edited` }),
      { nowMs: NOW_MS },
    );

    expect(
      byStatus(findings, "fail").filter((f) => f.startsWith("storage-backup-container-immutable")),
    ).toHaveLength(3);
  });

  it("takes the backup controls off vigil's account when its backup tag is dropped", () => {
    const findings = scan({ evidenceStorageTags: {} });

    const passed = new Set(findings.filter((f) => f.status === "pass").map((f) => f.controlId));
    expect(passed.has("storage-backup-account-versioning-enabled")).toBe(false);
    expect(passed.has("storage-account-https-only-tls12")).toBe(true);
  });
});
