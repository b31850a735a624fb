import { describe, expect, it } from "vitest";
import { configFromEnvironment, InputError, mergeConfig } from "../../../src/core/index.js";

describe("configFromEnvironment", () => {
  it("reads each setting from its VIGIL_ variable in the config's shape", () => {
    const env = {
      VIGIL_TENANT_ID: "11111111-2222-3333-4444-555555555555",
      VIGIL_SUBSCRIPTIONS:
        "aaaaaaaa-0000-0000-0000-000000000001, aaaaaaaa-0000-0000-0000-000000000002",
      VIGIL_TAGS: "environment=prod,owner=erp",
      VIGIL_RESOURCE_GRAPH: "false",
      VIGIL_ACTIVITY_LOG_DAYS: "30",
      VIGIL_DRILL_RECORDS: "sthfwdrills/drill-records/odoo/",
      VIGIL_TLS_TARGETS: "erp.example.com:443,10.0.0.4:8443/portal.example.com@edge",
      VIGIL_TLS_CONNECT_TO: "10.0.0.4:8443=127.0.0.1:9443",
      VIGIL_ARM_ENDPOINT: "https://management.usgovcloudapi.net",
      UNRELATED: "x",
    };

    const { config, sources } = configFromEnvironment(env);

    expect(config).toEqual({
      tenantId: "11111111-2222-3333-4444-555555555555",
      subscriptions: [
        "aaaaaaaa-0000-0000-0000-000000000001",
        "aaaaaaaa-0000-0000-0000-000000000002",
      ],
      tags: { environment: "prod", owner: "erp" },
      resourceGraph: false,
      activityLogDays: 30,
      drillRecords: { account: "sthfwdrills", container: "drill-records", prefix: "odoo/" },
      tls: {
        targets: [
          { host: "erp.example.com", port: 443 },
          { host: "10.0.0.4", port: 8443, sni: "portal.example.com", set: "edge" },
        ],
        connectTo: { "10.0.0.4:8443": "127.0.0.1:9443" },
      },
      endpoints: { arm: "https://management.usgovcloudapi.net" },
    });
    expect(sources.get("/endpoints/arm")).toBe("VIGIL_ARM_ENDPOINT");
  });

  it("reads VIGIL_SUBSCRIPTIONS=all as every visible subscription", () => {
    expect(configFromEnvironment({ VIGIL_SUBSCRIPTIONS: "ALL" }).config.subscriptions).toBe("all");
  });

  it.each([
    ["VIGIL_RESOURCE_GRAPH", "maybe", /VIGIL_RESOURCE_GRAPH.*true or false/],
    ["VIGIL_ACTIVITY_LOG_DAYS", "ninety", /VIGIL_ACTIVITY_LOG_DAYS.*integer/],
    ["VIGIL_TRAEFIK", "{not json", /VIGIL_TRAEFIK.*JSON/],
    ["VIGIL_TLS_TARGETS", "erp.example.com", /VIGIL_TLS_TARGETS.*host:port/],
    ["VIGIL_TAGS", "environment", /VIGIL_TAGS.*key=value/],
    ["VIGIL_TLS_CONNECT_TO", "10.61.4.10:443", /VIGIL_TLS_CONNECT_TO.*key=value/],
  ])("names the variable when %s cannot be read", (variable, value, message) => {
    expect(() => configFromEnvironment({ [variable]: value })).toThrow(InputError);
    expect(() => configFromEnvironment({ [variable]: value })).toThrow(message);
  });
});

describe("mergeConfig", () => {
  it("lets the environment replace a key and one endpoint without dropping the others", () => {
    const file = {
      tenantId: "11111111-2222-3333-4444-555555555555",
      endpoints: { graph: "https://graph.example" },
      parameters: { maxBackupAgeHours: 26 },
    };

    const merged = mergeConfig(file, {
      tenantId: "99999999-2222-3333-4444-555555555555",
      endpoints: { arm: "https://arm.example" },
    });

    expect(merged).toEqual({
      tenantId: "99999999-2222-3333-4444-555555555555",
      endpoints: { graph: "https://graph.example", arm: "https://arm.example" },
      parameters: { maxBackupAgeHours: 26 },
    });
  });
});
