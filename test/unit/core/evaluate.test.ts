import { describe, expect, it } from "vitest";
import { evaluate, evaluateControl, explain, indexWaivers } from "../../../src/core/index.js";
import { at, makeCatalogue, makeControl, pgServer } from "../../support/builders.js";

const NOW = at("2026-11-23T06:00:00Z");

describe("evaluateControl", () => {
  it("fails a non-compliant resource and explains it from the trace", () => {
    const catalogue = makeCatalogue(makeControl());
    const control = catalogue.controls[0]!;

    const finding = evaluateControl(
      control,
      pgServer("odoo-prod-pg", { backup: { geoRedundantBackup: "Disabled" } }),
      { nowMs: NOW },
    );

    expect(finding.status).toBe("fail");
    expect(finding.reason).toBe(
      "properties.backup.geoRedundantBackup is 'Disabled'; expected 'Enabled'",
    );
    expect(finding.trace).toEqual([
      {
        field: "properties.backup.geoRedundantBackup",
        observed: "Disabled",
        operator: "notEquals",
        expected: "Enabled",
        result: true,
      },
    ]);
  });

  it("passes a compliant resource", () => {
    const control = makeCatalogue(makeControl()).controls[0]!;

    const finding = evaluateControl(
      control,
      pgServer("odoo-prod-pg", { backup: { geoRedundantBackup: "Enabled" } }),
      { nowMs: NOW },
    );

    expect(finding.status).toBe("pass");
    expect(finding.reason).toContain("is 'Enabled'");
  });

  it("reports error, not pass, when the observation carries a collection error", () => {
    const control = makeCatalogue(makeControl()).controls[0]!;
    const observation = pgServer(
      "odoo-prod-pg",
      {},
      { error: { message: "AuthorizationFailed", statusCode: 403 } },
    );

    const finding = evaluateControl(control, observation, { nowMs: NOW });

    expect(finding.status).toBe("error");
    expect(finding.reason).toContain("could not be collected");
    expect(finding.reason).toContain("403");
  });

  it("reports error when a field the rule reads lies in a gap", () => {
    const control = makeCatalogue(makeControl()).controls[0]!;
    const observation = pgServer(
      "odoo-prod-pg",
      {},
      { gaps: [{ path: "properties.backup", message: "429 Too Many Requests" }] },
    );

    const finding = evaluateControl(control, observation, { nowMs: NOW });

    expect(finding.status).toBe("error");
    expect(finding.reason).toContain("properties.backup was not collected: 429 Too Many Requests");
  });

  it("keeps a decided status when the gap cannot change the outcome", () => {
    const control = makeCatalogue(
      makeControl({
        policyRule: {
          if: {
            anyOf: [
              { field: "properties.backup.geoRedundantBackup", notEquals: "Enabled" },
              { field: "properties.network.publicNetworkAccess", equals: "Enabled" },
            ],
          },
          then: { effect: "audit" },
        },
      }),
    ).controls[0]!;
    const observation = pgServer(
      "odoo-prod-pg",
      { backup: { geoRedundantBackup: "Disabled" } },
      { gaps: [{ path: "properties.network", message: "timeout" }] },
    );

    const finding = evaluateControl(control, observation, { nowMs: NOW });

    expect(finding.status).toBe("fail");
  });

  it("is not_applicable for another type and when appliesWhen does not hold", () => {
    const control = makeCatalogue(
      makeControl({
        appliesWhen: {
          field: "properties.replicationRole",
          notIn: ["AsyncReplica", "GeoAsyncReplica"],
        },
      }),
    ).controls[0]!;
    const replica = pgServer("odoo-prod-pg-replica", {
      replicationRole: "AsyncReplica",
      backup: { geoRedundantBackup: "Disabled" },
    });

    const wrongType = evaluateControl(
      control,
      { ...replica, type: "Microsoft.Storage/storageAccounts" },
      { nowMs: NOW },
    );
    const outOfScope = evaluateControl(control, replica, { nowMs: NOW });

    expect(wrongType.status).toBe("not_applicable");
    expect(outOfScope.status).toBe("not_applicable");
    expect(outOfScope.reason).toContain("replicationRole");
  });

  it("records effective parameters, with environment overrides by tag", () => {
    const control = makeCatalogue(
      makeControl({
        id: "postgresql-backup-retention-long-enough",
        parameters: {
          minRetentionDays: {
            type: "integer",
            defaultValue: 7,
            description: "Fewest days of backups to keep.",
          },
        },
        policyRule: {
          if: {
            field: "properties.backup.backupRetentionDays",
            less: "[parameters('minRetentionDays')]",
          },
          then: { effect: "audit" },
        },
      }),
    ).controls[0]!;
    const prod = pgServer("odoo-prod-pg", { backup: { backupRetentionDays: 14 } });
    (prod.document as { tags?: Record<string, string> }).tags = { Environment: "Prod" };
    const config = {
      environments: [
        {
          name: "prod",
          match: { tags: { environment: "prod" } },
          parameters: { minRetentionDays: 30 },
        },
      ],
    };

    const finding = evaluateControl(control, prod, { nowMs: NOW, config });
    const staging = evaluateControl(
      control,
      pgServer("odoo-staging-pg", { backup: { backupRetentionDays: 14 } }),
      { nowMs: NOW, config },
    );

    expect(finding.status).toBe("fail");
    expect(finding.parameters).toEqual({ minRetentionDays: 30 });
    expect(finding.environment).toBe("prod");
    expect(staging.status).toBe("pass");
    expect(staging.parameters).toEqual({ minRetentionDays: 7 });
  });

  it("waives a failing finding until the waiver expires, keeping the status it would have had", () => {
    const control = makeCatalogue(makeControl()).controls[0]!;
    const observation = pgServer("odoo-staging-pg", { backup: { geoRedundantBackup: "Disabled" } });
    const waivers = indexWaivers(
      [
        {
          id: "W-1",
          controlId: "postgresql-geo-redundant-backup-enabled",
          resourcePattern: "*/flexibleServers/odoo-staging-*",
          justification: "Staging data is rebuilt from prod nightly.",
          approver: "cio@example.com",
          expires: "2026-12-31T00:00:00Z",
        },
      ],
      "waivers.json",
    );

    const before = evaluateControl(control, observation, { nowMs: NOW, waivers });
    const after = evaluateControl(control, observation, {
      nowMs: at("2027-01-01T00:00:00Z"),
      waivers,
    });
    const other = evaluateControl(
      control,
      pgServer("odoo-prod-pg", { backup: { geoRedundantBackup: "Disabled" } }),
      { nowMs: NOW, waivers },
    );

    expect(before.status).toBe("waived");
    expect(before.waiver).toMatchObject({
      id: "W-1",
      approver: "cio@example.com",
      statusWithoutWaiver: "fail",
    });
    expect(after.status).toBe("fail");
    expect(after.waiver).toBeUndefined();
    expect(other.status).toBe("fail");
  });

  it("does not waive a finding it cannot evaluate", () => {
    const control = makeCatalogue(makeControl()).controls[0]!;
    const waivers = indexWaivers(
      [
        {
          id: "W-2",
          controlId: "postgresql-geo-redundant-backup-enabled",
          resourcePattern: "*",
          justification: "Accepted for the pilot.",
          approver: "cio@example.com",
          expires: "2030-01-01T00:00:00Z",
        },
      ],
      "waivers.json",
    );

    const finding = evaluateControl(
      control,
      pgServer("odoo-prod-pg", {}, { error: { message: "timeout" } }),
      { nowMs: NOW, waivers },
    );

    expect(finding.status).toBe("error");
  });
});

describe("evaluate", () => {
  it("turns invalid observations into error findings instead of throwing", () => {
    const catalogue = makeCatalogue(makeControl());

    const findings = evaluate(
      catalogue,
      [
        null,
        42,
        { id: "x", type: "Microsoft.DBforPostgreSQL/flexibleServers" },
        { type: "Microsoft.DBforPostgreSQL/flexibleServers", document: {} },
      ],
      { nowMs: NOW },
    );

    expect(findings.map((f) => f.status)).toEqual(["error", "error", "error", "error"]);
    expect(findings[2]!.reason).toContain("no 'document' object");
    expect(findings[3]!.reason).toContain("no 'id'");
  });

  it("yields no finding for observation types no control applies to", () => {
    const catalogue = makeCatalogue(makeControl());

    const findings = evaluate(
      catalogue,
      [{ id: "k8s://c/_/core/Namespace/a", type: "Namespace", document: {} }],
      { nowMs: NOW },
    );

    expect(findings).toEqual([]);
  });

  it("is deterministic: the same input and now give the same findings", () => {
    const catalogue = makeCatalogue(makeControl());
    const observations = [
      pgServer("a", { backup: { geoRedundantBackup: "Disabled" } }),
      pgServer("b", {}),
    ];

    const first = evaluate(catalogue, observations, { nowMs: NOW });
    const second = evaluate(catalogue, structuredClone(observations), { nowMs: NOW });

    expect(second).toEqual(first);
  });

  it("skips controls the config disables", () => {
    const catalogue = makeCatalogue(makeControl());

    const findings = evaluate(catalogue, [pgServer("a", {})], {
      nowMs: NOW,
      config: { controls: { "postgresql-geo-redundant-backup-enabled": { enabled: false } } },
    });

    expect(findings).toEqual([]);
  });
});

describe("explain", () => {
  it("states the compliant expectation of a condition under not", () => {
    const reason = explain(
      [
        {
          field: "properties.state",
          observed: "Disabled",
          operator: "equals",
          expected: "Enabled",
          result: false,
          negated: true,
        },
      ],
      true,
    );

    expect(reason).toBe("properties.state is 'Disabled'; expected 'Enabled'");
  });
});
