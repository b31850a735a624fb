/**
 * Unit tests of the observation builder: the demo estate's hand-written snapshot is taken apart
 * into what the Kubernetes API would list, and the builder must put it back together exactly.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildClusterObservations } from "../../../../src/collectors/kubernetes/observations.js";
import type {
  ClusterResource,
  ClusterSnapshot,
  KubeObject,
  Listed,
  ListedByGroup,
} from "../../../../src/collectors/kubernetes/types.js";
import type { Observation } from "../../../../src/core/index.js";

const SNAPSHOT = join(import.meta.dirname, "../../../../estates/demo/snapshot");
const OBSERVED_AT = "2026-11-23T05:58:00Z";
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
const CONFIG = {
  entryPoints: { web: { tls: false }, websecure: { tls: true } },
  allowCrossNamespace: false,
};

function readFolder(folder: string): Observation[] {
  const dir = join(SNAPSHOT, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Observation);
}

function unjoined(o: Observation): KubeObject {
  const { joined: _joined, ...rest } = o.document as KubeObject & { joined?: unknown };
  return rest;
}

function joinedOf(o: Observation): Record<string, unknown> {
  return ((o.document as { joined?: Record<string, unknown> }).joined ?? {}) as Record<
    string,
    unknown
  >;
}

function ok(items: KubeObject[]): Listed {
  return { ok: true, items };
}

function byGroup(items: KubeObject[]): ListedByGroup {
  return {
    "traefik.io": ok(items.filter((i) => i.apiVersion?.startsWith("traefik.io/"))),
    "traefik.containo.us": ok(
      items.filter((i) => i.apiVersion?.startsWith("traefik.containo.us/")),
    ),
  };
}

function uniqueByUid(items: KubeObject[]): KubeObject[] {
  const seen = new Map<string, KubeObject>();
  for (const item of items)
    seen.set(String(item.metadata?.uid ?? JSON.stringify(item.metadata)), item);
  return [...seen.values()];
}

/** What the Kubernetes API of one demo cluster would list, recovered from the snapshot. */
function demoSnapshot(cluster: string): { snapshot: ClusterSnapshot; expected: Observation[] } {
  const mine = (o: Observation) => o.scope === cluster;
  const namespaces = readFolder("namespaces").filter(mine);
  const routes = readFolder("ingressroutes").filter(mine);
  const ingresses = readFolder("ingresses").filter(mine);
  const middlewares = uniqueByUid([
    ...routes.flatMap((r) =>
      ((joinedOf(r).routes ?? []) as { middlewares?: KubeObject[] }[]).flatMap(
        (x) => x.middlewares ?? [],
      ),
    ),
    ...ingresses.flatMap((i) => (joinedOf(i).middlewares ?? []) as KubeObject[]),
  ]);
  const tlsOptions = uniqueByUid(
    routes.flatMap((r) => {
      const t = joinedOf(r).tlsOption as
        | { resolution: string; name: string; namespace: string; spec: unknown }
        | undefined;
      if (t === undefined || (t.resolution !== "explicit" && t.resolution !== "default")) return [];
      const apiVersion = (r.document as KubeObject).apiVersion;
      return [
        {
          apiVersion,
          kind: "TLSOption",
          metadata: { name: t.name, namespace: t.namespace, uid: `${t.namespace}/${t.name}` },
          spec: t.spec,
        } as KubeObject,
      ];
    }),
  );
  const firstNamespace = namespaces[0] as Observation;
  const snapshot: ClusterSnapshot = {
    cluster,
    namespaces: ok(namespaces.map(unjoined)),
    networkPolicies: ok(namespaces.flatMap((n) => joinedOf(n).networkPolicies as KubeObject[])),
    services: ok([]),
    ingresses: ok(ingresses.map(unjoined)),
    ingressRoutes: byGroup(routes.map(unjoined)),
    ingressRouteTcps: byGroup([]),
    tlsOptions: byGroup(tlsOptions),
    tlsStores: byGroup([]),
    middlewares: byGroup(middlewares),
    clusterResource: {
      ok: true,
      value: joinedOf(firstNamespace).cluster as ClusterResource,
    },
  };
  const expected = [...namespaces, ...routes, ...ingresses].map((o) => ({
    ...o,
    source: { ...o.source, observedAt: OBSERVED_AT },
  }));
  return { snapshot, expected };
}

const byId = (a: Observation, b: Observation) => a.id.localeCompare(b.id);

describe("buildClusterObservations", () => {
  it.each(["aks-hfw-prod", "aks-hfw-staging"])(
    "rebuilds the demo snapshot of %s from what the API lists",
    (cluster) => {
      const { snapshot, expected } = demoSnapshot(cluster);

      const observations = buildClusterObservations(snapshot, CONFIG, OBSERVED_AT);

      expect(observations.sort(byId)).toEqual(expected.sort(byId));
    },
  );

  it("gives every Namespace a gap on joined.networkPolicies when NetworkPolicies failed", () => {
    const { snapshot } = demoSnapshot("aks-hfw-prod");
    const failure = { code: "Forbidden", message: "networkpolicies is forbidden", statusCode: 403 };

    const observations = buildClusterObservations(
      { ...snapshot, networkPolicies: { ok: false, failure } },
      CONFIG,
      OBSERVED_AT,
    );

    const namespaces = observations.filter((o) => o.type === "Namespace");
    expect(namespaces).toHaveLength(5);
    for (const n of namespaces) {
      expect(n.gaps).toEqual([{ path: "joined.networkPolicies", ...failure }]);
      expect(joinedOf(n).networkPolicies).toBeUndefined();
    }
  });

  it("reports one error observation of type Namespace when Namespaces failed", () => {
    const { snapshot } = demoSnapshot("aks-hfw-prod");
    const failure = { code: "Http503", message: "unavailable", statusCode: 503, requestId: "r-1" };

    const observations = buildClusterObservations(
      { ...snapshot, namespaces: { ok: false, failure } },
      CONFIG,
      OBSERVED_AT,
    );

    expect(observations.filter((o) => o.type === "Namespace")).toEqual([
      {
        id: "k8s://aks-hfw-prod/_/core/Namespace/*",
        type: "Namespace",
        scope: "aks-hfw-prod",
        source: { api: "kubernetes", apiVersion: "v1", observedAt: OBSERVED_AT },
        error: failure,
      },
    ]);
  });

  it("records a gap on joined.tlsOption and on route middlewares when those lists failed", () => {
    const { snapshot } = demoSnapshot("aks-hfw-prod");
    const failure = { code: "Forbidden", message: "forbidden", statusCode: 403 };
    const failed: ListedByGroup = {
      "traefik.io": { ok: false, failure },
      "traefik.containo.us": ok([]),
    };

    const observations = buildClusterObservations(
      { ...snapshot, tlsOptions: failed, middlewares: failed },
      CONFIG,
      OBSERVED_AT,
    );

    const web = observations.find(
      (o) => o.id === "k8s://aks-hfw-prod/odoo-prod/traefik.io/IngressRoute/odoo-web",
    ) as Observation;
    expect(joinedOf(web).tlsOption).toBeUndefined();
    expect(web.gaps?.map((g) => g.path)).toEqual([
      "joined.routes[0].middlewares",
      "joined.tlsOption",
    ]);
    const grafana = observations.find((o) => o.id.endsWith("/Ingress/grafana")) as Observation;
    expect(grafana.gaps?.map((g) => g.path)).toEqual(["joined.middlewares"]);
  });

  it("reports a failed IngressRoute list per Traefik group and keeps the other group", () => {
    const { snapshot } = demoSnapshot("aks-hfw-staging");
    const failure = { code: "Http500", message: "boom", statusCode: 500 };

    const observations = buildClusterObservations(
      {
        ...snapshot,
        ingressRoutes: { ...snapshot.ingressRoutes, "traefik.io": { ok: false, failure } },
      },
      CONFIG,
      OBSERVED_AT,
    );

    expect(observations.filter((o) => o.error !== undefined).map((o) => o.id)).toEqual([
      "k8s://aks-hfw-staging/*/traefik.io/IngressRoute/*",
    ]);
    expect(observations.filter((o) => o.type === "traefik.containo.us/IngressRoute")).toHaveLength(
      2,
    );
  });

  it("reports an error observation per failed IngressRouteTCP group, standing for its hosts", () => {
    const { snapshot } = demoSnapshot("aks-hfw-prod");
    const failure = {
      code: "Forbidden",
      message: "ingressroutetcps.traefik.io is forbidden",
      statusCode: 403,
      requestId: "r-2",
    };

    const observations = buildClusterObservations(
      {
        ...snapshot,
        ingressRouteTcps: { ...snapshot.ingressRouteTcps, "traefik.io": { ok: false, failure } },
      },
      CONFIG,
      OBSERVED_AT,
    );

    expect(observations.filter((o) => o.error !== undefined)).toEqual([
      {
        id: "k8s://aks-hfw-prod/*/traefik.io/IngressRouteTCP/*",
        type: "traefik.io/IngressRouteTCP",
        scope: "aks-hfw-prod",
        source: { api: "kubernetes", apiVersion: "traefik.io/v1alpha1", observedAt: OBSERVED_AT },
        error: failure,
      },
    ]);
  });

  it("reports one error observation of type Service when Services failed", () => {
    const { snapshot } = demoSnapshot("aks-hfw-prod");
    const failure = { code: "Forbidden", message: "services is forbidden", statusCode: 403 };

    const observations = buildClusterObservations(
      { ...snapshot, services: { ok: false, failure } },
      CONFIG,
      OBSERVED_AT,
    );

    expect(observations.filter((o) => o.error !== undefined)).toEqual([
      {
        id: "k8s://aks-hfw-prod/*/core/Service/*",
        type: "Service",
        scope: "aks-hfw-prod",
        source: { api: "kubernetes", apiVersion: "v1", observedAt: OBSERVED_AT },
        error: failure,
      },
    ]);
  });

  it("drops managedFields and the last-applied-configuration annotation from documents and joins", () => {
    const { snapshot } = demoSnapshot("aks-hfw-prod");
    const withCopies = (object: KubeObject): KubeObject => ({
      ...object,
      metadata: {
        ...object.metadata,
        annotations: {
          ...object.metadata?.annotations,
          [LAST_APPLIED]: JSON.stringify({ spec: { basicAuth: { users: ["admin:$apr1$x"] } } }),
          "vigil.test/kept": "yes",
        },
        managedFields: [{ manager: "kubectl", fieldsV1: { "f:spec": {} } }],
      },
    });
    const listed = (l: Listed): Listed => (l.ok ? ok(l.items.map(withCopies)) : l);
    const grouped = (l: ListedByGroup): ListedByGroup => ({
      "traefik.io": listed(l["traefik.io"]),
      "traefik.containo.us": listed(l["traefik.containo.us"]),
    });
    const plain = buildClusterObservations(snapshot, CONFIG, OBSERVED_AT);

    const observations = buildClusterObservations(
      {
        ...snapshot,
        namespaces: listed(snapshot.namespaces),
        networkPolicies: listed(snapshot.networkPolicies),
        ingresses: listed(snapshot.ingresses),
        ingressRoutes: grouped(snapshot.ingressRoutes),
        middlewares: grouped(snapshot.middlewares),
      },
      CONFIG,
      OBSERVED_AT,
    );

    const text = JSON.stringify(observations);
    expect(text).not.toContain("managedFields");
    expect(text).not.toContain(LAST_APPLIED);
    expect(text).not.toContain("basicAuth");
    const middleware = observations
      .flatMap((o) => (joinedOf(o).middlewares ?? []) as KubeObject[])
      .find((m) => m.kind === "Middleware");
    expect(middleware?.metadata?.annotations?.["vigil.test/kept"]).toBe("yes");
    expect(observations).toHaveLength(plain.length);
  });

  it("records a gap on joined.cluster when the AKS cluster could not be read", () => {
    const { snapshot } = demoSnapshot("aks-hfw-staging");
    const failure = { code: "AuthorizationFailed", message: "no", statusCode: 403 };

    const observations = buildClusterObservations(
      { ...snapshot, clusterResource: { ok: false, failure } },
      CONFIG,
      OBSERVED_AT,
    );

    const namespace = observations.find((o) => o.type === "Namespace") as Observation;
    expect(namespace.gaps).toEqual([{ path: "joined.cluster", ...failure }]);
  });
});
