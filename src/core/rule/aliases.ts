/**
 * Azure Policy aliases vigil understands, mapped to the JSON path they read in the ARM wire
 * document. An alias not in this table is a load error, never a silent miss.
 */

/**
 * Per resource type, the property paths whose alias is `<type>/<path>` and whose wire path is
 * `properties.<path>` (Azure Policy's usual mapping). `[*]` forms are accepted for array paths.
 */
const PROPERTY_ALIASES: Readonly<Record<string, readonly string[]>> = {
  "Microsoft.ContainerService/managedClusters": [
    "disableLocalAccounts",
    "enableRBAC",
    "aadProfile",
    "aadProfile.managed",
    "aadProfile.enableAzureRBAC",
    "aadProfile.adminGroupObjectIDs",
    "aadProfile.adminGroupObjectIDs[*]",
    "networkProfile.networkPlugin",
    "networkProfile.networkPolicy",
    "networkProfile.networkDataplane",
    "apiServerAccessProfile.enablePrivateCluster",
    "apiServerAccessProfile.authorizedIPRanges",
    "apiServerAccessProfile.authorizedIPRanges[*]",
    "agentPoolProfiles",
    "agentPoolProfiles[*]",
    "agentPoolProfiles[*].availabilityZones",
    "agentPoolProfiles[*].availabilityZones[*]",
    "agentPoolProfiles[*].mode",
    "agentPoolProfiles[*].enableNodePublicIP",
    "agentPoolProfiles[*].enableEncryptionAtHost",
  ],
  "Microsoft.DBforPostgreSQL/flexibleServers": [
    "backup.geoRedundantBackup",
    "backup.backupRetentionDays",
    "network.publicNetworkAccess",
    "network.delegatedSubnetResourceId",
    "highAvailability.mode",
    "highAvailability.state",
    "authConfig.activeDirectoryAuth",
    "authConfig.passwordAuth",
    "dataEncryption.type",
    "dataEncryption.primaryKeyURI",
    "dataEncryption.geoBackupKeyURI",
    "replicationRole",
    "version",
  ],
  "Microsoft.Storage/storageAccounts": [
    "supportsHttpsTrafficOnly",
    "minimumTlsVersion",
    "allowBlobPublicAccess",
    "allowSharedKeyAccess",
    "publicNetworkAccess",
    "networkAcls.defaultAction",
    "networkAcls.ipRules",
    "networkAcls.ipRules[*]",
    "networkAcls.ipRules[*].value",
    "encryption.keySource",
    "encryption.requireInfrastructureEncryption",
    "immutableStorageWithVersioning.enabled",
  ],
  "Microsoft.Storage/storageAccounts/blobServices": [
    "deleteRetentionPolicy.enabled",
    "deleteRetentionPolicy.days",
    "containerDeleteRetentionPolicy.enabled",
    "containerDeleteRetentionPolicy.days",
    "isVersioningEnabled",
  ],
  "Microsoft.Storage/storageAccounts/blobServices/containers": [
    "publicAccess",
    "hasImmutabilityPolicy",
    "hasLegalHold",
    "immutableStorageWithVersioning.enabled",
  ],
};

/** Aliases whose wire path is not `properties.<suffix>`. */
const SPECIAL_ALIASES: Readonly<Record<string, string>> = {
  "Microsoft.Storage/storageAccounts/sku.name": "sku.name",
  "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicy.state":
    "properties.immutabilityPolicy.properties.state",
  "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicy.immutabilityPeriodSinceCreationInDays":
    "properties.immutabilityPolicy.properties.immutabilityPeriodSinceCreationInDays",
};

const TABLE: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (const [type, paths] of Object.entries(PROPERTY_ALIASES)) {
    for (const path of paths) map.set(`${type}/${path}`.toLowerCase(), `properties.${path}`);
  }
  for (const [alias, path] of Object.entries(SPECIAL_ALIASES)) map.set(alias.toLowerCase(), path);
  return map;
})();

const ALIAS_SHAPE = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+\/[A-Za-z]/;

/** True when a field string is written as an Azure Policy alias (`Microsoft.X/type/path`). */
export function looksLikeAlias(field: string): boolean {
  return ALIAS_SHAPE.test(field);
}

/** The wire path an alias reads, or `undefined` when vigil does not know the alias. Case-insensitive. */
export function resolveAlias(alias: string): string | undefined {
  return TABLE.get(alias.toLowerCase());
}

/** Every known alias with its path, for docs. */
export function listAliases(): [string, string][] {
  const out: [string, string][] = [];
  for (const [type, paths] of Object.entries(PROPERTY_ALIASES)) {
    for (const path of paths) out.push([`${type}/${path}`, `properties.${path}`]);
  }
  for (const [alias, path] of Object.entries(SPECIAL_ALIASES)) out.push([alias, path]);
  return out;
}
