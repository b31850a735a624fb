import { describe, expect, it } from "vitest";
import { listAliases, looksLikeAlias, resolveAlias } from "../../../../src/core/rule/aliases.js";
import { parsePath } from "../../../../src/core/rule/path.js";

describe("resolveAlias", () => {
  it.each([
    ["Microsoft.Storage/storageAccounts/minimumTlsVersion", "properties.minimumTlsVersion"],
    [
      "Microsoft.Storage/storageAccounts/networkAcls.ipRules[*].value",
      "properties.networkAcls.ipRules[*].value",
    ],
    [
      "Microsoft.DBforPostgreSQL/flexibleServers/backup.geoRedundantBackup",
      "properties.backup.geoRedundantBackup",
    ],
    [
      "Microsoft.ContainerService/managedClusters/agentPoolProfiles[*].availabilityZones[*]",
      "properties.agentPoolProfiles[*].availabilityZones[*]",
    ],
  ] as const)(
    "maps %s to %s (documented case: ALIAS basics, an alias maps to a property path)",
    (alias, path) => {
      const got = resolveAlias(alias);

      expect(got).toBe(path);
    },
  );

  it.each([
    "microsoft.storage/storageaccounts/minimumtlsversion",
    "MICROSOFT.STORAGE/STORAGEACCOUNTS/MINIMUMTLSVERSION",
    "Microsoft.Storage/StorageAccounts/MinimumTLSVersion",
  ])("resolves %s whatever its case (INFERRED: alias case is not documented)", (alias) => {
    const got = resolveAlias(alias);

    expect(got).toBe("properties.minimumTlsVersion");
  });

  it.each([
    ["Microsoft.Storage/storageAccounts/sku.name", "sku.name"],
    [
      "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicy.state",
      "properties.immutabilityPolicy.properties.state",
    ],
  ] as const)("maps the special alias %s to %s", (alias, path) => {
    const got = resolveAlias(alias);

    expect(got).toBe(path);
  });

  it.each([
    "Microsoft.Storage/storageAccounts/nope",
    "Microsoft.Storage/storageAccounts",
    "Microsoft.Unknown/things/minimumTlsVersion",
  ])("returns undefined for the unknown alias %s", (alias) => {
    const got = resolveAlias(alias);

    expect(got).toBeUndefined();
  });
});

describe("looksLikeAlias", () => {
  it.each([
    ["Microsoft.Storage/storageAccounts/minimumTlsVersion", true],
    ["microsoft.graph/conditionalAccessPolicies/x", true],
    ["properties.minimumTlsVersion", false],
    ["tags['kubernetes.io/cluster']", false],
    ["name", false],
    ["type", false],
  ] as const)("looksLikeAlias(%j) is %s", (field, want) => {
    const got = looksLikeAlias(field);

    expect(got).toBe(want);
  });
});

describe("listAliases", () => {
  it("lists every alias with a path that resolves back and parses", () => {
    const aliases = listAliases();

    expect(aliases.length).toBeGreaterThan(0);
    for (const [alias, path] of aliases) {
      expect(looksLikeAlias(alias), alias).toBe(true);
      expect(resolveAlias(alias), alias).toBe(path);
      expect(() => parsePath(path), path).not.toThrow();
    }
  });
});
