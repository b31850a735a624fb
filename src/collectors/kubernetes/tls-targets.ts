/**
 * The TLS endpoints a cluster's Traefik serves: every host an IngressRoute (`Host(…)`), an
 * IngressRouteTCP (`HostSNI(…)`) or a Traefik Ingress terminates TLS for, reached at the Traefik
 * Service's load-balancer address with the host as SNI, so the live probe sees what clients see.
 */

import type { Observation, TlsTargetConfig } from "../../core/index.js";
import { hostsOfRule } from "./match-rules.js";
import type { KubeObject } from "./types.js";

/** What a cluster read knows beyond its observations: the Services and TCP routes. */
export interface ClusterExposure {
  cluster: string;
  /** Every Service of the cluster; `undefined` when they could not be listed. */
  services: KubeObject[] | undefined;
  /** IngressRouteTCPs of both Traefik groups. */
  tcpRoutes: KubeObject[];
}

// Observations are frozen in shape; the Services behind them travel beside them, keyed by the
// observation objects a collect returned (so `tlsTargetsOf(observations)` works on that array,
// or on any selection of it, without Services appearing as observations).
const exposures = new WeakMap<Observation, ClusterExposure>();

/** Remember what a cluster read exposed, for {@link tlsTargetsOf}. */
export function rememberExposure(
  observations: readonly Observation[],
  exposure: ClusterExposure,
): void {
  for (const o of observations) exposures.set(o, exposure);
}

/** Where Traefik listens for TLS: the load-balancer address and the Service port. */
export interface TraefikAddress {
  host: string;
  port: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The address of the cluster's Traefik Service: a Service named `traefik` or labelled
 * `app.kubernetes.io/name: traefik` (the Helm chart's label) with a load-balancer ingress
 * (`ip`, else `hostname`), at its port named `websecure`, else port 443.
 */
export function traefikAddressOf(services: readonly KubeObject[]): TraefikAddress | undefined {
  const candidates = services.filter(
    (s) =>
      s.metadata?.name === "traefik" ||
      s.metadata?.labels?.["app.kubernetes.io/name"] === "traefik",
  );
  // Prefer the LoadBalancer Service named traefik (the chart's default) over internal ones.
  candidates.sort(
    (a, b) =>
      Number(b.spec?.type === "LoadBalancer") - Number(a.spec?.type === "LoadBalancer") ||
      Number(b.metadata?.name === "traefik") - Number(a.metadata?.name === "traefik"),
  );
  for (const service of candidates) {
    const loadBalancer = isRecord(service.status?.loadBalancer) ? service.status.loadBalancer : {};
    const ingress = Array.isArray(loadBalancer.ingress) ? loadBalancer.ingress[0] : undefined;
    const host = isRecord(ingress)
      ? typeof ingress.ip === "string" && ingress.ip !== ""
        ? ingress.ip
        : typeof ingress.hostname === "string" && ingress.hostname !== ""
          ? ingress.hostname
          : undefined
      : undefined;
    if (host === undefined) continue;
    const ports = (Array.isArray(service.spec?.ports) ? service.spec.ports : []).filter(isRecord);
    const port = ports.find((p) => p.name === "websecure") ?? ports.find((p) => p.port === 443);
    if (typeof port?.port === "number") return { host, port: port.port };
  }
  return undefined;
}

function documentOf(o: Observation): KubeObject | undefined {
  return isRecord(o.document) ? (o.document as KubeObject) : undefined;
}

function anyTlsEntryPoint(document: KubeObject): boolean {
  const joined = isRecord(document.joined) ? document.joined : {};
  const entryPoints = isRecord(joined.entryPoints) ? joined.entryPoints : {};
  return Object.values(entryPoints).some((e) => isRecord(e) && e.tls === true);
}

function ingressRouteHosts(document: KubeObject): string[] {
  if (!isRecord(document.spec?.tls) && !anyTlsEntryPoint(document)) return [];
  const routes = Array.isArray(document.spec?.routes) ? document.spec.routes : [];
  return routes.flatMap((r) =>
    isRecord(r) && typeof r.match === "string" ? hostsOfRule(r.match) : [],
  );
}

/** Whether an Ingress is Traefik's: no class, or a class naming Traefik. */
function isTraefikIngress(document: KubeObject): boolean {
  const className =
    document.spec?.ingressClassName ??
    document.metadata?.annotations?.["kubernetes.io/ingress.class"];
  return typeof className !== "string" || className.toLowerCase().includes("traefik");
}

function ingressHosts(document: KubeObject): string[] {
  if (!isTraefikIngress(document)) return [];
  const tls = Array.isArray(document.spec?.tls) ? document.spec.tls.filter(isRecord) : [];
  const routerTls =
    document.metadata?.annotations?.["traefik.ingress.kubernetes.io/router.tls"] === "true";
  if (tls.length === 0 && !routerTls && !anyTlsEntryPoint(document)) return [];
  const rules = Array.isArray(document.spec?.rules) ? document.spec.rules.filter(isRecord) : [];
  const hosts = [
    ...rules.map((r) => r.host),
    ...tls.flatMap((t) => (Array.isArray(t.hosts) ? t.hosts : [])),
  ];
  return hosts.filter((h): h is string => typeof h === "string" && h !== "" && !h.startsWith("*"));
}

function tcpRouteHosts(route: KubeObject): string[] {
  if (!isRecord(route.spec?.tls)) return [];
  const routes = Array.isArray(route.spec?.routes) ? route.spec.routes : [];
  return routes.flatMap((r) =>
    isRecord(r) && typeof r.match === "string" ? hostsOfRule(r.match, { sni: true }) : [],
  );
}

/**
 * The TLS endpoints to probe for the hosts that Traefik routes in these observations serve over
 * TLS (IngressRoutes with `spec.tls` or on a TLS entry point, Traefik Ingresses with `spec.tls`,
 * `router.tls` or a TLS entry point, IngressRouteTCPs with `spec.tls`). Each is reached at the
 * cluster's Traefik Service (`services`, by cluster name, or the Services the Kubernetes
 * collector read for these very observations), with `sni` = the host and `set` = the cluster.
 * When the Services were listed but no Traefik Service has a load-balancer address, or when the
 * observations come from elsewhere and no `services` are given, each host is probed itself on
 * port 443. When the collector could not list the cluster's Services (and `services` gives none
 * for it), the cluster gets no endpoints at all: vigil does not guess where Traefik listens. The
 * collector's `error` observation of type `Service` then stands for the cluster, and the app
 * turns it into an error probe observation for the cluster. Routes Traefik drops (missing TLS
 * option) are probed too: the probe then shows what a client really gets for that name.
 */
export function tlsTargetsOf(
  observations: readonly Observation[],
  services?: Readonly<Record<string, readonly KubeObject[]>>,
): TlsTargetConfig[] {
  const out: TlsTargetConfig[] = [];
  const seen = new Set<string>();
  const seenExposures = new Set<ClusterExposure>();
  const add = (cluster: string, address: TraefikAddress | undefined, host: string) => {
    const target: TlsTargetConfig = address
      ? { host: address.host, port: address.port, sni: host, set: cluster }
      : { host, port: 443, sni: host, set: cluster };
    const key = `${target.host}:${target.port}/${host}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(target);
  };
  /** Where the cluster's Traefik is reached; `"unknown"` when its Services could not be listed. */
  const addressOf = (
    cluster: string,
    exposure: ClusterExposure | undefined,
  ): TraefikAddress | undefined | "unknown" => {
    const list = services?.[cluster] ?? exposure?.services;
    if (list !== undefined) return traefikAddressOf(list);
    return exposure !== undefined ? "unknown" : undefined;
  };
  for (const o of observations) {
    const document = documentOf(o);
    const exposure = exposures.get(o);
    if (exposure !== undefined) seenExposures.add(exposure);
    if (o.error !== undefined || document === undefined) continue;
    const cluster = o.scope ?? exposure?.cluster ?? "";
    let hosts: string[];
    if (o.type === "traefik.io/IngressRoute" || o.type === "traefik.containo.us/IngressRoute")
      hosts = ingressRouteHosts(document);
    else if (o.type === "networking.k8s.io/Ingress") hosts = ingressHosts(document);
    else continue;
    const address = addressOf(cluster, exposure);
    if (address === "unknown") continue;
    for (const host of hosts) add(cluster, address, host);
  }
  for (const exposure of seenExposures) {
    const address = addressOf(exposure.cluster, exposure);
    if (address === "unknown") continue;
    for (const route of exposure.tcpRoutes)
      for (const host of tcpRouteHosts(route)) add(exposure.cluster, address, host);
  }
  return out;
}
