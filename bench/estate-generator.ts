/**
 * A synthetic estate for the sweep benchmark: writes an emulator seed folder (format:
 * src/emulator/README.md) plus a `vigil.config.json` into a fresh OS temp directory.
 *
 * Default size: 20 subscriptions, 1,000 AKS clusters, 5,000 PostgreSQL flexible servers (with
 * backups, the two server parameters the controls read, and a few activity-log events), 5,000
 * storage accounts (blob service properties and 1–3 containers each), and 50 "heavy" Kubernetes
 * clusters with 100 namespaces × 5 Traefik IngressRoutes each. Every AKS cluster has a
 * Kubernetes API (`kubernetes/<cluster>/`): the other 950 are small (system and one application
 * namespace), as a real estate's clusters are all reachable.
 *
 * About one resource in eight carries a violation (public network access, geo-redundant backup
 * off, stale backups, unlocked retention, routes on the plain-HTTP entry point, a TLS 1.0
 * TLSOption, namespaces without default-deny), so evaluation does real work on every family.
 *
 * TLS: each heavy cluster's Traefik Service fronts two live TLS endpoints (`erp.<cluster>…` and
 * `edi.<cluster>…`, one of five clusters still accepting TLS 1.0) in `tls/endpoints.json`; every
 * route names one of those two hosts (routes differ by path), so the probe reaches the
 * emulator's loopback servers through `connectTo` and never the network: 100 endpoints in all.
 * Blob data (for the newest-blob checks) is seeded only for the backup accounts (tag
 * purpose=backup, 5% of accounts) and the drill-record account; other accounts' containers are
 * not backup containers, so the blob controls do not apply to them.
 *
 * Run alone: node --import tsx bench/estate-generator.ts [--scale 0.1] [--out DIR]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createRandom } from "../src/emulator/faults.js";

/** What to generate. */
export interface EstateSize {
  subscriptions: number;
  aksClusters: number;
  postgresServers: number;
  storageAccounts: number;
  /** Clusters with the full namespace and IngressRoute load (a prefix of the AKS clusters). */
  heavyClusters: number;
  namespacesPerCluster: number;
  routesPerNamespace: number;
}

/** The default, large estate. */
export const DEFAULT_SIZE: EstateSize = {
  subscriptions: 20,
  aksClusters: 1000,
  postgresServers: 5000,
  storageAccounts: 5000,
  heavyClusters: 50,
  namespacesPerCluster: 100,
  routesPerNamespace: 5,
};

/** The default size scaled (subscriptions, namespaces and routes per namespace stay as they are). */
export function scaledSize(scale: number, base: EstateSize = DEFAULT_SIZE): EstateSize {
  const at = (n: number) => Math.max(1, Math.round(n * scale));
  return {
    ...base,
    aksClusters: at(base.aksClusters),
    postgresServers: at(base.postgresServers),
    storageAccounts: at(base.storageAccounts),
    heavyClusters: Math.min(at(base.heavyClusters), at(base.aksClusters)),
  };
}

/** What was written, with the counts the benchmark reports against. */
export interface GeneratedEstate {
  dir: string;
  configPath: string;
  now: string;
  size: EstateSize;
  subscriptionIds: string[];
  counts: {
    aksClusters: number;
    postgresServers: number;
    backups: number;
    storageAccounts: number;
    containers: number;
    namespaces: number;
    ingressRoutes: number;
    tlsEndpoints: number;
    activityEvents: number;
    files: number;
  };
  /** Removes the folder. */
  remove(): void;
}

const NOW = "2026-11-23T06:00:00Z";
const NOW_MS = Date.parse(NOW);
const HOUR = 3_600_000;

/** A deterministic version-4-shaped GUID from a number stream. */
function guid(random: () => number): string {
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join("");
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[Math.floor(random() * 4)]}${hex(3)}-${hex(12)}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Writes JSON files below a root, counting them. */
class Writer {
  files = 0;
  private readonly made = new Set<string>();
  constructor(readonly root: string) {}
  json(path: string, body: unknown): void {
    this.text(path, `${JSON.stringify(body)}\n`);
  }
  text(path: string, text: string): void {
    const full = join(this.root, path);
    const folder = dirname(full);
    if (!this.made.has(folder)) {
      mkdirSync(folder, { recursive: true });
      this.made.add(folder);
    }
    writeFileSync(full, text);
    this.files++;
  }
}

/** Kubernetes objects as one YAML stream (JSON documents are YAML). */
function yamlStream(objects: readonly unknown[]): string {
  return objects.map((o) => `---\n${JSON.stringify(o)}\n`).join("");
}

/**
 * Write a synthetic estate into a new temp folder.
 * @param size what to generate (default {@link DEFAULT_SIZE})
 * @param options `dir`: write there instead of a fresh temp folder (it must not exist); `seed`:
 * the PRNG seed (default 7)
 */
export function generateEstate(
  size: EstateSize = DEFAULT_SIZE,
  options: { dir?: string; seed?: number } = {},
): GeneratedEstate {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "vigil-sweep-estate-"));
  mkdirSync(dir, { recursive: true });
  const random = createRandom(options.seed ?? 7);
  const chance = (p: number) => random() < p;
  const w = new Writer(dir);
  const tenantId = guid(random);
  const subscriptionIds = Array.from({ length: size.subscriptions }, () => guid(random));
  const envOf = (s: number) => (s % 4 === 3 ? "staging" : "prod");
  const counts = {
    aksClusters: 0,
    postgresServers: 0,
    backups: 0,
    storageAccounts: 0,
    containers: 0,
    namespaces: 0,
    ingressRoutes: 0,
    tlsEndpoints: 0,
    activityEvents: 0,
    files: 0,
  };
  // Round-robin over subscriptions, so every subscription holds a share of each type.
  const subOf = (i: number) => i % size.subscriptions;
  const rg = (s: number, kind: string) => `rg-${kind}-${envOf(s)}-${String(s).padStart(2, "0")}`;
  const base = (s: number, group: string) =>
    `/subscriptions/${subscriptionIds[s]}/resourceGroups/${group}/providers`;
  const tags = (s: number, extra: Record<string, string> = {}) => ({
    environment: envOf(s),
    workload: "odoo-erp",
    owner: "it-platform",
    ...extra,
  });

  // --- AKS clusters -------------------------------------------------------------------------
  const heavyNames: string[] = [];
  const tlsEndpoints: unknown[] = [];
  for (let i = 0; i < size.aksClusters; i++) {
    const s = subOf(i);
    const name = `aks-${String(i).padStart(4, "0")}`;
    const group = rg(s, `aks${Math.floor(i / size.subscriptions) % 10}`);
    const id = `${base(s, group)}/Microsoft.ContainerService/managedClusters/${name}`;
    const weak = chance(0.12);
    const zones = chance(0.9) ? ["1", "2", "3"] : ["1"];
    w.json(`arm${id}.json`, {
      id,
      name,
      type: "Microsoft.ContainerService/managedClusters",
      location: "uksouth",
      tags: tags(s),
      sku: { name: "Base", tier: "Standard" },
      identity: { type: "SystemAssigned", principalId: guid(random), tenantId },
      properties: {
        provisioningState: "Succeeded",
        powerState: { code: "Running" },
        kubernetesVersion: "1.33.4",
        dnsPrefix: name,
        agentPoolProfiles: [
          {
            name: "system",
            count: 3,
            vmSize: "Standard_D4ds_v5",
            mode: "System",
            type: "VirtualMachineScaleSets",
            availabilityZones: zones,
            osType: "Linux",
            enableNodePublicIP: false,
          },
          {
            name: "odoo",
            count: 3,
            vmSize: "Standard_E8ds_v5",
            mode: "User",
            type: "VirtualMachineScaleSets",
            availabilityZones: zones,
            osType: "Linux",
            enableNodePublicIP: false,
          },
        ],
        enableRBAC: true,
        networkProfile: {
          networkPlugin: "azure",
          networkPluginMode: "overlay",
          ...(weak ? {} : { networkPolicy: "calico" }),
          networkDataplane: "azure",
          loadBalancerSku: "standard",
        },
        aadProfile: { managed: true, enableAzureRBAC: !weak, tenantID: tenantId },
        disableLocalAccounts: !weak,
        apiServerAccessProfile: weak
          ? { enablePrivateCluster: false }
          : { enablePrivateCluster: false, authorizedIPRanges: ["198.51.100.24/32"] },
      },
    });
    counts.aksClusters++;
    const heavy = i < size.heavyClusters;
    if (heavy) heavyNames.push(name);
    w.text(
      `kubernetes/${name}/objects.yaml`,
      yamlStream(heavy ? heavyCluster(name, i) : lightCluster(name)),
    );
  }

  function namespace(name: string, env: string) {
    counts.namespaces++;
    return {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name,
        labels: { "kubernetes.io/metadata.name": name, environment: env },
        creationTimestamp: "2025-03-01T10:00:00Z",
      },
      status: { phase: "Active" },
    };
  }
  function defaultDeny(ns: string) {
    return {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "default-deny-ingress", namespace: ns },
      spec: { podSelector: {}, policyTypes: ["Ingress"] },
    };
  }
  function lightCluster(cluster: string): unknown[] {
    const objects: unknown[] = [namespace("kube-system", "system"), namespace("odoo", "prod")];
    if (!chance(0.1)) objects.push(defaultDeny("odoo"));
    void cluster;
    return objects;
  }
  function heavyCluster(cluster: string, index: number): unknown[] {
    const domain = `${cluster}.bench.example`;
    const erp = `erp.${domain}`;
    const edi = `edi.${domain}`;
    const legacy = index % 5 === 0;
    const objects: unknown[] = [
      namespace("kube-system", "system"),
      namespace("traefik", "system"),
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "traefik", namespace: "traefik" },
        spec: {
          type: "LoadBalancer",
          ports: [
            { name: "web", port: 80, protocol: "TCP", targetPort: "web" },
            { name: "websecure", port: 443, protocol: "TCP", targetPort: "websecure" },
          ],
        },
        status: {
          loadBalancer: {
            ingress: [{ ip: `10.${100 + Math.floor(index / 250)}.${index % 250}.10` }],
          },
        },
      },
      {
        apiVersion: "traefik.io/v1alpha1",
        kind: "TLSOption",
        metadata: { name: "default", namespace: "traefik" },
        spec: { minVersion: "VersionTLS12" },
      },
    ];
    if (index % 10 === 0)
      objects.push({
        apiVersion: "traefik.io/v1alpha1",
        kind: "IngressRoute",
        metadata: { name: "traefik-dashboard", namespace: "traefik" },
        spec: {
          entryPoints: ["websecure"],
          routes: [
            {
              match: `Host(\`${erp}\`) && PathPrefix(\`/dashboard\`)`,
              kind: "Rule",
              services: [{ name: "api@internal", kind: "TraefikService" }],
            },
          ],
          tls: {},
        },
      });
    for (let n = 0; n < size.namespacesPerCluster; n++) {
      const ns = `tenant-${String(n).padStart(3, "0")}`;
      objects.push(namespace(ns, "prod"));
      if (!chance(0.08)) objects.push(defaultDeny(ns));
      const legacyOption = chance(0.05);
      if (legacyOption)
        objects.push({
          apiVersion: "traefik.io/v1alpha1",
          kind: "TLSOption",
          metadata: { name: "legacy-clients", namespace: ns },
          spec: { minVersion: "VersionTLS10" },
        });
      for (let r = 0; r < size.routesPerNamespace; r++) {
        const host = r % 2 === 0 ? erp : edi;
        const plain = chance(0.03);
        counts.ingressRoutes++;
        objects.push({
          apiVersion: "traefik.io/v1alpha1",
          kind: "IngressRoute",
          metadata: {
            name: `route-${r}`,
            namespace: ns,
            labels: { "app.kubernetes.io/managed-by": "argocd" },
          },
          spec: {
            entryPoints: [plain ? "web" : "websecure"],
            routes: [
              {
                match: `Host(\`${host}\`) && PathPrefix(\`/${ns}/${r}\`)`,
                kind: "Rule",
                services: [{ name: "odoo", port: 8069 }],
              },
            ],
            ...(plain
              ? {}
              : {
                  tls: {
                    secretName: `${cluster}-tls`,
                    ...(legacyOption && r === 0 ? { options: { name: "legacy-clients" } } : {}),
                  },
                }),
          },
        });
      }
    }
    for (const [name, host, protocols] of [
      ["erp", erp, ["TLSv1.2", "TLSv1.3"]],
      ["edi", edi, legacy ? ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] : ["TLSv1.2", "TLSv1.3"]],
    ] as const) {
      counts.tlsEndpoints++;
      tlsEndpoints.push({
        name: `${name}-${cluster}`,
        hosts: [host],
        protocols,
        certificate: {
          issuer: "emulator-ca",
          notBefore: "-30d",
          notAfter: index % 7 === 0 ? "+10d" : "+200d",
        },
        hsts: "max-age=31536000; includeSubDomains",
        service: { cluster, namespace: "traefik", name: "traefik" },
      });
    }
    return objects;
  }

  // --- PostgreSQL flexible servers ----------------------------------------------------------
  const serverIds: string[] = [];
  for (let i = 0; i < size.postgresServers; i++) {
    const s = subOf(i);
    const name = `psql-${String(i).padStart(5, "0")}`;
    const group = rg(s, `data${Math.floor(i / size.subscriptions) % 20}`);
    const id = `${base(s, group)}/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
    serverIds.push(id);
    const weak = chance(0.12);
    w.json(`arm${id}.json`, {
      id,
      name,
      type: "Microsoft.DBforPostgreSQL/flexibleServers",
      location: "uksouth",
      tags: tags(s, { role: "odoo-db" }),
      sku: { name: "Standard_D4ds_v5", tier: "GeneralPurpose" },
      properties: {
        version: "16",
        state: "Ready",
        authConfig: {
          activeDirectoryAuth: "Enabled",
          passwordAuth: weak ? "Enabled" : "Disabled",
          tenantId,
        },
        backup: {
          backupRetentionDays: 35,
          geoRedundantBackup: weak || chance(0.05) ? "Disabled" : "Enabled",
        },
        dataEncryption: weak
          ? { type: "SystemManaged" }
          : {
              type: "AzureKeyVault",
              primaryKeyURI: `https://kv-bench-${s}.vault.azure.net/keys/psql-cmk/0123456789abcdef`,
              primaryEncryptionKeyStatus: "Valid",
            },
        highAvailability: chance(0.85)
          ? { mode: "ZoneRedundant", standbyAvailabilityZone: "1", state: "Healthy" }
          : { mode: "Disabled", state: "NotEnabled" },
        network: { publicNetworkAccess: weak ? "Enabled" : "Disabled" },
      },
    });
    counts.postgresServers++;
    const stale = chance(0.06);
    const backups = 2 + Math.floor(random() * 4);
    for (let b = 0; b < backups; b++) {
      const completed = NOW_MS - (stale ? 60 : 3) * HOUR - b * 24 * HOUR;
      const backupName = `backup_${639000000000000000 + i * 10 + b}`;
      w.json(`arm${id}/backups/${backupName}.json`, {
        id: `${id}/backups/${backupName}`,
        name: backupName,
        type: "Microsoft.DBforPostgreSQL/flexibleServers/backups",
        properties: { backupType: "Full", source: "Automatic", completedTime: iso(completed) },
      });
      counts.backups++;
    }
    const insecure = chance(0.06);
    for (const [parameter, value, defaultValue] of [
      ["require_secure_transport", insecure ? "off" : "on", "on"],
      ["ssl_min_protocol_version", insecure ? "TLSv1" : "TLSv1.2", "TLSv1.2"],
    ] as const) {
      w.json(`arm${id}/configurations/${parameter}.json`, {
        id: `${id}/configurations/${parameter}`,
        name: parameter,
        type: "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
        properties: {
          value,
          defaultValue,
          source: value === defaultValue ? "system-default" : "user-override",
        },
      });
    }
  }

  // Activity log: a few restart events per subscription (failover evidence for some servers).
  for (let s = 0; s < size.subscriptions; s++) {
    for (let e = 0; e < 5; e++) {
      const serverId = serverIds[s + e * size.subscriptions];
      if (serverId === undefined) continue;
      const at = NOW_MS - (10 + e * 7) * 24 * HOUR;
      const eventId = guid(random);
      w.json(
        `arm/subscriptions/${subscriptionIds[s]}/providers/Microsoft.Insights/eventtypes/management/values/${iso(at).replace(/[-:.]/g, "")}-${e}.json`,
        {
          caller: "ops@bench.example",
          correlationId: eventId,
          eventDataId: eventId,
          eventName: { value: "EndRequest", localizedValue: "End request" },
          category: { value: "Administrative", localizedValue: "Administrative" },
          eventTimestamp: iso(at),
          id: `${serverId}/events/${eventId}`,
          level: "Informational",
          operationName: {
            value: "Microsoft.DBforPostgreSQL/flexibleServers/restart/action",
            localizedValue: "Restart PostgreSQL Server",
          },
          resourceGroupName: serverId.split("/")[4],
          resourceProviderName: { value: "Microsoft.DBforPostgreSQL" },
          resourceId: serverId,
          status: { value: "Succeeded", localizedValue: "Succeeded" },
          subscriptionId: subscriptionIds[s],
          tenantId,
          properties: {},
        },
      );
      counts.activityEvents++;
    }
  }

  // --- Storage accounts -----------------------------------------------------------------------
  const backupEvery = 20; // 5% of accounts hold backups (and blob data)
  for (let i = 0; i < size.storageAccounts; i++) {
    const s = subOf(i);
    const backup = i % backupEvery === 0;
    const name = `st${backup ? "bkp" : "app"}${String(i).padStart(5, "0")}b${s}`;
    const group = rg(s, backup ? "backup" : `web${Math.floor(i / size.subscriptions) % 20}`);
    const id = `${base(s, group)}/Microsoft.Storage/storageAccounts/${name}`;
    const weak = chance(0.12);
    w.json(`arm${id}.json`, {
      id,
      name,
      type: "Microsoft.Storage/storageAccounts",
      kind: "StorageV2",
      location: "uksouth",
      sku: { name: "Standard_ZRS", tier: "Standard" },
      tags: tags(s, backup ? { purpose: "backup" } : { purpose: "application" }),
      properties: {
        provisioningState: "Succeeded",
        minimumTlsVersion: weak ? "TLS1_0" : "TLS1_2",
        allowBlobPublicAccess: weak,
        publicNetworkAccess: weak ? "Enabled" : "Disabled",
        networkAcls: { bypass: "AzureServices", defaultAction: weak ? "Allow" : "Deny" },
        supportsHttpsTrafficOnly: !weak,
        encryption: {
          services: { blob: { keyType: "Account", enabled: true } },
          keySource: backup && !weak ? "Microsoft.Keyvault" : "Microsoft.Storage",
          requireInfrastructureEncryption: backup && !weak,
        },
        immutableStorageWithVersioning: { enabled: false },
      },
    });
    counts.storageAccounts++;
    w.json(`arm${id}/blobServices/default.json`, {
      id: `${id}/blobServices/default`,
      name: "default",
      type: "Microsoft.Storage/storageAccounts/blobServices",
      properties: {
        deleteRetentionPolicy: { enabled: !weak, days: 30 },
        containerDeleteRetentionPolicy: { enabled: !weak, days: 7 },
        isVersioningEnabled: backup && !weak,
      },
    });
    const containers = backup
      ? ["pg-dumps"]
      : ["assets", "uploads", "exports"].slice(0, 1 + (i % 3));
    for (const container of containers) {
      const locked = backup && !chance(0.2);
      w.json(`arm${id}/blobServices/default/containers/${container}.json`, {
        id: `${id}/blobServices/default/containers/${container}`,
        name: container,
        type: "Microsoft.Storage/storageAccounts/blobServices/containers",
        properties: {
          publicAccess: weak && !backup ? "Blob" : "None",
          leaseStatus: "Unlocked",
          leaseState: "Available",
          deleted: false,
          hasLegalHold: false,
          hasImmutabilityPolicy: backup,
          ...(backup
            ? {
                immutabilityPolicy: {
                  properties: {
                    immutabilityPeriodSinceCreationInDays: 35,
                    state: locked ? "Locked" : "Unlocked",
                    allowProtectedAppendWrites: false,
                  },
                },
              }
            : {}),
        },
      });
      counts.containers++;
      if (backup) {
        // Two dumps; the newest is stale on one backup account in ten.
        const newestAge = chance(0.1) ? "-50h" : "-3h";
        for (const [blob, age] of [
          ["odoo/latest.dump", newestAge],
          ["odoo/previous.dump", "-27h"],
        ] as const) {
          w.text(`blob/${name}/${container}/${blob}`, "PGDMP synthetic\n");
          w.json(`blob/${name}/${container}/${blob}.meta.json`, { lastModified: age });
        }
      }
    }
  }

  // Drill records: a restore and a failover drill for the first few servers.
  const opsAccount = "stvigilbenchops";
  for (let d = 0; d < Math.min(10, serverIds.length); d++) {
    const serverId = serverIds[d] as string;
    const kind = d % 2 === 0 ? "failover" : "restore";
    const started = NOW_MS - (20 + d * 9) * 24 * HOUR;
    const recordId = `drill-${d}-${kind}`;
    w.json(`blob/${opsAccount}/drill-records/${recordId}.json`, {
      schemaVersion: 1,
      id: recordId,
      kind,
      target: { resourceId: serverId, environment: "prod" },
      startedAt: iso(started),
      completedAt: iso(started + 30 * 60_000),
      outcome: "succeeded",
      ...(kind === "failover" ? { failoverMode: "PlannedFailover" } : {}),
      objectives: { rtoMinutes: 30, rpoMinutes: 5 },
      measured: { rtoMinutes: 8, rpoMinutes: 0 },
      operator: "platform on-call",
      ticket: `CHG-${4000 + d}`,
    });
    w.json(`blob/${opsAccount}/drill-records/${recordId}.json.meta.json`, {
      lastModified: iso(started + 30 * 60_000),
    });
  }

  // --- Graph, TLS, estate.json, config ---------------------------------------------------------
  w.json("graph/v1.0/identity/conditionalAccess/policies.json", {
    "@odata.context":
      "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies",
    value: [
      conditionalAccess(random, "Require MFA for admins", "enabled", {
        operator: "OR",
        builtInControls: ["mfa"],
        authenticationStrength: null,
      }),
      conditionalAccess(random, "MFA or compliant device", "enabled", {
        operator: "OR",
        builtInControls: ["mfa", "compliantDevice"],
        authenticationStrength: null,
      }),
    ],
  });
  w.json("tls/endpoints.json", { endpoints: tlsEndpoints });
  w.json("estate.json", {
    tenantId,
    now: NOW,
    subscriptions: subscriptionIds.map((subscriptionId, s) => ({
      subscriptionId,
      displayName: `bench-${envOf(s)}-${String(s).padStart(2, "0")}`,
    })),
    pageSize: 100,
  });
  const configPath = join(dir, "vigil.config.json");
  w.json("vigil.config.json", {
    environments: [
      { name: "prod", match: { tags: { environment: "prod" } } },
      {
        name: "staging",
        match: { tags: { environment: "staging" } },
        parameters: { maxBackupAgeHours: 48 },
      },
    ],
    traefik: {
      entryPoints: {
        web: { tls: false, redirectsToHttps: false },
        websecure: { tls: true },
      },
      allowCrossNamespace: false,
    },
    drillRecords: { account: opsAccount, container: "drill-records", prefix: "" },
    activityLogDays: 90,
  });
  counts.files = w.files;
  return {
    dir,
    configPath,
    now: NOW,
    size,
    subscriptionIds,
    counts,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const PRIVILEGED_ROLES = ["62e90394-69f5-4237-9190-012177145e10"]; // Global Administrator

function conditionalAccess(
  random: () => number,
  displayName: string,
  state: string,
  grantControls: Record<string, unknown>,
) {
  return {
    id: guid(random),
    displayName,
    state,
    sessionControls: null,
    conditions: {
      clientAppTypes: ["all"],
      applications: { includeApplications: ["All"] },
      users: { includeRoles: PRIVILEGED_ROLES, excludeUsers: [] },
    },
    grantControls,
  };
}

// Run alone: generate and print where the estate went (it is kept until removed by hand).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: { scale: { type: "string", default: "1" }, out: { type: "string" } },
  });
  const estate = generateEstate(scaledSize(Number(values.scale)), {
    ...(values.out !== undefined ? { dir: values.out } : {}),
  });
  process.stdout.write(`${JSON.stringify({ dir: estate.dir, counts: estate.counts }, null, 2)}\n`);
}
