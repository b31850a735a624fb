/**
 * vigil judges its own deployment: the resources infra/main.json declares, as observations in
 * vigil's ARM wire shape, evaluated by the whole catalogue.
 */
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

function scan(options: Parameters<typeof templateObservations>[1]): Finding[] {
  return evaluate(catalogue, templateObservations(main, options), { nowMs: NOW_MS });
}

function byStatus(findings: readonly Finding[], status: Finding["status"]): string[] {
  return findings
    .filter((f) => f.status === status)
    .map((f) => `${f.controlId} ${f.resourceId.split("/").slice(-3).join("/")}`)
    .sort();
}

describe("templateObservations over infra/main.json", () => {
  it("observes both storage accounts and the three retention containers", () => {
    const observations = templateObservations(main, {});

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

  it("fails nothing once the retention policies are locked, as docs/deploy.md tells", () => {
    const findings = scan({ lockRetentionPolicies: true });

    expect(byStatus(findings, "fail")).toEqual([]);
  });

  it("passes the storage controls on vigil's own evidence account", () => {
    const findings = scan({ lockRetentionPolicies: true });

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
    const findings = scan({ lockRetentionPolicies: true });

    expect(new Set(findings.filter((f) => f.status === "error").map((f) => f.controlId))).toEqual(
      new Set(["storage-backup-container-recent-blob"]),
    );
  });

  it("fails immutability until the policies are locked: Unlocked is not WORM", () => {
    const findings = scan({ lockRetentionPolicies: false });

    expect(byStatus(findings, "fail")).toEqual([
      expect.stringMatching(/^storage-backup-container-immutable .*eventgrid-deadletter$/),
      expect.stringMatching(/^storage-backup-container-immutable .*evidence$/),
      expect.stringMatching(/^storage-backup-container-immutable .*outbox$/),
    ]);
  });

  it("fails immutability when the evidence retention is shorter than the control asks", () => {
    const findings = scan({
      lockRetentionPolicies: true,
      parameters: { evidenceRetentionDays: 7 },
    });

    expect(byStatus(findings, "fail")).toEqual([
      expect.stringMatching(/^storage-backup-container-immutable .*evidence$/),
    ]);
  });

  it("takes the backup controls off vigil's account when its backup tag is dropped", () => {
    const findings = scan({ lockRetentionPolicies: true, parameters: { evidenceStorageTags: {} } });

    const passed = new Set(findings.filter((f) => f.status === "pass").map((f) => f.controlId));
    expect(passed.has("storage-backup-account-versioning-enabled")).toBe(false);
    expect(passed.has("storage-account-https-only-tls12")).toBe(true);
  });
});
