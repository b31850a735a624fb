import { describe, expect, it } from "vitest";
import { ARM_ROOT_TYPES, affectedRoot, isObservationOfRoot } from "../../../src/core/index.js";

const SUB = "/subscriptions/5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b";
const RG = `${SUB}/resourceGroups/rg-Data`;
const CLUSTER = `${RG}/providers/Microsoft.ContainerService/managedClusters/aks-Prod`;
const SERVER = `${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-Prod`;
const ACCOUNT = `${RG}/providers/Microsoft.Storage/storageAccounts/stbkpprod`;

describe("affectedRoot", () => {
  it.each([
    ["an AKS cluster", CLUSTER, CLUSTER, ARM_ROOT_TYPES[0]],
    ["an AKS agent pool", `${CLUSTER}/agentPools/nodepool1`, CLUSTER, ARM_ROOT_TYPES[0]],
    [
      "an AKS maintenance configuration",
      `${CLUSTER}/maintenanceConfigurations/default`,
      CLUSTER,
      ARM_ROOT_TYPES[0],
    ],
    ["a PostgreSQL server", SERVER, SERVER, ARM_ROOT_TYPES[1]],
    [
      "a PostgreSQL configuration",
      `${SERVER}/configurations/require_secure_transport`,
      SERVER,
      ARM_ROOT_TYPES[1],
    ],
    ["a PostgreSQL firewall rule", `${SERVER}/firewallRules/office`, SERVER, ARM_ROOT_TYPES[1]],
    [
      "a PostgreSQL Entra administrator",
      `${SERVER}/administrators/8d2c1f0e-0000-4000-8000-000000000001`,
      SERVER,
      ARM_ROOT_TYPES[1],
    ],
    ["a PostgreSQL database", `${SERVER}/databases/odoo`, SERVER, ARM_ROOT_TYPES[1]],
    ["a storage account", ACCOUNT, ACCOUNT, ARM_ROOT_TYPES[2]],
    ["the blob service", `${ACCOUNT}/blobServices/default`, ACCOUNT, ARM_ROOT_TYPES[2]],
    [
      "a blob container",
      `${ACCOUNT}/blobServices/default/containers/pg-dumps`,
      ACCOUNT,
      ARM_ROOT_TYPES[2],
    ],
    [
      "a container's immutability policy",
      `${ACCOUNT}/blobServices/default/containers/pg-dumps/immutabilityPolicies/default`,
      ACCOUNT,
      ARM_ROOT_TYPES[2],
    ],
    [
      "a storage private endpoint connection",
      `${ACCOUNT}/privateEndpointConnections/pe-1.1234`,
      ACCOUNT,
      ARM_ROOT_TYPES[2],
    ],
  ])("maps %s to its root", (_case, resourceId, rootId, rootType) => {
    expect(affectedRoot(resourceId)).toEqual({ rootId, rootType });
  });

  it("matches fixed segments, providers and types case-insensitively and keeps the names' casing", () => {
    const id =
      "/SUBSCRIPTIONS/5C1F8A2E-3d4b-4e6f-8a9b-0c1d2e3f4a5b/resourcegroups/RG-Data/providers/" +
      "MICROSOFT.STORAGE/storageaccounts/StBkpProd/BLOBSERVICES/Default/CONTAINERS/PG-Dumps";

    const root = affectedRoot(id);

    expect(root).toEqual({
      rootId:
        "/subscriptions/5C1F8A2E-3d4b-4e6f-8a9b-0c1d2e3f4a5b/resourceGroups/RG-Data/providers/" +
        "Microsoft.Storage/storageAccounts/StBkpProd",
      rootType: "Microsoft.Storage/storageAccounts",
    });
  });

  it("gives the canonical type casing whatever casing the event used", () => {
    const id = `${RG}/providers/microsoft.dbforpostgresql/FLEXIBLESERVERS/psql-Prod/Configurations/x`;

    expect(affectedRoot(id)).toEqual({ rootId: SERVER, rootType: ARM_ROOT_TYPES[1] });
  });

  it("ignores trailing slashes", () => {
    expect(affectedRoot(`${CLUSTER}/agentPools/nodepool1/`)?.rootId).toBe(CLUSTER);
  });

  it("gives the same root for every resource of one account", () => {
    const ids = [
      ACCOUNT,
      `${ACCOUNT}/blobServices/default`,
      `${ACCOUNT}/blobServices/default/containers/a`,
      `${ACCOUNT}/blobServices/default/containers/b`,
    ];

    expect(new Set(ids.map((id) => affectedRoot(id)?.rootId))).toEqual(new Set([ACCOUNT]));
  });

  it("keeps a child named like a fixed segment as a name", () => {
    const id = `${ACCOUNT}/blobServices/default/containers/providers`;

    expect(affectedRoot(id)?.rootId).toBe(ACCOUNT);
  });

  it.each([
    ["a virtual network", `${RG}/providers/Microsoft.Network/virtualNetworks/vnet-1`],
    ["a subnet", `${RG}/providers/Microsoft.Network/virtualNetworks/vnet-1/subnets/aks`],
    ["a key vault", `${RG}/providers/Microsoft.KeyVault/vaults/kv-prod`],
    ["the single-server PostgreSQL type", `${RG}/providers/Microsoft.DBforPostgreSQL/servers/pg`],
    ["a deployment", `${RG}/providers/Microsoft.Resources/deployments/Microsoft.Storage-20261123`],
    ["a file share", `${ACCOUNT}/fileServices/default/shares/odoo-filestore`],
    ["a storage queue service", `${ACCOUNT}/queueServices/default`],
    ["a storage management policy", `${ACCOUNT}/managementPolicies/default`],
    ["a lock on a storage account", `${ACCOUNT}/providers/Microsoft.Authorization/locks/no-delete`],
    [
      "a diagnostic setting on a server",
      `${SERVER}/providers/microsoft.insights/diagnosticSettings/to-law`,
    ],
    ["a resource group", RG],
    ["a subscription", SUB],
    ["a type without a name", `${RG}/providers/Microsoft.Storage/storageAccounts`],
    ["a subscription-level path", `${SUB}/providers/Microsoft.Storage/storageAccounts/stbkpprod`],
    ["an id without the leading slash", CLUSTER.slice(1)],
    [
      "an id with an empty segment",
      `${SUB}/resourceGroups//providers/Microsoft.Storage/storageAccounts/x`,
    ],
    ["an empty child segment", `${ACCOUNT}//containers/x`],
    ["an empty string", ""],
    ["a URL", `https://management.azure.com${CLUSTER}`],
  ])("gives no root for %s", (_case, resourceId) => {
    expect(affectedRoot(resourceId)).toBeUndefined();
  });
});

describe("isObservationOfRoot", () => {
  it.each([
    ["the root itself", ACCOUNT, true],
    ["the root in other casing", ACCOUNT.toUpperCase(), true],
    ["a container", `${ACCOUNT}/blobServices/default/containers/pg-dumps`, true],
    ["the container-list stand-in", `${ACCOUNT}/blobServices/default/containers`, true],
    ["an account whose name extends the root's", `${ACCOUNT}2`, false],
    ["another account", `${RG}/providers/Microsoft.Storage/storageAccounts/other`, false],
    ["a type's list stand-in", `${SUB}/providers/Microsoft.Storage/storageAccounts`, false],
  ])("tells %s", (_case, observationId, expected) => {
    expect(isObservationOfRoot(ACCOUNT, observationId)).toBe(expected);
  });
});
