/**
 * The Kubernetes collector's public surface: the collector for `cluster` targets and the TLS
 * endpoints a cluster's Traefik serves.
 */

export type { KubernetesConnection } from "./client.js";
export {
  type AksClusterTarget,
  createKubernetesCollector,
  type KubernetesCollectorOptions,
} from "./collector.js";
export { hostsOfRule } from "./match-rules.js";
export { type TraefikAddress, tlsTargetsOf, traefikAddressOf } from "./tls-targets.js";
export type { TlsOptionResolution } from "./traefik-joins.js";
export type { KubeObject } from "./types.js";
