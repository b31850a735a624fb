/**
 * Turn one cluster's listed objects into observations (docs/observations.md): Namespaces with
 * their NetworkPolicies and AKS cluster, Traefik IngressRoutes with their TLS options,
 * middlewares and entry points, Ingresses with their middlewares and entry points. Pure: a
 * failed list becomes an `error` observation or a gap on exactly what it feeds.
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
 * Every observation of one cluster read: Namespaces, IngressRoutes of both Traefik groups and
 * Ingresses, joined as docs/observations.md describes.
 */
export function buildClusterObservations(
  snapshot: ClusterSnapshot,
  config: TraefikClusterConfig,
  observedAt: string,
): Observation[] {
  return [
    ...namespaceObservations(snapshot, observedAt),
    ...ingressRouteObservations(snapshot, config, observedAt),
    ...ingressObservations(snapshot, config, observedAt),
  ];
}
