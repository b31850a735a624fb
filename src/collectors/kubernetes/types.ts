/**
 * Types shared by the Kubernetes collector's modules: raw Kubernetes objects as the API returns
 * them, what one cluster read produced, and the Traefik API groups vigil reads.
 */

import type { CollectionFailure, EntryPointConfig } from "../../core/index.js";

/** A Kubernetes object in its wire shape (JSON as the API server returns it). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The two API groups Traefik's CRDs have been published under (v2 used the containo.us one). */
export const TRAEFIK_GROUPS = ["traefik.io", "traefik.containo.us"] as const;
export type TraefikGroup = (typeof TRAEFIK_GROUPS)[number];

/** The outcome of one full (paged) list: every item, or why the list failed. */
export type Listed = { ok: true; items: KubeObject[] } | { ok: false; failure: CollectionFailure };

/** Per Traefik API group, the outcome of listing one kind. */
export type ListedByGroup = Record<TraefikGroup, Listed>;

/** The AKS managed cluster as `joined.cluster` carries it (docs/observations.md). */
export interface ClusterResource {
  id: string;
  name: string;
  properties: { networkProfile?: unknown };
}

/** Everything one cluster read produced, before any join. */
export interface ClusterSnapshot {
  cluster: string;
  namespaces: Listed;
  networkPolicies: Listed;
  services: Listed;
  ingresses: Listed;
  ingressRoutes: ListedByGroup;
  ingressRouteTcps: ListedByGroup;
  tlsOptions: ListedByGroup;
  tlsStores: ListedByGroup;
  middlewares: ListedByGroup;
  /**
   * The AKS managed cluster (`joined.cluster`): absent for kubeconfig clusters or when the app
   * gave no lookup; a failure when the lookup failed.
   */
  clusterResource?:
    | { ok: true; value: ClusterResource | undefined }
    | { ok: false; failure: CollectionFailure };
}

/** Traefik's static configuration for one cluster, as vigil's config describes it. */
export interface TraefikClusterConfig {
  /** Entry points by name; `undefined` when the config describes none for this cluster. */
  entryPoints: Record<string, EntryPointConfig> | undefined;
  /** Traefik's `providers.kubernetesCRD.allowCrossNamespace`. */
  allowCrossNamespace: boolean;
}
