/**
 * Discovery over ARM: the subscriptions the credential can read, the AKS clusters of a
 * subscription (targets for the Kubernetes collector), and how to reach one cluster's API server.
 */

import { parse as parseYaml } from "yaml";
import type { ClusterTarget } from "../../core/index.js";
import { runWithCallOptions } from "../call-policy.js";
import { CollectionError } from "../errors.js";
import type { CollectorSettings } from "../types.js";
import {
  API_VERSIONS,
  captureGet,
  captureListPages,
  clientsFor,
  sendTenantGet,
} from "./clients.js";
import { listTopLevel, passesFilters, TOP_LEVEL_TYPES } from "./inventory.js";

/** Options of the discovery calls. */
export interface DiscoveryOptions {
  abortSignal?: AbortSignal;
  /** Epoch milliseconds after which no call starts and no retry waits. */
  deadlineMs?: number;
}

/** A subscription as `GET /subscriptions` lists it. */
export interface SubscriptionInfo {
  subscriptionId: string;
  displayName: string;
  state: string;
  tenantId?: string;
}

/** How to reach an AKS cluster's API server. */
export interface AksConnection {
  server: string;
  /** PEM of the cluster CA (`certificate-authority-data`). */
  caPem: string;
}

function scoped<T>(options: DiscoveryOptions, fn: () => Promise<T>): Promise<T> {
  return runWithCallOptions(
    {
      ...(options.abortSignal !== undefined ? { abortSignal: options.abortSignal } : {}),
      ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
    },
    fn,
  );
}

/**
 * The subscriptions the credential can read (every page of `GET /subscriptions`), enabled or not.
 * @throws CollectionError when the list finally fails
 */
export function listSubscriptions(
  settings: CollectorSettings,
  options: DiscoveryOptions = {},
): Promise<SubscriptionInfo[]> {
  return scoped(options, async () => {
    const found: SubscriptionInfo[] = [];
    let url: string | undefined =
      `${settings.cloud.armEndpoint}/subscriptions?api-version=${API_VERSIONS.subscriptions}`;
    while (url !== undefined) {
      const pageUrl: string = url;
      const [page] = await captureListPages("arm", () =>
        sendTenantGet(settings, pageUrl, options.abortSignal),
      );
      for (const item of (page?.value ?? []) as unknown[]) {
        const record = item as Record<string, unknown>;
        if (typeof record.subscriptionId !== "string") continue;
        found.push({
          subscriptionId: record.subscriptionId,
          displayName: typeof record.displayName === "string" ? record.displayName : "",
          state: typeof record.state === "string" ? record.state : "Unknown",
          ...(typeof record.tenantId === "string" ? { tenantId: record.tenantId } : {}),
        });
      }
      const nextLink = page?.nextLink;
      url = typeof nextLink === "string" && nextLink !== "" ? nextLink : undefined;
    }
    return found;
  });
}

/**
 * The AKS managed clusters of a subscription that pass the resource group and tag filters, as
 * Kubernetes collector targets.
 * @throws CollectionError when the list finally fails
 */
export function listAksClusters(
  settings: CollectorSettings,
  subscriptionId: string,
  options: DiscoveryOptions = {},
): Promise<ClusterTarget[]> {
  return scoped(options, async () => {
    const listing = (
      await listTopLevel(settings, subscriptionId, options, [TOP_LEVEL_TYPES.managedClusters])
    ).get(TOP_LEVEL_TYPES.managedClusters);
    if (listing === undefined) throw new TypeError("the managed cluster listing is missing");
    if (!listing.ok) throw listing.error;
    const bodies = listing.bodies.filter((body) => passesFilters(settings, body));
    rememberClusters(settings, bodies);
    return bodies.map((body) => ({
      kind: "aks" as const,
      name: String(body.name),
      resourceId: String(body.id),
      subscriptionId,
    }));
  });
}

/**
 * The API server URL and CA of an AKS cluster, from its user kubeconfig
 * (`listClusterUserCredential`; the kubeconfig's user entry is ignored: vigil sends its own
 * Entra token). Never the admin credential.
 * @throws CollectionError when the call fails or the kubeconfig names no server
 */
export function getAksConnection(
  settings: CollectorSettings,
  cluster: ClusterTarget,
  options: DiscoveryOptions = {},
): Promise<AksConnection> {
  if (cluster.kind !== "aks") {
    throw new TypeError(`getAksConnection needs an AKS cluster, not ${cluster.kind}`);
  }
  return scoped(options, async () => {
    const [subscriptionId, resourceGroup, name] = managedClusterParts(cluster.resourceId);
    const { containerService } = clientsFor(settings, subscriptionId);
    const body = await captureGet("arm", () =>
      containerService.managedClusters.listClusterUserCredentials(resourceGroup, name, {
        ...(options.abortSignal !== undefined ? { abortSignal: options.abortSignal } : {}),
      }),
    );
    const kubeconfigs = Array.isArray(body.kubeconfigs) ? body.kubeconfigs : [];
    const value = (kubeconfigs[0] as { value?: unknown } | undefined)?.value;
    if (typeof value !== "string") throw noServer(cluster.resourceId, "no kubeconfig returned");
    const kubeconfig = parseKubeconfig(cluster.resourceId, value);
    const entry = kubeconfig.clusters?.[0]?.cluster;
    const server = entry?.server;
    const caData = entry?.["certificate-authority-data"];
    if (typeof server !== "string" || typeof caData !== "string") {
      throw noServer(cluster.resourceId, "the kubeconfig names no server and CA");
    }
    return { server, caPem: Buffer.from(caData, "base64").toString("utf8") };
  });
}

/**
 * The ARM body (wire shape) of an AKS managed cluster, for the `joined.cluster` of its
 * Namespaces.
 * @throws CollectionError when the call fails
 */
export function getAksCluster(
  settings: CollectorSettings,
  cluster: ClusterTarget,
  options: DiscoveryOptions = {},
): Promise<Record<string, unknown>> {
  if (cluster.kind !== "aks") {
    throw new TypeError(`getAksCluster needs an AKS cluster, not ${cluster.kind}`);
  }
  const listed = takeRememberedCluster(settings, cluster.resourceId);
  if (listed !== undefined) return Promise.resolve(listed);
  return scoped(options, async () => {
    const [subscriptionId, resourceGroup, name] = managedClusterParts(cluster.resourceId);
    const { containerService } = clientsFor(settings, subscriptionId);
    return captureGet("arm", () =>
      containerService.managedClusters.get(resourceGroup, name, {
        ...(options.abortSignal !== undefined ? { abortSignal: options.abortSignal } : {}),
      }),
    );
  });
}

/** How long a cluster body read by discovery may stand in for a GET of it. */
const REMEMBERED_CLUSTER_TTL_MS = 10 * 60 * 1000;

const rememberedClusters = new WeakMap<
  CollectorSettings,
  Map<string, { body: Record<string, unknown>; at: number }>
>();

/**
 * Keep the cluster bodies a discovery listing returned, so the collection of each cluster that
 * follows (a sweep plans, then collects) needs no GET of its own: with a thousand clusters those
 * GETs are a thousand reads of the subscriptions' ARM budgets.
 */
function rememberClusters(settings: CollectorSettings, bodies: Record<string, unknown>[]): void {
  let remembered = rememberedClusters.get(settings);
  if (remembered === undefined) {
    remembered = new Map();
    rememberedClusters.set(settings, remembered);
  }
  const at = Date.now();
  for (const [id, entry] of remembered)
    if (at - entry.at > REMEMBERED_CLUSTER_TTL_MS) remembered.delete(id);
  for (const body of bodies)
    if (typeof body.id === "string") remembered.set(body.id.toLowerCase(), { body, at });
}

/** A cluster body remembered from discovery, used once and only while fresh. */
function takeRememberedCluster(
  settings: CollectorSettings,
  resourceId: string,
): Record<string, unknown> | undefined {
  const remembered = rememberedClusters.get(settings);
  const key = resourceId.toLowerCase();
  const entry = remembered?.get(key);
  if (entry === undefined) return undefined;
  remembered?.delete(key);
  return Date.now() - entry.at <= REMEMBERED_CLUSTER_TTL_MS ? entry.body : undefined;
}

function managedClusterParts(resourceId: string): [string, string, string] {
  const match =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerService\/managedClusters\/([^/]+)$/i.exec(
      resourceId,
    );
  if (match === null) throw new TypeError(`not a managed cluster id: ${resourceId}`);
  return [match[1] ?? "", match[2] ?? "", match[3] ?? ""];
}

interface Kubeconfig {
  clusters?: { cluster?: { server?: unknown; "certificate-authority-data"?: unknown } }[];
}

/**
 * The kubeconfig of a cluster's credential, parsed. The YAML parser's errors quote the source
 * lines, which hold credentials: they are replaced by a fixed message, with no cause kept.
 * @throws CollectionError `InvalidKubeconfig` when the YAML does not parse to a mapping
 */
function parseKubeconfig(resourceId: string, base64: string): Kubeconfig {
  let parsed: unknown;
  try {
    parsed = parseYaml(Buffer.from(base64, "base64").toString("utf8"));
  } catch (error) {
    if (!(error instanceof Error) || !/^YAML/.test(error.name)) throw error;
    throw noServer(resourceId, "the kubeconfig is not valid YAML");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw noServer(resourceId, "the kubeconfig is not a YAML mapping");
  }
  return parsed as Kubeconfig;
}

function noServer(resourceId: string, why: string): CollectionError {
  return new CollectionError(`${resourceId}: ${why}`, {
    source: "arm",
    code: "InvalidKubeconfig",
    retryable: false,
  });
}
