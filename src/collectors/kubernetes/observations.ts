/**
 * Turn one cluster's listed objects into observations (docs/observations.md): Namespaces with
 * their NetworkPolicies and AKS cluster, Traefik IngressRoutes with their TLS options,
 * middlewares and entry points, Ingresses with their middlewares and entry points. Pure: a
 * failed list becomes an `error` observation or a gap on exactly what it feeds. Objects lose
 * their `metadata.managedFields` and last-applied-configuration annotation on the way in.
 */

import type { CollectionFailure, Gap, Observation } from "../../core/index.js";
import {
  annotationList,
  INGRESS_ENTRYPOINTS_ANNOTATION,
  joinEntryPoints,
  type ResolvableObjects,
  resolveIngressMiddlewares,
  resolveRouteMiddlewares,
  resolveTlsOption,
} from "./traefik-joins.js";
import {
  type ClusterSnapshot,
  type KubeObject,
  type Listed,
  type ListedByGroup,
  TRAEFIK_GROUPS,
  type TraefikClusterConfig,
} from "./types.js";

const SOURCE_API = "kubernetes";

/** The annotation `kubectl apply` leaves behind: the whole object again, as JSON. */
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * An object without what the API server and kubectl keep beside it: `metadata.managedFields`
 * and the last-applied-configuration annotation. Both repeat the object's fields (a basicAuth
 * Middleware's users among them), and no control reads them. Everything else is kept as listed.
 */
export function withoutServerCopies(object: KubeObject): KubeObject {
  const metadata = object.metadata;
  if (metadata === undefined) return object;
  const cleaned: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (key === "managedFields") continue;
    if (key === "annotations" && isStringRecord(value)) {
      const { [LAST_APPLIED_ANNOTATION]: _lastApplied, ...kept } = value;
      cleaned[key] = kept;
    } else cleaned[key] = value;
  }
  return { ...object, metadata: cleaned };
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function cleanedListed(listed: Listed): Listed {
  return listed.ok ? { ok: true, items: listed.items.map(withoutServerCopies) } : listed;
}

function cleanedByGroup(listed: ListedByGroup): ListedByGroup {
  return {
    "traefik.io": cleanedListed(listed["traefik.io"]),
    "traefik.containo.us": cleanedListed(listed["traefik.containo.us"]),
  };
}

/** The snapshot with {@link withoutServerCopies} applied to every listed object. */
function cleanedSnapshot(snapshot: ClusterSnapshot): ClusterSnapshot {
  return {
    ...snapshot,
    namespaces: cleanedListed(snapshot.namespaces),
    networkPolicies: cleanedListed(snapshot.networkPolicies),
    services: cleanedListed(snapshot.services),
    ingresses: cleanedListed(snapshot.ingresses),
    ingressRoutes: cleanedByGroup(snapshot.ingressRoutes),
    ingressRouteTcps: cleanedByGroup(snapshot.ingressRouteTcps),
    tlsOptions: cleanedByGroup(snapshot.tlsOptions),
    tlsStores: cleanedByGroup(snapshot.tlsStores),
    middlewares: cleanedByGroup(snapshot.middlewares),
  };
}

/** The `k8s://` id of an object (group `core` for the core group, namespace `_` when cluster-scoped). */
export function kubernetesId(
  cluster: string,
  object: { namespace?: string | undefined; group: string; kind: string; name: string },
): string {
  return `k8s://${cluster}/${object.namespace ?? "_"}/${object.group === "" ? "core" : object.group}/${object.kind}/${object.name}`;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

function idOf(cluster: string, object: KubeObject): string {
  return kubernetesId(cluster, {
    namespace: object.metadata?.namespace,
    group: groupOf(object.apiVersion ?? ""),
    kind: object.kind ?? "",
    name: object.metadata?.name ?? "",
  });
}

/** Merge the lists of a kind over the Traefik groups; a failed group makes the result partial. */
export function resolvable(listed: ListedByGroup): ResolvableObjects {
  const items: KubeObject[] = [];
  let failure: CollectionFailure | undefined;
  for (const group of TRAEFIK_GROUPS) {
    const result = listed[group];
    if (result.ok) items.push(...result.items);
    else failure ??= result.failure;
  }
  return failure !== undefined ? { items, failure } : { items };
}

function errorObservation(
  cluster: string,
  type: string,
  id: string,
  apiVersion: string,
  failure: CollectionFailure,
  observedAt: string,
): Observation {
  return {
    id,
    type,
    scope: cluster,
    source: { api: SOURCE_API, apiVersion, observedAt },
    error: failure,
  };
}

function withJoined(object: KubeObject, joined: Record<string, unknown>): Record<string, unknown> {
  return { ...object, joined };
}

function observation(
  cluster: string,
  type: string,
  object: KubeObject,
  joined: Record<string, unknown>,
  gaps: Gap[],
  observedAt: string,
): Observation {
  return {
    id: idOf(cluster, object),
    type,
    scope: cluster,
    document: withJoined(object, joined),
    source: { api: SOURCE_API, apiVersion: object.apiVersion ?? "", observedAt },
    ...(gaps.length > 0 ? { gaps } : {}),
  };
}

function namespaceObservations(snapshot: ClusterSnapshot, observedAt: string): Observation[] {
  const { cluster, namespaces, networkPolicies, clusterResource } = snapshot;
  if (!namespaces.ok)
    return [
      errorObservation(
        cluster,
        "Namespace",
        kubernetesId(cluster, { group: "", kind: "Namespace", name: "*" }),
        "v1",
        namespaces.failure,
        observedAt,
      ),
    ];
  return namespaces.items.map((namespace) => {
    const name = namespace.metadata?.name ?? "";
    const joined: Record<string, unknown> = {};
    const gaps: Gap[] = [];
    if (networkPolicies.ok)
      joined.networkPolicies = networkPolicies.items.filter((p) => p.metadata?.namespace === name);
    else gaps.push({ path: "joined.networkPolicies", ...networkPolicies.failure });
    if (clusterResource !== undefined) {
      if (!clusterResource.ok) gaps.push({ path: "joined.cluster", ...clusterResource.failure });
      else if (clusterResource.value !== undefined) joined.cluster = clusterResource.value;
    }
    return observation(cluster, "Namespace", namespace, joined, gaps, observedAt);
  });
}

function ingressRouteObservations(
  snapshot: ClusterSnapshot,
  config: TraefikClusterConfig,
  observedAt: string,
): Observation[] {
  const { cluster } = snapshot;
  const tlsOptions = resolvable(snapshot.tlsOptions);
  const middlewares = resolvable(snapshot.middlewares);
  const out: Observation[] = [];
  for (const group of TRAEFIK_GROUPS) {
    const type = `${group}/IngressRoute`;
    const listed: Listed = snapshot.ingressRoutes[group];
    if (!listed.ok) {
      out.push(
        errorObservation(
          cluster,
          type,
          `k8s://${cluster}/*/${group}/IngressRoute/*`,
          `${group}/v1alpha1`,
          listed.failure,
          observedAt,
        ),
      );
      continue;
    }
    for (const route of listed.items) {
      const namespace = route.metadata?.namespace ?? "";
      const gaps: Gap[] = [];
      const routes = Array.isArray(route.spec?.routes) ? (route.spec.routes as unknown[]) : [];
      const joinedRoutes = routes.map((entry, index) => {
        const references =
          typeof entry === "object" && entry !== null
            ? (entry as { middlewares?: unknown }).middlewares
            : undefined;
        if (!Array.isArray(references) || references.length === 0) return {};
        const join = resolveRouteMiddlewares(
          references,
          namespace,
          middlewares,
          config.allowCrossNamespace,
        );
        if (join.problem !== undefined)
          gaps.push({ path: `joined.routes[${index}].middlewares`, ...join.problem });
        return { middlewares: join.middlewares };
      });
      const named = Array.isArray(route.spec?.entryPoints)
        ? (route.spec.entryPoints as unknown[]).filter((e): e is string => typeof e === "string")
        : undefined;
      const entryPoints = joinEntryPoints(named, config.entryPoints);
      gaps.push(...entryPoints.gaps);
      const joined: Record<string, unknown> = {
        routes: joinedRoutes,
        entryPoints: entryPoints.entryPoints,
      };
      const tls = resolveTlsOption(route, tlsOptions, config.allowCrossNamespace);
      if (tls?.value !== undefined) joined.tlsOption = tls.value;
      if (tls?.problem !== undefined) gaps.push({ path: "joined.tlsOption", ...tls.problem });
      out.push(observation(cluster, type, route, joined, gaps, observedAt));
    }
  }
  return out;
}

function ingressObservations(
  snapshot: ClusterSnapshot,
  config: TraefikClusterConfig,
  observedAt: string,
): Observation[] {
  const { cluster, ingresses } = snapshot;
  const type = "networking.k8s.io/Ingress";
  if (!ingresses.ok)
    return [
      errorObservation(
        cluster,
        type,
        `k8s://${cluster}/*/networking.k8s.io/Ingress/*`,
        "networking.k8s.io/v1",
        ingresses.failure,
        observedAt,
      ),
    ];
  const middlewares = resolvable(snapshot.middlewares);
  return ingresses.items.map((ingress) => {
    const gaps: Gap[] = [];
    const join = resolveIngressMiddlewares(ingress, middlewares);
    if (join.problem !== undefined) gaps.push({ path: "joined.middlewares", ...join.problem });
    const entryPoints = joinEntryPoints(
      annotationList(ingress, INGRESS_ENTRYPOINTS_ANNOTATION),
      config.entryPoints,
    );
    gaps.push(...entryPoints.gaps);
    return observation(
      cluster,
      type,
      ingress,
      { middlewares: join.middlewares, entryPoints: entryPoints.entryPoints },
      gaps,
      observedAt,
    );
  });
}

/**
 * The stand-ins for the lists that feed no observation of their own but decide which TLS
 * endpoints the cluster's Traefik serves, each with namespace and name `*` in its id: one `error`
 * observation per failed IngressRouteTCP group (type `<group>/IngressRouteTCP`: its `HostSNI`
 * hosts are unknown) and one for failed Services (type `Service`, group `core`: the Traefik
 * address is unknown). Lists that answered yield nothing here.
 */
function exposureErrorObservations(snapshot: ClusterSnapshot, observedAt: string): Observation[] {
  const { cluster } = snapshot;
  const out: Observation[] = [];
  for (const group of TRAEFIK_GROUPS) {
    const listed = snapshot.ingressRouteTcps[group];
    if (!listed.ok)
      out.push(
        errorObservation(
          cluster,
          `${group}/IngressRouteTCP`,
          `k8s://${cluster}/*/${group}/IngressRouteTCP/*`,
          `${group}/v1alpha1`,
          listed.failure,
          observedAt,
        ),
      );
  }
  if (!snapshot.services.ok)
    out.push(
      errorObservation(
        cluster,
        "Service",
        kubernetesId(cluster, { namespace: "*", group: "", kind: "Service", name: "*" }),
        "v1",
        snapshot.services.failure,
        observedAt,
      ),
    );
  return out;
}

/**
 * Every observation of one cluster read: Namespaces, IngressRoutes of both Traefik groups and
 * Ingresses, joined as docs/observations.md describes, plus an `error` stand-in for each failed
 * list (Namespaces, IngressRoutes and Ingresses per docs/observations.md; IngressRouteTCPs and
 * Services, whose objects are not observations, so the app knows the TLS endpoints are unknown).
 * No object keeps its `metadata.managedFields` or last-applied-configuration annotation.
 */
export function buildClusterObservations(
  snapshot: ClusterSnapshot,
  config: TraefikClusterConfig,
  observedAt: string,
): Observation[] {
  const cleaned = cleanedSnapshot(snapshot);
  return [
    ...namespaceObservations(cleaned, observedAt),
    ...ingressRouteObservations(cleaned, config, observedAt),
    ...ingressObservations(cleaned, config, observedAt),
    ...exposureErrorObservations(cleaned, observedAt),
  ];
}
