/**
 * The Kubernetes collector: for a `cluster` target, connect (AKS with an Entra token, or a
 * kubeconfig context), list Namespaces, NetworkPolicies, Services, Ingresses and Traefik's CRDs
 * in both API groups, and join them into observations. Never lists Secrets.
 */

import type {
  ClusterTarget,
  CollectionFailure,
  CollectOptions,
  Collector,
  Observation,
  Target,
} from "../../core/index.js";
import { isCollectionError } from "../errors.js";
import type { CollectorSettings } from "../types.js";
import {
  buildKubeConfig,
  type ClusterReader,
  createClusterReader,
  type KubernetesConnection,
  type ResourceKind,
} from "./client.js";
import { buildClusterObservations } from "./observations.js";
import { rememberExposure } from "./tls-targets.js";
import {
  type ClusterResource,
  type ClusterSnapshot,
  type KubeObject,
  type Listed,
  type ListedByGroup,
  TRAEFIK_GROUPS,
  type TraefikClusterConfig,
  type TraefikGroup,
} from "./types.js";

/** An AKS cluster target. */
export type AksClusterTarget = Extract<ClusterTarget, { kind: "aks" }>;

/** What the app gives the Kubernetes collector besides settings. */
export interface KubernetesCollectorOptions {
  /**
   * How to reach a cluster. For AKS the app answers with the server and CA from
   * listClusterUserCredentials; for a kubeconfig context it may answer the file and context, or
   * nothing (the target's own are used).
   * @throws CollectionError when the connection details cannot be read (all of the cluster's
   * observations then carry that error).
   */
  connect(
    cluster: ClusterTarget,
    options: { abortSignal?: AbortSignal },
  ): Promise<KubernetesConnection | undefined>;
  /**
   * The AKS managed cluster's ARM body, for `joined.cluster` on Namespaces (only its `id`, `name`
   * and `properties.networkProfile` are kept). Without it, Namespaces carry no `joined.cluster`.
   * @throws CollectionError when it cannot be read (a gap on `joined.cluster`).
   */
  clusterResource?(
    cluster: AksClusterTarget,
    options: { abortSignal?: AbortSignal },
  ): Promise<unknown>;
  /** Clock for `source.observedAt` (default: the system clock). */
  clock?: () => Date;
}

const NAMESPACES: ResourceKind = {
  group: "",
  version: "v1",
  plural: "namespaces",
  kind: "Namespace",
};
const SERVICES: ResourceKind = { group: "", version: "v1", plural: "services", kind: "Service" };
const NETWORK_POLICIES: ResourceKind = {
  group: "networking.k8s.io",
  version: "v1",
  plural: "networkpolicies",
  kind: "NetworkPolicy",
};
const INGRESSES: ResourceKind = {
  group: "networking.k8s.io",
  version: "v1",
  plural: "ingresses",
  kind: "Ingress",
};
const TRAEFIK_KINDS = {
  ingressRoutes: { plural: "ingressroutes", kind: "IngressRoute" },
  ingressRouteTcps: { plural: "ingressroutetcps", kind: "IngressRouteTCP" },
  tlsOptions: { plural: "tlsoptions", kind: "TLSOption" },
  tlsStores: { plural: "tlsstores", kind: "TLSStore" },
  middlewares: { plural: "middlewares", kind: "Middleware" },
} as const;
type TraefikKindKey = keyof typeof TRAEFIK_KINDS;

function seconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function failureOf(error: unknown, fallbackCode: string): CollectionFailure {
  if (isCollectionError(error)) return error.toFailure();
  return {
    code: fallbackCode,
    message: error instanceof Error ? error.message : String(error),
  };
}

/** The Traefik static configuration vigil's settings give for a cluster. */
export function traefikConfigFor(
  settings: CollectorSettings,
  cluster: string,
): TraefikClusterConfig {
  return {
    entryPoints: settings.traefik.entryPoints[cluster] ?? settings.traefik.entryPoints["*"],
    allowCrossNamespace:
      settings.traefik.allowCrossNamespace[cluster] ??
      settings.traefik.allowCrossNamespace["*"] ??
      false,
  };
}

/** The projection of an ARM managed cluster that `joined.cluster` carries. */
export function clusterResourceOf(body: unknown): ClusterResource | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const b = body as { id?: unknown; name?: unknown; properties?: { networkProfile?: unknown } };
  if (typeof b.id !== "string" || typeof b.name !== "string") return undefined;
  return {
    id: b.id,
    name: b.name,
    properties:
      b.properties?.networkProfile !== undefined
        ? { networkProfile: b.properties.networkProfile }
        : {},
  };
}

/** A snapshot in which every list failed the same way (API unreachable, no credentials). */
function failedSnapshot(cluster: string, failure: CollectionFailure): ClusterSnapshot {
  const failed: Listed = { ok: false, failure };
  const byGroup = { "traefik.io": failed, "traefik.containo.us": failed } as ListedByGroup;
  return {
    cluster,
    namespaces: failed,
    networkPolicies: failed,
    services: failed,
    ingresses: failed,
    ingressRoutes: byGroup,
    ingressRouteTcps: byGroup,
    tlsOptions: byGroup,
    tlsStores: byGroup,
    middlewares: byGroup,
  };
}

/**
 * The Kubernetes collector for `cluster` targets. Observations: Namespace (+ NetworkPolicies,
 * + AKS cluster), `traefik.io/IngressRoute` and `traefik.containo.us/IngressRoute` (+ TLS
 * option, route middlewares, entry points), `networking.k8s.io/Ingress` (+ middlewares, entry
 * points). A list that fails marks what it feeds (`error` or a gap); a Traefik group whose CRDs
 * are not installed (404) simply has no objects. The Services and IngressRouteTCPs read go
 * beside the returned observations for {@link tlsTargetsOf}; when either list fails, an `error`
 * observation of type `Service` or `<group>/IngressRouteTCP` says so, since the TLS endpoints
 * the cluster serves are then unknown.
 */
export function createKubernetesCollector(
  settings: CollectorSettings,
  options: KubernetesCollectorOptions,
): Collector {
  const clock = options.clock ?? (() => new Date());

  async function connectReader(
    cluster: ClusterTarget,
    collectOptions: CollectOptions,
  ): Promise<{ reader: ClusterReader } | { failure: CollectionFailure }> {
    const signal =
      collectOptions.abortSignal !== undefined ? { abortSignal: collectOptions.abortSignal } : {};
    let connection: KubernetesConnection;
    try {
      connection = (await options.connect(cluster, signal)) ?? {};
    } catch (error) {
      if (!isCollectionError(error)) throw error;
      return { failure: error.toFailure() };
    }
    let token: string | undefined;
    if (cluster.kind === "aks" && connection.token === undefined) {
      try {
        const access = await settings.credential.getToken(settings.cloud.aksScope, signal);
        if (access === null) throw new Error("the credential returned no token");
        token = access.token;
      } catch (error) {
        if (collectOptions.abortSignal?.aborted === true) throw error;
        // The message names the scope, never the token.
        return {
          failure: {
            code: "AuthenticationFailed",
            message: `cannot get a token for the AKS server application (${settings.cloud.aksScope}): ${error instanceof Error ? error.message : String(error)}`,
          },
        };
      }
    }
    try {
      const kc = await buildKubeConfig(cluster, connection, {
        ...(token !== undefined ? { token } : {}),
        ...(settings.apiCaPem !== undefined ? { apiCaPem: settings.apiCaPem } : {}),
      });
      return { reader: await createClusterReader(kc, settings.callPolicy, cluster.name) };
    } catch (error) {
      return { failure: failureOf(error, "ConnectionFailed") };
    }
  }

  async function readSnapshot(
    cluster: ClusterTarget,
    reader: ClusterReader,
    collectOptions: CollectOptions,
  ): Promise<ClusterSnapshot> {
    const listOptions = {
      ...(collectOptions.abortSignal !== undefined
        ? { abortSignal: collectOptions.abortSignal }
        : {}),
      ...(collectOptions.deadlineMs !== undefined ? { deadlineMs: collectOptions.deadlineMs } : {}),
    };
    const label = `cluster ${cluster.name}`;
    const list = async (kind: ResourceKind, absentIsEmpty: boolean): Promise<Listed> => {
      try {
        const items = await reader.list(kind, listOptions);
        collectOptions.onProgress?.({
          target: label,
          message: `listed ${items.length} ${kind.group === "" ? "" : `${kind.group}/`}${kind.kind}`,
        });
        return { ok: true, items };
      } catch (error) {
        if (!isCollectionError(error) || collectOptions.abortSignal?.aborted === true) throw error;
        // A CRD group that is not installed answers 404: it has no objects, nothing failed.
        if (absentIsEmpty && error.statusCode === 404) return { ok: true, items: [] };
        return { ok: false, failure: error.toFailure() };
      }
    };
    const traefik = async (key: TraefikKindKey): Promise<ListedByGroup> => {
      const results = await Promise.all(
        TRAEFIK_GROUPS.map((group: TraefikGroup) =>
          list({ group, version: "v1alpha1", ...TRAEFIK_KINDS[key] }, true),
        ),
      );
      return { "traefik.io": results[0] as Listed, "traefik.containo.us": results[1] as Listed };
    };
    const clusterResource = async (): Promise<ClusterSnapshot["clusterResource"]> => {
      if (cluster.kind !== "aks" || options.clusterResource === undefined) return undefined;
      try {
        const body = await options.clusterResource(
          cluster,
          collectOptions.abortSignal !== undefined
            ? { abortSignal: collectOptions.abortSignal }
            : {},
        );
        return { ok: true, value: clusterResourceOf(body) };
      } catch (error) {
        if (!isCollectionError(error)) throw error;
        return { ok: false, failure: error.toFailure() };
      }
    };
    const [
      namespaces,
      networkPolicies,
      services,
      ingresses,
      ingressRoutes,
      ingressRouteTcps,
      tlsOptions,
      tlsStores,
      middlewares,
      resource,
    ] = await Promise.all([
      list(NAMESPACES, false),
      list(NETWORK_POLICIES, false),
      list(SERVICES, false),
      list(INGRESSES, false),
      traefik("ingressRoutes"),
      traefik("ingressRouteTcps"),
      traefik("tlsOptions"),
      traefik("tlsStores"),
      traefik("middlewares"),
      clusterResource(),
    ]);
    return {
      cluster: cluster.name,
      namespaces,
      networkPolicies,
      services,
      ingresses,
      ingressRoutes,
      ingressRouteTcps,
      tlsOptions,
      tlsStores,
      middlewares,
      ...(resource !== undefined ? { clusterResource: resource } : {}),
    };
  }

  return {
    name: "kubernetes",
    handles: (target: Target) => target.kind === "cluster",
    async collect(target: Target, collectOptions: CollectOptions): Promise<Observation[]> {
      if (target.kind !== "cluster") return [];
      const cluster = target.cluster;
      const connected = await connectReader(cluster, collectOptions);
      let snapshot: ClusterSnapshot;
      if ("reader" in connected) {
        try {
          snapshot = await readSnapshot(cluster, connected.reader, collectOptions);
        } finally {
          await connected.reader.close();
        }
      } else snapshot = failedSnapshot(cluster.name, connected.failure);
      const observations = buildClusterObservations(
        snapshot,
        traefikConfigFor(settings, cluster.name),
        seconds(clock()),
      );
      const tcpRoutes: KubeObject[] = [];
      for (const group of TRAEFIK_GROUPS) {
        const listed = snapshot.ingressRouteTcps[group];
        if (listed.ok) tcpRoutes.push(...listed.items);
      }
      rememberExposure(observations, {
        cluster: cluster.name,
        services: snapshot.services.ok ? snapshot.services.items : undefined,
        tcpRoutes,
      });
      return observations;
    },
  };
}
