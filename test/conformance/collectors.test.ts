/**
 * Every collector over the official example responses in ../shared/fixtures, served by the
 * emulator: each example resource comes back as an observation whose document (minus `joined`) is
 * the example body in ARM / Graph / Kubernetes wire shape, joins are filled from the example
 * children, and nothing fails. Runs only when ../shared/fixtures exists.
 */

import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createArmCollector,
  createGraphCollector,
  createKubernetesCollector,
  getAksCluster,
  getAksConnection,
} from "../../src/collectors/index.js";
import type { CollectorSettings } from "../../src/collectors/types.js";
import type { ClusterTarget, Observation } from "../../src/core/index.js";
import type { RunningEmulator } from "../../src/emulator/index.js";
import { emulatorSettings } from "../support/contracts/collector-contract.js";
import { startTestEmulator } from "../support/emulator.js";
import {
  buildSharedFixtureSeed,
  emptySharedFixtureSeed,
  type KubeManifest,
  type PlacedArmBody,
  SHARED_FIXTURES_DIR,
  type SharedFixtureSeed,
} from "../support/shared-fixtures-seed.js";

const TYPES: Record<string, string> = {
  managedCluster: "Microsoft.ContainerService/managedClusters",
  flexibleServer: "Microsoft.DBforPostgreSQL/flexibleServers",
  storageAccount: "Microsoft.Storage/storageAccounts",
  container: "Microsoft.Storage/storageAccounts/blobServices/containers",
};

/** Kubernetes kinds that are observations of their own, by type. */
const KUBE_TYPES: Record<string, (apiVersion: string) => string> = {
  Namespace: () => "Namespace",
  Ingress: () => "networking.k8s.io/Ingress",
  IngressRoute: (apiVersion) => `${apiVersion.split("/")[0]}/IngressRoute`,
};

/** Cluster-scoped kinds among the seeded manifests. */
const CLUSTER_SCOPED = new Set(["Namespace"]);

/**
 * The only gaps the examples should produce, each justified by the example itself: the CRD
 * reference example's second route names middlewares `stripprefix` and `addprefix` that it does
 * not define (Traefik drops such a router).
 */
const EXPECTED_GAPS: Record<string, { path: string; code: string }[]> = {
  "k8s://clustername1-crd-resource/default/traefik.io/IngressRoute/ingressroute": [
    { path: "joined.routes[1].middlewares", code: "MiddlewareNotFound" },
  ],
};

/** How each IngressRoute's `tls.options` must resolve (Traefik's rules, per example). */
const TLS_OPTIONS: Record<string, { resolution: string; name: string | null } | undefined> = {
  // 03-ingressroute.yml names mytlsoption, defined by 03-tlsoption.yml in the same namespace.
  "k8s://clustername1/default/traefik.io/IngressRoute/test.route": {
    resolution: "explicit",
    name: "mytlsoption",
  },
  "k8s://clustername1/default/traefik.io/IngressRoute/test2.route": undefined,
  "k8s://clustername1/default/traefik.containo.us/IngressRoute/test.route": undefined,
  "k8s://clustername1/default/traefik.containo.us/IngressRoute/test.route.containous": {
    resolution: "explicit",
    name: "mytlsoption-containous",
  },
  // my-tls-option is not defined in that example.
  "k8s://clustername1-crd-resource/default/traefik.io/IngressRoute/ingressroute": {
    resolution: "missing",
    name: "my-tls-option",
  },
  "k8s://clustername1-with-bad-tls-options/default/traefik.io/IngressRoute/test.route": {
    resolution: "explicit",
    name: "foo",
  },
  // The route names `foo`; only a TLSOption `default` (in namespace foo) exists.
  "k8s://clustername1-with-default-tls-options/default/traefik.io/IngressRoute/test.route": {
    resolution: "missing",
    name: "foo",
  },
  "k8s://clustername1-with-default-tls-store/default/traefik.io/IngressRoute/test.route.default": {
    resolution: "builtin-default",
    name: null,
  },
  "k8s://clustername1-with-middleware/default/traefik.io/IngressRoute/test2.route": undefined,
  "k8s://clustername1-with-tls/default/traefik.io/IngressRoute/test.route": {
    resolution: "builtin-default",
    name: null,
  },
  "k8s://clustername1-with-tls-options/default/traefik.io/IngressRoute/test.route": {
    resolution: "explicit",
    name: "foo",
  },
};

type Doc = Record<string, unknown> & { joined?: Record<string, unknown> };

function withoutJoined(observation: Observation): Record<string, unknown> {
  const { joined: _joined, ...rest } = (observation.document ?? {}) as Doc;
  return rest;
}

function joinedOf(observation: Observation): Record<string, unknown> {
  return ((observation.document ?? {}) as Doc).joined ?? {};
}

/** An object as the API server returns it, without the fields the server fills in. */
function asWritten(object: unknown): Record<string, unknown> {
  const { metadata, ...rest } = object as KubeManifest;
  const { uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, ...kept } = metadata;
  return { ...rest, metadata: kept };
}

/** A manifest as the API server stores it: namespaced objects get `default` when they name none. */
function asStored(manifest: KubeManifest): Record<string, unknown> {
  if (CLUSTER_SCOPED.has(manifest.kind) || manifest.metadata.namespace !== undefined) {
    return manifest;
  }
  return { ...manifest, metadata: { ...manifest.metadata, namespace: "default" } };
}

function kubeId(cluster: string, manifest: KubeManifest): string {
  const group = manifest.apiVersion.includes("/") ? manifest.apiVersion.split("/")[0] : "core";
  const namespace = CLUSTER_SCOPED.has(manifest.kind)
    ? "_"
    : (manifest.metadata.namespace ?? "default");
  return `k8s://${cluster}/${namespace}/${group}/${manifest.kind}/${manifest.metadata.name}`;
}

function label(placed: PlacedArmBody): string {
  const file = placed.fixture.replace(/^azure-rest-api-specs\//, "");
  const where = placed.pointer.replace("responses.200.body", "");
  const derived = placed.modified !== undefined ? ` as ${String(placed.body.name)}` : "";
  return `${file}${where}${derived} (subscription ${placed.subscriptionId})`;
}

const fixturesPresent = existsSync(SHARED_FIXTURES_DIR);

describe.runIf(fixturesPresent)("collectors over the official example responses", () => {
  // Built at collection time so the per-resource tests can be listed; removed after the run.
  const seed: SharedFixtureSeed = fixturesPresent
    ? buildSharedFixtureSeed(SHARED_FIXTURES_DIR)
    : emptySharedFixtureSeed();
  let emulator: RunningEmulator;
  let settings: CollectorSettings;
  const observations: Observation[] = [];
  const connections = new Map<string, { server: string }>();

  const earliestEvent = Math.min(
    ...seed.arm
      .filter((p) => p.role === "activityLogEvent")
      .map((p) => Date.parse(String(p.body.eventTimestamp))),
  );

  function find(scope: string, id: string, type: string): Observation {
    const found = observations.filter((o) => o.scope === scope && o.id === id && o.type === type);
    expect(found, `${type} ${id} in ${scope}`).toHaveLength(1);
    return found[0] as Observation;
  }

  beforeAll(async () => {
    emulator = await startTestEmulator(seed.dir);
    settings = emulatorSettings(emulator, {
      // The activity-log example is from 2015: look back far enough that the time window keeps
      // it, so only the collector's per-server filter decides.
      activityLogDays: Math.ceil((Date.parse(seed.now) - earliestEvent) / 86_400_000) + 1,
      traefik: {
        entryPoints: { "*": { web: { tls: false }, websecure: { tls: true } } },
        // Traefik's with_middleware example references a middleware in namespace foo.
        allowCrossNamespace: { "clustername1-with-middleware": true },
      },
    });
    const arm = createArmCollector(settings);
    for (const { subscriptionId } of seed.subscriptions) {
      observations.push(
        ...(await arm.collect({ kind: "subscription", subscriptionId }, { now: seed.now })),
      );
    }
    const kubernetes = createKubernetesCollector(settings, {
      connect: async (cluster, options) => {
        const connection = await getAksConnection(settings, cluster, options);
        connections.set(cluster.name, connection);
        return connection;
      },
      clusterResource: (cluster, options) => getAksCluster(settings, cluster, options),
    });
    for (const cluster of seed.clusters) {
      const target: ClusterTarget = {
        kind: "aks",
        name: cluster.name,
        resourceId: cluster.resourceId,
        subscriptionId: cluster.subscriptionId,
      };
      observations.push(
        ...(await kubernetes.collect({ kind: "cluster", cluster: target }, { now: seed.now })),
      );
    }
    observations.push(
      ...(await createGraphCollector(settings).collect(
        { kind: "tenant", tenantId: seed.tenantId },
        { now: seed.now },
      )),
    );
  }, 180_000);

  afterAll(() => seed.remove());

  it("collects everything without an error observation", () => {
    const errors = observations.filter((o) => o.error !== undefined);

    expect(errors.map((o) => [o.id, o.error])).toEqual([]);
  });

  it("reports only the gaps the examples themselves cause", () => {
    const caGaps = (
      (seed.graph[0]?.body.value ?? []) as { grantControls?: Record<string, unknown> }[]
    ).flatMap((policy, index) =>
      policy.grantControls !== undefined && !("authenticationStrength" in policy.grantControls)
        ? [{ path: `value[${index}].grantControls.authenticationStrength`, code: "NotReturned" }]
        : [],
    );
    const expected: Record<string, { path: string; code: string }[]> = {
      ...EXPECTED_GAPS,
      [`graph://${seed.tenantId}/identity/conditionalAccess/policies`]: caGaps,
    };

    const gaps = Object.fromEntries(
      observations
        .filter((o) => (o.gaps ?? []).length > 0)
        .map((o) => [o.id, (o.gaps ?? []).map((g) => ({ path: g.path, code: g.code }))]),
    );

    expect(gaps).toEqual(Object.fromEntries(Object.entries(expected).filter(([, g]) => g.length)));
  });

  it("never writes and never asks for a Secret", () => {
    const writes = emulator.requests.filter(
      (r) =>
        r.api !== "admin" &&
        r.method !== "GET" &&
        !(r.method === "POST" && /\/listClusterUserCredential(s)?(\?|$)/i.test(r.path)),
    );
    const secrets = emulator.requests.filter((r) => /\/secrets(\?|\/|$)/i.test(r.path));

    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(secrets.map((r) => r.path)).toEqual([]);
  });

  describe("ARM", () => {
    const resources = seed.arm.filter((p) => TYPES[p.role] !== undefined);

    it.each(resources.map((p) => [label(p), p] as const))(
      "observes %s with the example body as its document",
      (_label, placed) => {
        const observation = find(placed.subscriptionId, placed.body.id, TYPES[placed.role] ?? "");

        expect(withoutJoined(observation)).toStrictEqual(placed.body);
      },
    );

    it("keeps the wire field names (supportsHttpsTrafficOnly, enableRBAC), not the SDK's", () => {
      const accounts = observations.filter((o) => o.type === TYPES.storageAccount);
      const clusters = observations.filter((o) => o.type === TYPES.managedCluster);

      for (const account of accounts) {
        const properties = (withoutJoined(account).properties ?? {}) as Record<string, unknown>;
        expect(properties).not.toHaveProperty("enableHttpsTrafficOnly");
        expect(properties).not.toHaveProperty("networkRuleSet");
      }
      for (const cluster of clusters) {
        const properties = (withoutJoined(cluster).properties ?? {}) as Record<string, unknown>;
        expect(properties).not.toHaveProperty("enableRbac");
      }
      const get = observations.find(
        (o) =>
          o.type === TYPES.storageAccount &&
          o.scope === "00000000-0000-0000-0000-000000000000" &&
          o.id.endsWith("/sto8596"),
      );
      expect(get?.document).toMatchObject({ properties: { supportsHttpsTrafficOnly: false } });
      expect(clusters.length).toBeGreaterThan(0);
      expect(
        clusters.every((c) => "enableRBAC" in ((withoutJoined(c).properties ?? {}) as object)),
      ).toBe(true);
    });

    const servers = seed.arm.filter((p) => p.role === "flexibleServer");

    it.each(servers.map((p) => [label(p), p] as const))(
      "joins the backups and configurations placed under %s",
      (_label, server) => {
        const children = seed.arm.filter((p) => p.parentPath === server.path);
        const backups = children
          .filter((p) => p.role === "backup")
          .sort((a, b) => a.path.localeCompare(b.path))
          .map((p) => p.body);
        const configurations = Object.fromEntries(
          children
            .filter((p) => p.role === "configuration")
            .map((p) => [p.path.split("/").at(-1), p.body])
            .filter(([name]) => name === "require_secure_transport"),
        );

        const joined = joinedOf(
          find(server.subscriptionId, server.body.id, TYPES.flexibleServer ?? ""),
        );

        expect(joined.backups).toStrictEqual(backups);
        expect(joined.configurations).toStrictEqual(configurations);
      },
    );

    it("joins the backup list of BackupListByServer in full", () => {
      const list = seed.lists.find((l) => l.fixture.endsWith("/BackupListByServer.json"));
      const server = servers.find((s) => list?.path.startsWith(s.path));
      if (list === undefined || server === undefined) throw new Error("the seed lost the backups");

      const joined = joinedOf(
        find(server.subscriptionId, server.body.id, TYPES.flexibleServer ?? ""),
      );

      expect(joined.backups).toHaveLength(list.body.value.length);
      expect(joined.backups).toStrictEqual(list.body.value);
    });

    it.each(servers.map((p) => [label(p), p] as const))(
      "asks the activity log for %s (once for all the servers of its subscription) and keeps no other resource's events",
      (_label, server) => {
        const events = seed.arm.filter(
          (p) => p.role === "activityLogEvent" && p.subscriptionId === server.subscriptionId,
        );
        const neighbours = servers.filter((s) => s.subscriptionId === server.subscriptionId);
        // A subscription with several servers is asked once for its whole window; a lone server
        // is asked for its own events.
        const asked = emulator.requests.filter((r) => {
          if (
            r.subscriptionId !== server.subscriptionId ||
            !/\/eventtypes\/management\/values\?/i.test(r.path)
          )
            return false;
          const query = decodeURIComponent(r.path.replace(/\+/g, " ")).toLowerCase();
          return neighbours.length > 1
            ? !query.includes("resourceuri eq")
            : query.includes(`resourceuri eq '${server.body.id.toLowerCase()}'`);
        });

        const joined = joinedOf(
          find(server.subscriptionId, server.body.id, TYPES.flexibleServer ?? ""),
        );

        expect(events.length).toBeGreaterThan(0);
        expect(asked.map((r) => r.status)).toEqual([200]);
        expect(joined.activityLog).toStrictEqual(
          events
            .map((e) => e.body)
            .filter(
              (e) => String(e.resourceId ?? "").toLowerCase() === server.body.id.toLowerCase(),
            ),
        );
      },
    );

    const accounts = seed.arm.filter((p) => p.role === "storageAccount");

    it.each(accounts.map((p) => [label(p), p] as const))(
      "joins the blob service placed under %s",
      (_label, account) => {
        const blobService = seed.arm.find(
          (p) => p.role === "blobService" && p.parentPath === account.path,
        );

        const joined = joinedOf(
          find(account.subscriptionId, account.body.id, TYPES.storageAccount ?? ""),
        );

        expect(joined.blobService).toStrictEqual(blobService?.body);
      },
    );

    const containers = seed.arm.filter((p) => p.role === "container");

    it.each(containers.map((p) => [label(p), p] as const))(
      "joins the account and newest blob of container %s",
      (_label, container) => {
        const account = accounts.find((a) => a.path === container.parentPath);
        const [, accountName, containerName] =
          /\/storageAccounts\/([^/]+)\/blobServices\/default\/containers\/([^/]+)$/i.exec(
            container.path,
          ) ?? [];
        const blobs =
          seed.blobs.find((b) => b.account === accountName && b.container === containerName)
            ?.blobs ?? [];

        const joined = joinedOf(
          find(container.subscriptionId, container.body.id, TYPES.container ?? ""),
        );

        expect(joined.account).toMatchObject({ id: account?.body.id, name: account?.body.name });
        expect(joined.newestBlob).toStrictEqual(blobs.at(-1) ?? null);
      },
    );

    it("keeps the immutability policy and legal hold of BlobContainersGet", () => {
      const placed = containers.find((c) => c.fixture.endsWith("/BlobContainersGet.json"));
      if (placed === undefined) throw new Error("the seed lost BlobContainersGet");
      const properties = placed.body.properties as Record<string, unknown>;

      const observation = find(placed.subscriptionId, placed.body.id, TYPES.container ?? "");

      expect(properties.immutabilityPolicy).toBeDefined();
      expect(observation.document).toMatchObject({
        properties: {
          immutabilityPolicy: properties.immutabilityPolicy,
          legalHold: properties.legalHold,
        },
      });
    });
  });

  describe("Microsoft Graph", () => {
    it("observes the conditional access policy list with the example's value", () => {
      const list = seed.graph.find((g) => g.path === "/v1.0/identity/conditionalAccess/policies");

      const observation = find(
        seed.tenantId,
        `graph://${seed.tenantId}/identity/conditionalAccess/policies`,
        "microsoft.graph/conditionalAccessPolicies",
      );

      expect((observation.document as Doc).value).toStrictEqual(list?.body.value);
    });
  });

  describe("Kubernetes", () => {
    it.each(seed.clusters.map((c) => [c.name, c] as const))(
      "reaches cluster %s through listClusterUserCredential",
      (name) => {
        expect(connections.get(name)?.server).toBe(emulator.kubernetes[name]?.server);
      },
    );

    const observed = seed.clusters.flatMap((cluster) =>
      [
        ...cluster.objects.map((o) => ({ ...o, label: `${o.fixture} #${o.document}` })),
        ...cluster.synthetic.map((s) => ({
          manifest: s.manifest,
          label: `synthetic: ${s.reason}`,
        })),
      ]
        .filter((o) => KUBE_TYPES[o.manifest.kind] !== undefined)
        .map(
          (o) =>
            [`${kubeId(cluster.name, o.manifest)} (${o.label})`, cluster.name, o.manifest] as const,
        ),
    );

    it.each(observed)(
      "observes %s with the manifest as its document",
      (_label, cluster, manifest) => {
        const type = KUBE_TYPES[manifest.kind]?.(manifest.apiVersion) ?? "";

        const observation = find(cluster, kubeId(cluster, manifest), type);

        expect(asWritten(withoutJoined(observation))).toStrictEqual(asStored(manifest));
      },
    );

    const policies = seed.clusters.flatMap((cluster) =>
      cluster.objects
        .filter((o) => o.manifest.kind === "NetworkPolicy")
        .map((o) => [`${o.fixture} #${o.document}`, cluster.name, o.manifest] as const),
    );

    it.each(policies)("joins NetworkPolicy %s to its namespace", (_label, cluster, manifest) => {
      const namespace = manifest.metadata.namespace ?? "default";

      const joined = joinedOf(
        find(cluster, `k8s://${cluster}/_/core/Namespace/${namespace}`, "Namespace"),
      );

      expect((joined.networkPolicies as unknown[]).map(asWritten)).toContainEqual(
        asStored(manifest),
      );
    });

    it("joins every namespace to its AKS managed cluster", () => {
      const namespaces = observations.filter((o) => o.type === "Namespace");

      expect(namespaces.length).toBeGreaterThan(0);
      for (const namespace of namespaces) {
        const cluster = seed.clusters.find((c) => c.name === namespace.scope);
        const aks = seed.arm.find((p) => p.body.id === cluster?.resourceId);
        const body = aks?.body as {
          id: string;
          name: string;
          properties: { networkProfile: unknown };
        };
        expect(joinedOf(namespace).cluster).toStrictEqual({
          id: body.id,
          name: body.name,
          properties: { networkProfile: body.properties.networkProfile },
        });
      }
    });

    it("finds IngressRoutes of both Traefik groups", () => {
      const groups = new Set(
        observations.filter((o) => o.type.endsWith("/IngressRoute")).map((o) => o.type),
      );

      expect([...groups].sort()).toEqual([
        "traefik.containo.us/IngressRoute",
        "traefik.io/IngressRoute",
      ]);
    });

    const routes = seed.clusters.flatMap((cluster) =>
      cluster.objects
        .filter((o) => o.manifest.kind === "IngressRoute")
        .map((o) => [kubeId(cluster.name, o.manifest), cluster, o.manifest] as const),
    );

    it.each(routes)("joins the TLS option and middlewares of %s", (id, cluster, route) => {
      const spec = route.spec as {
        routes?: { middlewares?: { name: string; namespace?: string }[] }[];
        tls?: { options?: { name: string; namespace?: string } };
      };
      const namespace = route.metadata.namespace ?? "default";
      const expectedTls = TLS_OPTIONS[id];
      const gapPaths = (EXPECTED_GAPS[id] ?? []).map((g) => g.path);

      const observation = find(cluster.name, id, `${route.apiVersion.split("/")[0]}/IngressRoute`);
      const joined = joinedOf(observation) as {
        tlsOption?: {
          resolution: string;
          name: string | null;
          namespace: string | null;
          spec: unknown;
        };
        routes: { middlewares?: KubeManifest[] }[];
        entryPoints: unknown;
      };

      expect(id in TLS_OPTIONS, `${id} has an expected TLS option`).toBe(true);
      if (expectedTls === undefined) {
        expect(joined.tlsOption).toBeUndefined();
      } else {
        expect(joined.tlsOption).toMatchObject(expectedTls);
        if (expectedTls.resolution === "explicit") {
          const option = cluster.objects.find(
            (o) =>
              o.manifest.kind === "TLSOption" &&
              o.manifest.metadata.name === expectedTls.name &&
              (o.manifest.metadata.namespace ?? "default") ===
                (spec.tls?.options?.namespace ?? namespace),
          );
          expect(joined.tlsOption?.spec).toStrictEqual(option?.manifest.spec);
        }
      }
      expect(joined.routes).toHaveLength(spec.routes?.length ?? 0);
      (spec.routes ?? []).forEach((entry, index) => {
        const references = entry.middlewares ?? [];
        if (references.length === 0 || gapPaths.includes(`joined.routes[${index}].middlewares`)) {
          return;
        }
        const resolved = (joined.routes[index]?.middlewares ?? []).map(
          (m) => `${m.metadata.namespace}/${m.metadata.name}`,
        );
        expect(resolved).toEqual(references.map((r) => `${r.namespace ?? namespace}/${r.name}`));
      });
      expect(joined.entryPoints).toBeDefined();
    });

    it("joins middlewares and entry points to the Ingresses", () => {
      const ingresses = observations.filter((o) => o.type === "networking.k8s.io/Ingress");

      expect(ingresses.map((o) => o.id).sort()).toEqual([
        "k8s://clustername1/default/networking.k8s.io/Ingress/test.ingress.https",
        "k8s://clustername1/default/networking.k8s.io/Ingress/tls-example-ingress",
      ]);
      for (const ingress of ingresses) {
        expect(joinedOf(ingress)).toMatchObject({
          middlewares: [],
          entryPoints: expect.any(Object),
        });
      }
    });
  });
});
