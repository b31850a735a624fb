import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadCatalogue } from "../../src/app/index.js";
import { evaluateControl, type Observation, type Status } from "../../src/core/index.js";

// Replays the real upstream wire shapes in ../shared/fixtures (JSON only) through the real engine.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const fixturesDir = path.resolve(repoRoot, "..", "shared", "fixtures");
const catalogue = loadCatalogue();
const nowMs = Date.parse("2026-11-23T06:00:00Z");

const AKS = "Microsoft.ContainerService/managedClusters";
const PG = "Microsoft.DBforPostgreSQL/flexibleServers";
const STORAGE = "Microsoft.Storage/storageAccounts";

const AKS_GET = "azure-rest-api-specs/containerservice/2026-04-01/ManagedClustersGet.json";
const AKS_RBAC =
  "azure-rest-api-specs/containerservice/2026-01-01/ManagedClustersCreate_UpdateWithEnableAzureRBAC.json";
const PG_GET = "azure-rest-api-specs/postgresql/2025-08-01/ServersGet.json";
const PG_VNET = "azure-rest-api-specs/postgresql/2025-08-01/ServersGetWithVnet.json";
const PG_LIST = "azure-rest-api-specs/postgresql/2025-08-01/ServersListBySubscription.json";
const SA_GET = "azure-rest-api-specs/storage/2025-08-01/StorageAccountGetProperties.json";
const SA_CREATE = "azure-rest-api-specs/storage/2025-08-01/StorageAccountCreate.json";
const SA_NO_PUBLIC =
  "azure-rest-api-specs/storage/2026-06-01/StorageAccountCreateDisallowPublicNetworkAccess.json";
const CA_LIST = "msgraph/conditionalaccessroot-list-policies.response.json";

interface ArmBody {
  id: string;
  value?: ArmBody[];
}

interface CaPolicy {
  state: string;
  conditions: { users: object; applications: object };
}

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`the fixture has no item ${index}`);
  return item;
}

function readJson(relative: string): unknown {
  return JSON.parse(readFileSync(path.join(fixturesDir, relative), "utf8"));
}

/** The 200 response body of an x-ms-examples file. */
function armBody(relative: string): ArmBody {
  const example = readJson(relative) as { responses: Record<string, { body: ArmBody }> };
  const ok = example.responses["200"];
  if (ok === undefined) throw new Error(`${relative} has no 200 response`);
  return ok.body;
}

function armObservation(relative: string, type: string): Observation {
  const body = armBody(relative);
  return { id: body.id, type, document: body };
}

function listObservations(relative: string, type: string): Observation[] {
  return (armBody(relative).value ?? []).map((item) => ({ id: item.id, type, document: item }));
}

/** The same real body with some `properties` overridden, to show which field decides the status. */
function withProperties(observation: Observation, patch: Record<string, unknown>): Observation {
  const document = observation.document as { properties: Record<string, unknown> };
  return {
    ...observation,
    document: { ...document, properties: { ...document.properties, ...patch } },
  };
}

function statusOf(controlId: string, observation: Observation): Status {
  const c = catalogue.byId.get(controlId);
  if (c === undefined) throw new Error(`control ${controlId} is not in the catalogue`);
  return evaluateControl(c, observation, { nowMs }).status;
}

describe("evaluateControl on AKS managed cluster wire shapes", () => {
  it(`fails aks-network-policy-enforced for kubenet with no networkPolicy (${AKS_GET})`, () => {
    const observation = armObservation(AKS_GET, AKS);

    const status = statusOf("aks-network-policy-enforced", observation);

    expect(status).toBe("fail");
  });

  it(`passes aks-network-policy-enforced once networkProfile.networkPolicy is calico (${AKS_GET})`, () => {
    const real = armObservation(AKS_GET, AKS);
    const networkProfile = (real.document as { properties: { networkProfile: object } }).properties
      .networkProfile;
    const observation = withProperties(real, {
      networkProfile: { ...networkProfile, networkPolicy: "calico" },
    });

    const status = statusOf("aks-network-policy-enforced", observation);

    expect(status).toBe("pass");
  });

  it.each([
    [AKS_GET, "fail"],
    [AKS_RBAC, "pass"],
  ] as const)("evaluates aks-entra-azure-rbac-enabled on %s as %s", (file, expected) => {
    const observation = armObservation(file, AKS);

    const status = statusOf("aks-entra-azure-rbac-enabled", observation);

    expect(status).toBe(expected);
  });

  it.each([[AKS_GET], [AKS_RBAC]])(
    "fails aks-local-accounts-disabled when disableLocalAccounts is absent (%s)",
    (file) => {
      const observation = armObservation(file, AKS);

      const status = statusOf("aks-local-accounts-disabled", observation);

      expect(status).toBe("fail");
    },
  );

  it(`passes aks-local-accounts-disabled once disableLocalAccounts is true (${AKS_RBAC})`, () => {
    const observation = withProperties(armObservation(AKS_RBAC, AKS), {
      disableLocalAccounts: true,
    });

    const status = statusOf("aks-local-accounts-disabled", observation);

    expect(status).toBe("pass");
  });
});

describe("evaluateControl on PostgreSQL flexible server wire shapes", () => {
  it.each([
    [PG_VNET, "pass"],
    [PG_GET, "fail"],
  ] as const)(
    "evaluates postgresql-public-network-access-disabled on %s as %s",
    (file, expected) => {
      const observation = armObservation(file, PG);

      const status = statusOf("postgresql-public-network-access-disabled", observation);

      expect(status).toBe(expected);
    },
  );

  it.each([
    [PG_VNET, "pass"],
    [PG_GET, "fail"],
  ] as const)("evaluates postgresql-high-availability-healthy on %s as %s", (file, expected) => {
    const observation = armObservation(file, PG);

    const status = statusOf("postgresql-high-availability-healthy", observation);

    expect(status).toBe(expected);
  });

  it(`reads geoRedundantBackup per server in the list response (${PG_LIST})`, () => {
    const observations = listObservations(PG_LIST, PG);

    const statuses = observations.map((o) =>
      statusOf("postgresql-geo-redundant-backup-enabled", o),
    );

    expect(statuses).toEqual(["pass", "pass", "fail", "fail"]);
  });

  it(`passes postgresql-geo-redundant-backup-enabled on a primary with geo backup (${PG_VNET})`, () => {
    const observation = armObservation(PG_VNET, PG);

    const status = statusOf("postgresql-geo-redundant-backup-enabled", observation);

    expect(status).toBe("pass");
  });

  it(`fails postgresql-entra-auth-only on every server, as all keep passwordAuth Enabled (${PG_LIST})`, () => {
    const observations = listObservations(PG_LIST, PG);

    const statuses = observations.map((o) => statusOf("postgresql-entra-auth-only", o));

    expect(statuses).toEqual(["fail", "fail", "fail", "fail"]);
  });

  it(`passes postgresql-entra-auth-only once a listed server's passwordAuth is Disabled (${PG_LIST})`, () => {
    const real = at(listObservations(PG_LIST, PG), 0);
    const authConfig = (real.document as { properties: { authConfig: object } }).properties
      .authConfig;
    const observation = withProperties(real, {
      authConfig: { ...authConfig, passwordAuth: "Disabled" },
    });

    const status = statusOf("postgresql-entra-auth-only", observation);

    expect(status).toBe("pass");
  });
});

describe("evaluateControl on storage account wire shapes", () => {
  it.each([
    [SA_GET, "fail"],
    [SA_CREATE, "pass"],
  ] as const)("evaluates storage-account-https-only-tls12 on %s as %s", (file, expected) => {
    const observation = armObservation(file, STORAGE);

    const status = statusOf("storage-account-https-only-tls12", observation);

    expect(status).toBe(expected);
  });

  it.each([
    [SA_NO_PUBLIC, "pass"],
    [SA_GET, "fail"],
  ] as const)(
    "evaluates storage-account-public-network-restricted on %s as %s",
    (file, expected) => {
      const observation = armObservation(file, STORAGE);

      const status = statusOf("storage-account-public-network-restricted", observation);

      expect(status).toBe(expected);
    },
  );
});

describe("evaluateControl on Microsoft Graph conditional access wire shapes", () => {
  it(`fails entra-privileged-roles-require-mfa when the only MFA policy is disabled and targets no one (${CA_LIST})`, () => {
    const observation: Observation = {
      id: "graph://t/identity/conditionalAccess/policies",
      type: "microsoft.graph/conditionalAccessPolicies",
      document: readJson(CA_LIST),
    };

    const status = statusOf("entra-privileged-roles-require-mfa", observation);

    expect(status).toBe("fail");
  });

  it(`passes entra-privileged-roles-require-mfa once the MFA policy is enabled for all users and apps (${CA_LIST})`, () => {
    const list = readJson(CA_LIST) as { value: CaPolicy[] };
    const mfa = at(list.value, 1);
    const enabled: CaPolicy = {
      ...mfa,
      state: "enabled",
      conditions: {
        ...mfa.conditions,
        users: { ...mfa.conditions.users, includeUsers: ["All"] },
        applications: { ...mfa.conditions.applications, includeApplications: ["All"] },
      },
    };
    const observation: Observation = {
      id: "graph://t/identity/conditionalAccess/policies",
      type: "microsoft.graph/conditionalAccessPolicies",
      document: { ...list, value: [at(list.value, 0), enabled] },
    };

    const status = statusOf("entra-privileged-roles-require-mfa", observation);

    expect(status).toBe("pass");
  });
});
