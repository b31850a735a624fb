import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import AjvDraft04 from "ajv-draft-04";
import { describe, expect, it } from "vitest";
import { evaluate } from "../../../src/core/index.js";
import { findingFingerprint, renderSarif, syntheticUri } from "../../../src/reports/index.js";
import { at, makeCatalogue, makeControl, pgServer } from "../../support/builders.js";

// The SARIF 2.1.0 schema (OASIS final, rtm.5) as shipped by Microsoft's sarif-js-sdk package.
const require = createRequire(import.meta.url);
const schemaPath = require.resolve("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");
const sarifSchema = JSON.parse(readFileSync(schemaPath, "utf8")) as Record<string, unknown>;
// ajv-draft-04 is CommonJS: under NodeNext its default import is the module, holding `default`.
const Ajv = (AjvDraft04 as unknown as { default: typeof AjvDraft04.default }).default;
const validateSarif = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false }).compile(
  sarifSchema,
);

function scanLog() {
  const control = makeControl();
  const catalogue = makeCatalogue(
    control,
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
  const findings = evaluate(
    catalogue,
    [
      pgServer("odoo-prod-pg", {
        backup: { geoRedundantBackup: "Disabled" },
        network: { publicNetworkAccess: "Enabled" },
      }),
      pgServer("odoo <script>", {}, { error: { message: "timeout" } }),
      pgServer("odoo-ok", {
        backup: { geoRedundantBackup: "Enabled" },
        network: { publicNetworkAccess: "Disabled" },
      }),
    ],
    { nowMs: at("2026-11-23T06:00:00Z") },
  );
  const text = renderSarif(findings, {
    vigilVersion: "0.1.0",
    controls: catalogue.controls.map((c) => c.control),
    completedAt: "2026-11-23T06:00:01.0000000Z",
  });
  return {
    findings,
    log: JSON.parse(text) as {
      runs: [
        {
          results: Record<string, unknown>[];
          tool: { driver: { rules: { id: string; defaultConfiguration: { level: string } }[] } };
        },
      ];
    },
  };
}

describe("renderSarif", () => {
  it("produces a log that validates against the SARIF 2.1.0 schema", () => {
    const { log } = scanLog();

    const valid = validateSarif(log);

    expect(validateSarif.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it("turns every control into a rule with a level from its severity", () => {
    const { log } = scanLog();

    const rules = log.runs[0].tool.driver.rules;

    expect(rules.map((r) => [r.id, r.defaultConfiguration.level])).toEqual([
      ["postgresql-geo-redundant-backup-enabled", "error"],
      ["postgresql-public-network-access-disabled", "error"],
    ]);
  });

  it("gives each result a physical location, a logical location and a stable fingerprint", () => {
    const { log } = scanLog();

    const results = log.runs[0].results;

    expect(results).toHaveLength(4);
    for (const r of results) {
      const loc = (
        r.locations as {
          physicalLocation: { artifactLocation: { uri: string } };
          logicalLocations: { fullyQualifiedName: string }[];
        }[]
      )[0]!;
      expect(loc.physicalLocation.artifactLocation.uri).toMatch(/^azure\/[A-Za-z0-9._/-]+$/);
      expect((r.partialFingerprints as Record<string, string>)["vigilFinding/v1"]).toBe(
        findingFingerprint(String(r.ruleId), loc.logicalLocations[0]!.fullyQualifiedName),
      );
    }
    expect(results.filter((r) => r.kind === "review")).toHaveLength(2);
  });
});

describe("syntheticUri", () => {
  it.each([
    [
      "/subscriptions/s1/resourceGroups/rg-erp/providers/Microsoft.Storage/storageAccounts/erpbackups/blobServices/default/containers/pg dumps",
      "azure/s1/rg-erp/Microsoft.Storage/storageAccounts/erpbackups/blobServices/default/containers/pg_dumps",
    ],
    [
      "k8s://aks-prod/odoo-prod/traefik.io/IngressRoute/erp-web",
      "kubernetes/aks-prod/odoo-prod/traefik.io/IngressRoute/erp-web",
    ],
    ["tls://erp.example.com:443", "tls/erp.example.com/443"],
    [
      "graph://tenant-1/identity/conditionalAccess/policies",
      "entra/tenant-1/identity/conditionalAccess/policies",
    ],
  ])("maps %s to a repo-relative path without spaces", (id, uri) => {
    expect(syntheticUri(id)).toBe(uri);
  });

  it("is the same for the same resource and differs between resources", () => {
    expect(findingFingerprint("c", "/subscriptions/A/x")).toBe(
      findingFingerprint("c", "/subscriptions/a/X"),
    );
    expect(findingFingerprint("c", "/subscriptions/a/x")).not.toBe(
      findingFingerprint("c", "/subscriptions/a/y"),
    );
  });
});
