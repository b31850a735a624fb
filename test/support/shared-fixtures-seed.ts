/**
 * Builds a temporary emulator seed from the official example responses in `../shared/fixtures`
 * (Azure REST API spec `x-ms-examples`, Microsoft Graph doc extracts, Traefik and kubernetes.io
 * manifests), so conformance tests can run the real collectors and the emulator over real wire
 * shapes. Bodies are written verbatim; where the examples contradict each other (the same `id` in
 * two files, a child whose parent no example has, the placeholder subscription `{subscription-id}`)
 * only the placement is adapted, and every such case is recorded on the placed item.
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

/** `../shared/fixtures` next to the repository: where the official examples are. */
export const SHARED_FIXTURES_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "shared",
  "fixtures",
);

/** A JSON object as ARM returns it (`id` is always present in the examples used). */
export type ArmBody = Record<string, unknown> & { id: string };

/** What a placed ARM body is to the collectors. */
export type ArmRole =
  | "managedCluster"
  | "flexibleServer"
  | "backup"
  | "configuration"
  | "storageAccount"
  | "blobService"
  | "container"
  | "immutabilityPolicy"
  | "activityLogEvent";

/** One example body written into the seed's `arm/` folder. */
export interface PlacedArmBody {
  /** The example file, relative to the fixtures folder. */
  fixture: string;
  /** Where in the file: `responses.200.body` or `responses.200.body.value[<i>]`. */
  pointer: string;
  role: ArmRole;
  /** The ARM path the emulator serves it at (`/subscriptions/…`, no query). */
  path: string;
  subscriptionId: string;
  /** The body as written: equal to the example's unless {@link modified} says otherwise. */
  body: ArmBody;
  /** For children: the path of the resource they belong to. */
  parentPath?: string;
  /** Why the body is not at the path its own `id` names (only set when it is not). */
  placement?: string;
  /** What was changed in the body and why (only set for bodies derived from an example). */
  modified?: string;
}

/** An example list response and the emulator URL that lists the same items. */
export interface ListExample {
  fixture: string;
  api: "arm" | "graph";
  /** Path on the emulator (ARM paths from the root, Graph paths under `/graph`). */
  path: string;
  /** Query parameters the example's request had besides `api-version`. */
  query: Record<string, string>;
  body: { value: unknown[] } & Record<string, unknown>;
}

/** A Kubernetes object taken from a manifest fixture. */
export interface SeededManifest {
  fixture: string;
  /** Zero-based YAML document index in the fixture file. */
  document: number;
  manifest: KubeManifest;
}

/** A Kubernetes object as written in a manifest. */
export interface KubeManifest extends Record<string, unknown> {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string };
}

/** One emulated cluster: its manifests and the AKS managed cluster that leads to it. */
export interface SeededCluster {
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  /** ARM id of the AKS managed cluster body written for it. */
  resourceId: string;
  objects: SeededManifest[];
  /** Objects no fixture has but the cluster needs (each with why), written to `00-synthetic.yaml`. */
  synthetic: { manifest: KubeManifest; reason: string }[];
}

/** Options of {@link buildSharedFixtureSeed}. */
export interface SharedFixtureSeedOptions {
  /** `estate.json` `pageSize`: page every ARM, Graph and Kubernetes collection. */
  pageSize?: number;
}

/** A fixture (or one document of it) left out of the seed, and why. */
export interface SkippedFixture {
  fixture: string;
  document?: number;
  reason: string;
}

/** The built seed: where it is and what went where. */
export interface SharedFixtureSeed {
  dir: string;
  tenantId: string;
  now: string;
  subscriptions: { subscriptionId: string; displayName: string }[];
  arm: PlacedArmBody[];
  lists: ListExample[];
  graph: { fixture: string; path: string; body: Record<string, unknown> }[];
  clusters: SeededCluster[];
  /** Blob containers seeded under `blob/` (empty ones hold only `.keep`). */
  blobs: { account: string; container: string; blobs: { name: string; lastModified: string }[] }[];
  skipped: SkippedFixture[];
  /** Removes the seed folder. */
  remove(): void;
}

/** The tenant of the examples (the AKS and Storage examples' `identity.tenantId`). */
export const FIXTURE_TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const NOW = "2026-11-23T06:00:00Z";

// Subscriptions: those the bodies name, plus one per alternative example of an id already taken
// (each example is its own small estate; the collector builds child URLs from the target
// subscription and the resource group and name of the body's id, so an alternative is reached
// through the subscription it is placed in).
const SUB_AKS_STORAGE = "00000000-0000-0000-0000-000000000000";
const SUB_POSTGRESQL = "ffffffff-ffff-ffff-ffff-ffffffffffff";
const SUB_MONITOR = "089bd33f-d4ec-47fe-8ba5-0753aa5c5b33";
const alternativeSubscription = (base: string, n: number) =>
  `${base.slice(0, 24)}${String(n).padStart(12, "0")}`;
const SUB_CLUSTERS = "00000000-0000-0000-0000-0000000000aa";

const AKS = "azure-rest-api-specs/containerservice";
const PG = "azure-rest-api-specs/postgresql/2025-08-01";
const ST = "azure-rest-api-specs/storage/2025-08-01";
const ACTIVITY = "azure-rest-api-specs/monitor/2015-04-01/GetActivityLogsFiltered.json";
const CA_LIST = "msgraph/conditionalaccessroot-list-policies.response.json";
const CA_GET = "msgraph/conditionalaccesspolicy-get.response.json";

/** Cluster folder (and AKS name) → the manifest fixtures it holds. */
const CLUSTER_FIXTURES: Record<string, string[]> = {
  // The AKS example's own cluster name: its body is used unchanged.
  clustername1: [
    "kubernetes/namespace-dev.yaml",
    "kubernetes/namespace-prod.yaml",
    "kubernetes/network-policy-allow-all-egress-deny-all-ingress.yaml",
    "kubernetes/network-policy-allow-all-ingress.yaml",
    "kubernetes/network-policy-default-deny-all.yaml",
    "kubernetes/network-policy-default-deny-egress.yaml",
    "kubernetes/network-policy-default-deny-ingress.yaml",
    "kubernetes/networkpolicy.yaml",
    "kubernetes/tls-example-ingress.yaml",
    "traefik/integration__fixtures__k8s__03-ingress-https.yml",
    "traefik/integration__fixtures__k8s__03-ingressroute-containous.yml",
    "traefik/integration__fixtures__k8s__03-ingressroute.yml",
    "traefik/integration__fixtures__k8s__03-tlsoption.yml",
    "traefik/integration__fixtures__k8s__03-tlsstore.yml",
    "traefik/integration__fixtures__k8s__04-ingressroute.yml",
    "traefik/docs__content__reference__routing-configuration__http__middlewares__redirectscheme.md__kubernetes-example.yml",
  ],
  // Traefik's provider test fixtures are separate scenarios that reuse names (default/test.route,
  // default/stripprefix): one cluster each.
  "clustername1-crd-resource": [
    "traefik/docs__content__reference__dynamic-configuration__kubernetes-crd-resource.yml",
  ],
  "clustername1-with-bad-tls-options": [
    "traefik/pkg__provider__kubernetes__crd__fixtures__with_bad_tls_options.yml",
  ],
  "clustername1-with-default-tls-options": [
    "traefik/pkg__provider__kubernetes__crd__fixtures__with_default_tls_options.yml",
  ],
  "clustername1-with-default-tls-store": [
    "traefik/pkg__provider__kubernetes__crd__fixtures__with_default_tls_store.yml",
  ],
  "clustername1-with-middleware": [
    "traefik/pkg__provider__kubernetes__crd__fixtures__with_middleware.yml",
  ],
  "clustername1-with-tls": ["traefik/pkg__provider__kubernetes__crd__fixtures__with_tls.yml"],
  "clustername1-with-tls-options": [
    "traefik/pkg__provider__kubernetes__crd__fixtures__with_tls_options.yml",
  ],
};

/** CRD definitions: the emulator serves both Traefik groups without them. */
const CRD_DEFINITION_FIXTURES = [
  "traefik/docs__content__reference__dynamic-configuration__traefik.containo.us_ingressroutes.yaml",
  "traefik/docs__content__reference__dynamic-configuration__traefik.containo.us_middlewares.yaml",
  "traefik/docs__content__reference__dynamic-configuration__traefik.containo.us_tlsoptions.yaml",
  "traefik/docs__content__reference__dynamic-configuration__traefik.containo.us_tlsstores.yaml",
  "traefik/docs__content__reference__dynamic-configuration__traefik.io_ingressroutes.yaml",
  "traefik/docs__content__reference__dynamic-configuration__traefik.io_middlewares.yaml",
  "traefik/docs__content__reference__dynamic-configuration__traefik.io_tlsoptions.yaml",
  "traefik/docs__content__reference__dynamic-configuration__traefik.io_tlsstores.yaml",
];

/** Example files the seed does not use, and why. */
const UNUSED_FIXTURES: SkippedFixture[] = [
  {
    fixture: `${AKS}/2026-01-01/AdvancedNetworkingTransitEncryption.json`,
    reason:
      "a PUT example of a networking option no collector reads; same id as ManagedClustersGet",
  },
  {
    fixture: `${AKS}/2026-01-01/ManagedClustersCreate_PrivateClusterFQDNSubdomain.json`,
    reason: "a PUT example (private cluster FQDN) no control reads; same id as ManagedClustersGet",
  },
  {
    fixture: `${AKS}/2026-01-01/ManagedClustersCreate_PrivateClusterPublicFQDN.json`,
    reason: "a PUT example (private cluster FQDN) no control reads; same id as ManagedClustersGet",
  },
  {
    fixture: `${PG}/AdministratorsMicrosoftEntraGet.json`,
    reason: "Entra administrators are not read by any collector",
  },
  {
    fixture: `${PG}/FirewallRulesListByServer.json`,
    reason: "firewall rules are not read by any collector",
  },
  {
    fixture: `${PG}/ServersCreateWithDataEncryptionEnabled.json`,
    reason: "answers only 202 (long-running PUT): no response body",
  },
  {
    fixture: `${PG}/ServersCreateWithMicrosoftEntraEnabledInYourOwnVirtualNetworkWithoutHighAvailability.json`,
    reason: "answers only 202 (long-running PUT): no response body",
  },
  {
    fixture: `${PG}/ServersRestartWithFailover.json`,
    reason: "a POST action answering 202 without a body; collectors never write",
  },
  {
    fixture: `${ST}/BlobContainersLockImmutabilityPolicy.json`,
    reason:
      "a POST action's answer; the immutability policy GET shape is covered by BlobContainersGetImmutabilityPolicy",
  },
  {
    fixture: "msgraph/conditionalaccessroot-post-policies.example1.request.json",
    reason: "a request body, not a response",
  },
  {
    fixture: "msgraph/conditionalaccessroot-post-policies.example1.response.json",
    reason: "a 201 answer to a POST; the list response carries the same policy shape",
  },
  {
    fixture: "msgraph/conditionalaccessroot-post-policies.example2.response.json",
    reason: "a 201 answer to a POST; the list response carries the same policy shape",
  },
];

function readJson(fixturesDir: string, relative: string): unknown {
  return JSON.parse(readFileSync(join(fixturesDir, relative), "utf8"));
}

/** The 200 response body of an `x-ms-examples` file. */
export function exampleBody(fixturesDir: string, relative: string): Record<string, unknown> {
  const example = readJson(fixturesDir, relative) as {
    responses?: Record<string, { body?: unknown }>;
  };
  const body = example.responses?.["200"]?.body;
  if (typeof body !== "object" || body === null) {
    throw new Error(`${relative} has no 200 response body`);
  }
  return body as Record<string, unknown>;
}

/** The `parameters` of an `x-ms-examples` file. */
export function exampleParameters(fixturesDir: string, relative: string): Record<string, unknown> {
  const example = readJson(fixturesDir, relative) as { parameters?: Record<string, unknown> };
  return example.parameters ?? {};
}

/** The id with its subscription segment replaced. */
function inSubscription(id: string, subscriptionId: string): string {
  return id.replace(/^\/subscriptions\/[^/]+/i, `/subscriptions/${subscriptionId}`);
}

/** The last `count` segments of an id. */
function tail(id: string, count: number): string {
  return `/${id.split("/").slice(-count).join("/")}`;
}

/**
 * Writes the seed into a new folder under the system temp folder and describes it. Call
 * `remove()` when done.
 * @throws {Error} when an expected example file is missing or has no 200 body
 */
export function buildSharedFixtureSeed(
  fixturesDir = SHARED_FIXTURES_DIR,
  options: SharedFixtureSeedOptions = {},
): SharedFixtureSeed {
  const dir = mkdtempSync(join(tmpdir(), "vigil-shared-fixtures-"));
  const arm: PlacedArmBody[] = [];
  const lists: ListExample[] = [];
  const skipped: SkippedFixture[] = [...UNUSED_FIXTURES];
  const subscriptions = new Map<string, string>();

  const sub = (subscriptionId: string, displayName: string) => {
    if (!subscriptions.has(subscriptionId)) subscriptions.set(subscriptionId, displayName);
    return subscriptionId;
  };

  function item(fixture: string, index?: number): { body: ArmBody; pointer: string } {
    const body = exampleBody(fixturesDir, fixture);
    if (index === undefined) return { body: body as ArmBody, pointer: "responses.200.body" };
    const value = body.value as ArmBody[] | undefined;
    const entry = value?.[index];
    if (entry === undefined) throw new Error(`${fixture} has no value[${index}]`);
    return { body: entry, pointer: `responses.200.body.value[${index}]` };
  }

  function place(
    entry: Omit<PlacedArmBody, "body" | "pointer"> & { index?: number; body?: ArmBody },
  ): PlacedArmBody {
    const { index, body: given, ...rest } = entry;
    const found = item(entry.fixture, index);
    const placed: PlacedArmBody = { ...rest, pointer: found.pointer, body: given ?? found.body };
    arm.push(placed);
    const file = join(dir, "arm", `${placed.path}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(placed.body, null, 2)}\n`);
    return placed;
  }

  /** A top-level resource at its own id, moved to `subscriptionId`. */
  function resource(
    fixture: string,
    role: ArmRole,
    subscriptionId: string,
    index?: number,
    why?: string,
  ): PlacedArmBody {
    const { body } = item(fixture, index);
    const path = inSubscription(body.id, subscriptionId);
    const moved = path !== body.id;
    return place({
      fixture,
      role,
      subscriptionId,
      path,
      ...(index !== undefined ? { index } : {}),
      ...(moved
        ? {
            placement:
              why ??
              `in subscription ${subscriptionId}: the id's subscription is not a GUID or is taken by another example of this id`,
          }
        : {}),
    });
  }

  /** A child resource under `parent`, keeping the last `segments` segments of its own id. */
  function child(
    fixture: string,
    role: ArmRole,
    parent: PlacedArmBody,
    segments: number,
    index?: number,
    file?: string,
  ): PlacedArmBody {
    const { body } = item(fixture, index);
    const ownTail = tail(body.id, segments);
    const childTail =
      file === undefined ? ownTail : `${ownTail.slice(0, ownTail.lastIndexOf("/"))}/${file}`;
    const path = `${parent.path}${childTail}`;
    const natural = inSubscription(body.id, parent.subscriptionId).toLowerCase();
    return place({
      fixture,
      role,
      subscriptionId: parent.subscriptionId,
      path,
      parentPath: parent.path,
      ...(index !== undefined ? { index } : {}),
      ...(path.toLowerCase() !== natural
        ? {
            placement:
              file !== undefined
                ? `served as ${file}: the collector reads only the parameters it checks`
                : `under ${parent.fixture} (${parent.pointer}): no example has this child's own parent`,
          }
        : {}),
    });
  }

  // --- AKS managed clusters -------------------------------------------------------------------
  const aksSub = sub(SUB_AKS_STORAGE, "AKS and Storage examples");
  const aksGet = resource(`${AKS}/2026-04-01/ManagedClustersGet.json`, "managedCluster", aksSub);
  const aksListSub = sub(
    alternativeSubscription(SUB_AKS_STORAGE, 1),
    "alternative: ManagedClustersList",
  );
  resource(`${AKS}/2026-01-01/ManagedClustersList.json`, "managedCluster", aksListSub, 0);
  lists.push({
    fixture: `${AKS}/2026-01-01/ManagedClustersList.json`,
    api: "arm",
    path: `/subscriptions/${aksListSub}/providers/Microsoft.ContainerService/managedClusters`,
    query: {},
    body: exampleBody(
      fixturesDir,
      `${AKS}/2026-01-01/ManagedClustersList.json`,
    ) as ListExample["body"],
  });
  const aksRgSub = sub(
    alternativeSubscription(SUB_AKS_STORAGE, 2),
    "alternative: ManagedClustersListByResourceGroup",
  );
  resource(
    `${AKS}/2026-04-01/ManagedClustersListByResourceGroup.json`,
    "managedCluster",
    aksRgSub,
    0,
  );
  for (const version of ["2026-01-01", "2026-04-01"]) {
    const fixture = `${AKS}/${version}/ManagedClustersListByResourceGroup.json`;
    lists.push({
      fixture,
      api: "arm",
      path: `/subscriptions/${aksRgSub}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters`,
      query: {},
      body: exampleBody(fixturesDir, fixture) as ListExample["body"],
    });
  }
  const rbacSub = sub(
    alternativeSubscription(SUB_AKS_STORAGE, 3),
    "alternative: AKS with Azure RBAC",
  );
  resource(
    `${AKS}/2026-01-01/ManagedClustersCreate_UpdateWithEnableAzureRBAC.json`,
    "managedCluster",
    rbacSub,
  );
  skipped.push({
    fixture: `${AKS}/2026-01-01/ManagedClustersGet.json`,
    reason:
      "same body as the 2026-04-01 ManagedClustersGet the collectors request, but for `type` casing",
  });

  // --- PostgreSQL flexible servers ------------------------------------------------------------
  const pgSub = sub(SUB_POSTGRESQL, "PostgreSQL examples: ServersListBySubscription");
  const listed = exampleBody(
    fixturesDir,
    `${PG}/ServersListBySubscription.json`,
  ) as ListExample["body"];
  listed.value.forEach((_, index) => {
    resource(`${PG}/ServersListBySubscription.json`, "flexibleServer", pgSub, index);
  });
  lists.push({
    fixture: `${PG}/ServersListBySubscription.json`,
    api: "arm",
    path: `/subscriptions/${pgSub}/providers/Microsoft.DBforPostgreSQL/flexibleServers`,
    query: {},
    body: listed,
  });
  const pgGetSub = sub(alternativeSubscription(SUB_POSTGRESQL, 1), "alternative: ServersGet");
  const serverGet = resource(`${PG}/ServersGet.json`, "flexibleServer", pgGetSub);
  const backupList = `${PG}/BackupListByServer.json`;
  const backupCount = (exampleBody(fixturesDir, backupList).value as unknown[]).length;
  for (let index = 0; index < backupCount; index += 1) {
    child(backupList, "backup", serverGet, 2, index);
  }
  lists.push({
    fixture: backupList,
    api: "arm",
    path: `${serverGet.path}/backups`,
    query: {},
    body: exampleBody(fixturesDir, backupList) as ListExample["body"],
  });
  child(`${PG}/ConfigurationsGet.json`, "configuration", serverGet, 2);
  child(
    `${PG}/ConfigurationsGet.json`,
    "configuration",
    serverGet,
    2,
    undefined,
    "require_secure_transport",
  );
  const pgVnetSub = sub(
    alternativeSubscription(SUB_POSTGRESQL, 2),
    "alternative: ServersGetWithVnet",
  );
  const serverVnet = resource(`${PG}/ServersGetWithVnet.json`, "flexibleServer", pgVnetSub);
  child(`${PG}/BackupsAutomaticAndOnDemandGet.json`, "backup", serverVnet, 2);
  const pgPeSub = sub(
    alternativeSubscription(SUB_POSTGRESQL, 3),
    "alternative: ServersGetWithPrivateEndpoints",
  );
  resource(`${PG}/ServersGetWithPrivateEndpoints.json`, "flexibleServer", pgPeSub);

  // --- Activity log ---------------------------------------------------------------------------
  const monitorSub = sub(SUB_MONITOR, "Monitor example: GetActivityLogsFiltered");
  const activity = exampleBody(fixturesDir, ACTIVITY) as ListExample["body"];
  const activityParameters = exampleParameters(fixturesDir, ACTIVITY);
  // Also in every PostgreSQL subscription, so the collector's per-server filter runs over a log
  // that holds other resources' events.
  for (const subscriptionId of [monitorSub, pgSub, pgGetSub, pgVnetSub, pgPeSub]) {
    activity.value.forEach((event, index) => {
      const eventDataId = String((event as { eventDataId?: unknown }).eventDataId ?? index);
      const name = `${String(index).padStart(3, "0")}-${eventDataId}`;
      place({
        fixture: ACTIVITY,
        index,
        role: "activityLogEvent",
        subscriptionId,
        path: `/subscriptions/${subscriptionId}/providers/Microsoft.Insights/eventtypes/management/values/${name}`,
        ...(subscriptionId !== monitorSub
          ? { placement: "a copy in a PostgreSQL subscription's activity log" }
          : {}),
      });
    });
  }
  lists.push({
    fixture: ACTIVITY,
    api: "arm",
    path: `/subscriptions/${monitorSub}/providers/Microsoft.Insights/eventtypes/management/values`,
    query: { $filter: String(activityParameters.$filter) },
    body: activity,
  });

  // --- Storage --------------------------------------------------------------------------------
  // The storage examples' ids name the placeholder subscription `{subscription-id}`; their
  // `parameters.subscriptionId` (where a GUID) is the all-zero subscription.
  const stSub = SUB_AKS_STORAGE;
  const accountGet = resource(`${ST}/StorageAccountGetProperties.json`, "storageAccount", stSub);
  child(`${ST}/BlobServicesGet.json`, "blobService", accountGet, 2);
  const containerGet = child(`${ST}/BlobContainersGet.json`, "container", accountGet, 4);
  child(`${ST}/BlobContainersGetImmutabilityPolicy.json`, "immutabilityPolicy", containerGet, 2);
  const accountsByRg = `${ST}/StorageAccountListByResourceGroup.json`;
  const [accountA, accountB] = [0, 1].map((index) =>
    resource(accountsByRg, "storageAccount", stSub, index),
  ) as [PlacedArmBody, PlacedArmBody];
  lists.push({
    fixture: accountsByRg,
    api: "arm",
    path: `/subscriptions/${stSub}/resourceGroups/res6117/providers/Microsoft.Storage/storageAccounts`,
    query: {},
    body: exampleBody(fixturesDir, accountsByRg) as ListExample["body"],
  });
  child(`${ST}/BlobServicesList.json`, "blobService", accountA, 2, 0);
  lists.push({
    fixture: `${ST}/BlobServicesList.json`,
    api: "arm",
    path: `${accountA.path}/blobServices`,
    query: {},
    body: exampleBody(fixturesDir, `${ST}/BlobServicesList.json`) as ListExample["body"],
  });
  const containerList = `${ST}/BlobContainersList.json`;
  const containerCount = (exampleBody(fixturesDir, containerList).value as unknown[]).length;
  for (let index = 0; index < containerCount; index += 1) {
    child(containerList, "container", accountA, 4, index);
  }
  lists.push({
    fixture: containerList,
    api: "arm",
    path: `${accountA.path}/blobServices/default/containers`,
    query: {},
    body: exampleBody(fixturesDir, containerList) as ListExample["body"],
  });
  child(`${ST}/BlobServicesGet.json`, "blobService", accountB, 2);
  child(`${ST}/BlobContainersPutObjectLevelWorm.json`, "container", accountB, 4);

  const cmkSub = aksListSub; // an alternative estate that has no storage account yet
  const accountCmk = resource(
    `${ST}/StorageAccountGetPropertiesCMKEnabled.json`,
    "storageAccount",
    cmkSub,
  );
  child(`${ST}/BlobServicesGet.json`, "blobService", accountCmk, 2);
  child(
    `${ST}/BlobContainersGetWithAllowProtectedAppendWritesAll.json`,
    "container",
    accountCmk,
    4,
  );
  const accountCreate = resource(`${ST}/StorageAccountCreate.json`, "storageAccount", aksRgSub);
  child(`${ST}/BlobServicesGet.json`, "blobService", accountCreate, 2);
  const accountImmutable = resource(
    `${ST}/StorageAccountCreateWithImmutabilityPolicy.json`,
    "storageAccount",
    sub(
      alternativeSubscription(SUB_AKS_STORAGE, 4),
      "alternative: StorageAccountCreateWithImmutabilityPolicy",
    ),
  );
  child(`${ST}/BlobServicesGet.json`, "blobService", accountImmutable, 2);
  const accountNoPublic = resource(
    "azure-rest-api-specs/storage/2026-06-01/StorageAccountCreateDisallowPublicNetworkAccess.json",
    "storageAccount",
    rbacSub,
  );
  child(`${ST}/BlobServicesGet.json`, "blobService", accountNoPublic, 2);

  // --- Blob data: every seeded container exists in Azurite --------------------------------------
  const blobs: SharedFixtureSeed["blobs"] = [];
  const seenContainers = new Set<string>();
  for (const placed of arm) {
    if (placed.role !== "container") continue;
    const match = /\/storageAccounts\/([^/]+)\/blobServices\/default\/containers\/([^/]+)$/i.exec(
      placed.path,
    );
    if (match === null) continue;
    const [, account = "", container = ""] = match;
    const key = `${account}/${container}`;
    if (seenContainers.has(key)) continue;
    seenContainers.add(key);
    const folder = join(dir, "blob", account, container);
    mkdirSync(folder, { recursive: true });
    const entry = { account, container, blobs: [] as { name: string; lastModified: string }[] };
    if (blobs.length === 0) {
      // One container holds a blob so the newest-blob join is seen non-empty.
      mkdirSync(join(folder, "dumps"), { recursive: true });
      writeFileSync(join(folder, "dumps", "base.dump"), "conformance\n");
      writeFileSync(
        join(folder, "dumps", "base.dump.meta.json"),
        `${JSON.stringify({ lastModified: "2026-11-22T06:00:00Z" })}\n`,
      );
      entry.blobs.push({ name: "dumps/base.dump", lastModified: "2026-11-22T06:00:00Z" });
    } else {
      writeFileSync(join(folder, ".keep"), "");
    }
    blobs.push(entry);
  }

  // --- Microsoft Graph ------------------------------------------------------------------------
  const graph: SharedFixtureSeed["graph"] = [];
  const caList = readJson(fixturesDir, CA_LIST) as ListExample["body"];
  const caGet = readJson(fixturesDir, CA_GET) as Record<string, unknown>;
  const graphFiles: [string, string, Record<string, unknown>][] = [
    [CA_LIST, "/v1.0/identity/conditionalAccess/policies", caList],
    [CA_GET, `/v1.0/identity/conditionalAccess/policies/${String(caGet.id)}`, caGet],
  ];
  for (const [fixture, path, body] of graphFiles) {
    const file = join(dir, "graph", `${path}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
    graph.push({ fixture, path, body });
  }
  lists.push({
    fixture: CA_LIST,
    api: "graph",
    path: "/graph/v1.0/identity/conditionalAccess/policies",
    query: {},
    body: caList,
  });

  // --- Kubernetes -----------------------------------------------------------------------------
  const clusters: SeededCluster[] = [];
  for (const fixture of CRD_DEFINITION_FIXTURES) {
    skipped.push({
      fixture,
      reason: "a CustomResourceDefinition: the emulator serves both Traefik groups without it",
    });
  }
  const clusterSub = sub(SUB_CLUSTERS, "AKS clusters for the Traefik scenario fixtures");
  for (const [name, fixtures] of Object.entries(CLUSTER_FIXTURES)) {
    const objects: SeededManifest[] = [];
    for (const fixture of fixtures) {
      const text = readFileSync(join(fixturesDir, fixture), "utf8");
      const kept: string[] = [];
      Array.from(parseAllDocuments(text)).forEach((document, index) => {
        const value = document.toJS() as KubeManifest | null;
        if (value === null || value === undefined) return;
        if (value.kind === "Secret") {
          skipped.push({
            fixture,
            document: index,
            reason: `Secret ${value.metadata?.namespace ?? "default"}/${value.metadata?.name}: vigil never reads Secrets, so none is seeded`,
          });
          return;
        }
        if (value.kind === "CustomResourceDefinition") {
          skipped.push({ fixture, document: index, reason: "a CustomResourceDefinition" });
          return;
        }
        objects.push({ fixture, document: index, manifest: value });
        // JSON is YAML: the object is written exactly as parsed.
        kept.push(JSON.stringify(value, null, 2));
      });
      const file = join(dir, "kubernetes", name, fixture.replace(/^.*\//, ""));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${kept.join("\n---\n")}\n`);
    }
    if (name === aksGet.body.name) {
      // Every API server has the `default` namespace; the emulator invents none, and the
      // kubernetes.io NetworkPolicy examples without a namespace land there (kubectl's default).
      const synthetic = [
        {
          manifest: { apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } },
          reason: "the API server's own default namespace, where namespace-less examples go",
        },
      ];
      writeFileSync(
        join(dir, "kubernetes", name, "00-synthetic.yaml"),
        `${synthetic.map((s) => JSON.stringify(s.manifest)).join("\n---\n")}\n`,
      );
      clusters.push({
        name,
        subscriptionId: aksGet.subscriptionId,
        resourceGroup: "rg1",
        resourceId: aksGet.body.id,
        objects,
        synthetic,
      });
      continue;
    }
    // Another cluster needs a managed cluster of its name for listClusterUserCredential.
    const resourceId = `/subscriptions/${clusterSub}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/${name}`;
    place({
      fixture: aksGet.fixture,
      role: "managedCluster",
      subscriptionId: clusterSub,
      path: resourceId,
      body: { ...aksGet.body, id: resourceId, name },
      modified: `id and name changed to ${name}: a cluster for the manifests of ${fixtures.join(", ")}`,
    });
    clusters.push({
      name,
      subscriptionId: clusterSub,
      resourceGroup: "rg1",
      resourceId,
      objects,
      synthetic: [],
    });
  }

  const estate = {
    tenantId: FIXTURE_TENANT_ID,
    now: NOW,
    subscriptions: [...subscriptions].map(([subscriptionId, displayName]) => ({
      subscriptionId,
      displayName,
    })),
    ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
  };
  writeFileSync(join(dir, "estate.json"), `${JSON.stringify(estate, null, 2)}\n`);

  return {
    dir,
    tenantId: estate.tenantId,
    now: estate.now,
    subscriptions: estate.subscriptions,
    arm,
    lists,
    graph,
    clusters,
    blobs,
    skipped,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A seed with nothing in it, for a test file to declare its tests from when the fixtures are
 * absent (the suite is then skipped by `describe.runIf`, but its body is still collected).
 */
export function emptySharedFixtureSeed(): SharedFixtureSeed {
  return {
    dir: "",
    tenantId: FIXTURE_TENANT_ID,
    now: NOW,
    subscriptions: [],
    arm: [],
    lists: [],
    graph: [],
    clusters: [],
    blobs: [],
    skipped: [],
    remove: () => undefined,
  };
}
