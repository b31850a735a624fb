/** Unit tests of the TLS endpoints a cluster's Traefik serves. */
import { describe, expect, it } from "vitest";
import {
  rememberExposure,
  tlsTargetsOf,
  traefikAddressOf,
} from "../../../../src/collectors/kubernetes/tls-targets.js";
import type { KubeObject } from "../../../../src/collectors/kubernetes/types.js";
import type { Observation } from "../../../../src/core/index.js";

const TRAEFIK: KubeObject = {
  apiVersion: "v1",
  kind: "Service",
  metadata: {
    name: "traefik",
    namespace: "traefik",
    labels: { "app.kubernetes.io/name": "traefik" },
  },
  spec: {
    type: "LoadBalancer",
    ports: [
      { name: "web", port: 80 },
      { name: "websecure", port: 8443 },
    ],
  },
  status: { loadBalancer: { ingress: [{ ip: "10.61.4.10" }] } },
};

function routeObservation(match: string, tls: boolean, cluster = "aks-a"): Observation {
  return {
    id: `k8s://${cluster}/app/traefik.io/IngressRoute/web`,
    type: "traefik.io/IngressRoute",
    scope: cluster,
    document: {
      apiVersion: "traefik.io/v1alpha1",
      kind: "IngressRoute",
      metadata: { name: "web", namespace: "app" },
      spec: { routes: [{ match, kind: "Rule" }], ...(tls ? { tls: {} } : {}) },
      joined: { entryPoints: tls ? { websecure: { tls: true } } : { web: { tls: false } } },
    },
  };
}

function ingressObservation(spec: Record<string, unknown>, cluster = "aks-a"): Observation {
  return {
    id: `k8s://${cluster}/app/networking.k8s.io/Ingress/portal`,
    type: "networking.k8s.io/Ingress",
    scope: cluster,
    document: {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "portal", namespace: "app" },
      spec,
      joined: { middlewares: [], entryPoints: {} },
    },
  };
}

describe("traefikAddressOf", () => {
  it("takes the load-balancer IP and the websecure port", () => {
    expect(traefikAddressOf([TRAEFIK])).toEqual({ host: "10.61.4.10", port: 8443 });
  });

  it("falls back to the hostname and port 443", () => {
    const service: KubeObject = {
      metadata: { name: "traefik" },
      spec: { ports: [{ name: "https", port: 443 }] },
      status: { loadBalancer: { ingress: [{ hostname: "lb.example.net" }] } },
    };

    expect(traefikAddressOf([service])).toEqual({ host: "lb.example.net", port: 443 });
  });

  it("finds nothing without a load-balancer address", () => {
    expect(traefikAddressOf([{ ...TRAEFIK, status: {} }])).toBeUndefined();
  });
});

describe("tlsTargetsOf", () => {
  it("probes every Host() of a TLS route at the Traefik Service with the host as SNI", () => {
    const observations = [routeObservation("Host(`a.example.com`) || Host(`b.example.com`)", true)];

    const targets = tlsTargetsOf(observations, { "aks-a": [TRAEFIK] });

    expect(targets).toEqual([
      { host: "10.61.4.10", port: 8443, sni: "a.example.com", set: "aks-a" },
      { host: "10.61.4.10", port: 8443, sni: "b.example.com", set: "aks-a" },
    ]);
  });

  it("skips routes that serve no TLS", () => {
    expect(
      tlsTargetsOf([routeObservation("Host(`plain.example.com`)", false)], { "aks-a": [TRAEFIK] }),
    ).toEqual([]);
  });

  it("reads Ingress rules[].host and tls[].hosts, once each", () => {
    const observation = ingressObservation({
      rules: [{ host: "portal.example.com" }],
      tls: [{ hosts: ["portal.example.com", "www.portal.example.com"] }],
    });

    const targets = tlsTargetsOf([observation], { "aks-a": [TRAEFIK] });

    expect(targets.map((t) => t.sni)).toEqual(["portal.example.com", "www.portal.example.com"]);
  });

  it("skips Ingresses of another controller class", () => {
    const observation = ingressObservation({
      ingressClassName: "nginx",
      rules: [{ host: "internal.example.com" }],
      tls: [{ hosts: ["internal.example.com"] }],
    });

    expect(tlsTargetsOf([observation], { "aks-a": [TRAEFIK] })).toEqual([]);
  });

  it("uses the Services and TCP routes the collector remembered beside its observations", () => {
    const observations = [routeObservation("Host(`a.example.com`)", true)];
    const tcp: KubeObject = {
      apiVersion: "traefik.io/v1alpha1",
      kind: "IngressRouteTCP",
      metadata: { name: "pg", namespace: "db" },
      spec: { routes: [{ match: "HostSNI(`pg.example.com`)" }], tls: { passthrough: true } },
    };
    rememberExposure(observations, { cluster: "aks-a", services: [TRAEFIK], tcpRoutes: [tcp] });

    const targets = tlsTargetsOf(observations);

    expect(targets.map((t) => `${t.host}:${t.port}/${t.sni}`)).toEqual([
      "10.61.4.10:8443/a.example.com",
      "10.61.4.10:8443/pg.example.com",
    ]);
  });

  it("probes nothing for a cluster whose Services could not be listed, not the host on 443", () => {
    const observations = [routeObservation("Host(`a.example.com`)", true)];
    const tcp: KubeObject = {
      apiVersion: "traefik.io/v1alpha1",
      kind: "IngressRouteTCP",
      metadata: { name: "pg", namespace: "db" },
      spec: { routes: [{ match: "HostSNI(`pg.example.com`)" }], tls: {} },
    };
    rememberExposure(observations, { cluster: "aks-a", services: undefined, tcpRoutes: [tcp] });

    const targets = tlsTargetsOf(observations);

    expect(targets).toEqual([]);
  });

  it("uses Services given by cluster name even when the collector could not list them", () => {
    const observations = [routeObservation("Host(`a.example.com`)", true)];
    rememberExposure(observations, { cluster: "aks-a", services: undefined, tcpRoutes: [] });

    const targets = tlsTargetsOf(observations, { "aks-a": [TRAEFIK] });

    expect(targets).toEqual([
      { host: "10.61.4.10", port: 8443, sni: "a.example.com", set: "aks-a" },
    ]);
  });

  it("probes the host itself on 443 when the Traefik address is unknown", () => {
    const targets = tlsTargetsOf([routeObservation("Host(`a.example.com`)", true, "aks-b")]);

    expect(targets).toEqual([
      { host: "a.example.com", port: 443, sni: "a.example.com", set: "aks-b" },
    ]);
  });
});
