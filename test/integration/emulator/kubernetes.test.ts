/**
 * The emulator's Kubernetes API servers as real clients see them: `@kubernetes/client-node` (and
 * `kubectl` when it is on PATH) over HTTPS against `handle()`, with the k8s test seed.
 */

import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  ApiException,
  ApisApi,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
  VersionApi,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority } from "../../../src/emulator/certificates.js";
import { SeedError } from "../../../src/emulator/errors.js";
import type { EmulatorRequest } from "../../../src/emulator/http-types.js";
import { type KubernetesEstate, loadKubernetesEstate } from "../../../src/emulator/kubernetes.js";

const SEED = join(import.meta.dirname, "../../fixtures/seeds/k8s/kubernetes");
const PROD = "aks-k8s-prod";
const DR = "aks-k8s-dr";
const TOKEN = "test-token";
const PROD_OVERRIDE = {
  cluster: PROD,
  namespace: "traefik",
  name: "traefik",
  ip: "192.0.2.1",
  connect: { host: "127.0.0.1", port: 48443 },
};
const OVERRIDES = [
  PROD_OVERRIDE,
  { ...PROD_OVERRIDE, cluster: DR, ip: "192.0.2.2", connect: { host: "127.0.0.1", port: 48444 } },
];

const ca = createCertificateAuthority();
const scratch = mkdtempSync(join(tmpdir(), "vigil-emulator-k8s-"));
/** Estates by URL prefix: `/<prefix>/<cluster>/…` is served by `estates[prefix]`. */
const estates: Record<string, KubernetesEstate> = {};
const requests: string[] = [];
let server: https.Server;
let base: string;

beforeAll(async () => {
  estates.k8s = loadKubernetesEstate(SEED, { serviceOverrides: OVERRIDES });
  estates.paged = loadKubernetesEstate(SEED, { pageSize: 2 });
  const leaf = ca.issue({
    names: ["127.0.0.1"],
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 3_600_000),
  });
  server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "https://127.0.0.1");
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      const [, prefix = "", cluster = "", ...rest] = url.pathname.split("/");
      const estate = estates[prefix];
      if (estate === undefined || req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(estate === undefined ? 404 : 401).end();
        return;
      }
      const request: EmulatorRequest = {
        method: req.method ?? "GET",
        path: `/${rest.join("/")}`,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      const response = estate.handle(cluster, request);
      res.writeHead(response.status, response.headers);
      res.end(JSON.stringify(response.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
  rmSync(scratch, { recursive: true, force: true });
});

function kubeConfig(prefix: string, cluster: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      {
        name: cluster,
        server: `${base}/${prefix}/${cluster}`,
        caData: Buffer.from(ca.caPem).toString("base64"),
        skipTLSVerify: false,
      },
    ],
    users: [{ name: "emulator", token: TOKEN }],
    contexts: [{ name: cluster, cluster, user: "emulator" }],
    currentContext: cluster,
  });
  return config;
}

function clients(cluster = PROD, prefix = "k8s") {
  const config = kubeConfig(prefix, cluster);
  return {
    core: config.makeApiClient(CoreV1Api),
    networking: config.makeApiClient(NetworkingV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    apis: config.makeApiClient(ApisApi),
    version: config.makeApiClient(VersionApi),
  };
}

/** The ApiException a call fails with, its body parsed (the client keeps error bodies as text). */
async function failure(call: Promise<unknown>): Promise<{ code: number; body: unknown }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body: unknown = typeof error.body === "string" ? JSON.parse(error.body) : error.body;
    return { code: error.code, body };
  }
  throw new Error("expected the call to fail");
}

async function getJson(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    https
      .get(
        `${base}${path}`,
        { ca: ca.caPem, headers: { authorization: `Bearer ${TOKEN}` } },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        },
      )
      .on("error", reject);
  });
  return { status: response.status, body: JSON.parse(response.text) as Record<string, unknown> };
}

interface CustomList {
  kind: string;
  apiVersion: string;
  metadata: { continue?: string; resourceVersion?: string };
  items: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }[];
}

const qualified = (i: { metadata?: { name?: string; namespace?: string } }) =>
  `${i.metadata?.namespace}/${i.metadata?.name}`;

describe("loadKubernetesEstate", () => {
  it("lists the seeded clusters", () => {
    expect(estates.k8s?.clusters()).toEqual([DR, PROD]);
  });

  describe("discovery", () => {
    it("answers /version, /api and /apis in the shapes the client parses", async () => {
      const { version, core, apis } = clients();

      const info = await version.getCode();
      const groups = await apis.getAPIVersions();
      const coreVersions = await core.getAPIResources();

      expect(info.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
      expect(groups.groups.map((g) => g.name)).toEqual(
        expect.arrayContaining([
          "networking.k8s.io",
          "apps",
          "traefik.io",
          "traefik.containo.us",
          "cert-manager.io",
          "kyverno.io",
        ]),
      );
      expect(coreVersions.groupVersion).toBe("v1");
      expect(coreVersions.resources).toContainEqual(
        expect.objectContaining({ name: "namespaces", kind: "Namespace", namespaced: false }),
      );
      expect(coreVersions.resources).toContainEqual(
        expect.objectContaining({ name: "services", kind: "Service", namespaced: true }),
      );
    });

    it("lists every Traefik CRD under both groups with its plural", async () => {
      for (const group of ["traefik.io", "traefik.containo.us"]) {
        const { status, body } = await getJson(`/k8s/${PROD}/apis/${group}/v1alpha1`);

        expect(status).toBe(200);
        expect(body.kind).toBe("APIResourceList");
        expect(body.groupVersion).toBe(`${group}/v1alpha1`);
        const resources = body.resources as { name: string; kind: string; verbs: string[] }[];
        const plurals = Object.fromEntries(resources.map((r) => [r.kind, r.name]));
        expect(plurals).toMatchObject({
          IngressRoute: "ingressroutes",
          IngressRouteTCP: "ingressroutetcps",
          IngressRouteUDP: "ingressrouteudps",
          Middleware: "middlewares",
          MiddlewareTCP: "middlewaretcps",
          TLSOption: "tlsoptions",
          TLSStore: "tlsstores",
          ServersTransport: "serverstransports",
          TraefikService: "traefikservices",
        });
        expect(resources.every((r) => r.verbs.join() === "get,list")).toBe(true);
      }
    });

    it("guesses plural and scope of kinds it has no table entry for", async () => {
      const kyverno = await getJson(`/k8s/${PROD}/apis/kyverno.io/v1`);
      const certManager = await getJson(`/k8s/${PROD}/apis/cert-manager.io/v1`);

      expect(kyverno.body.resources).toEqual([
        expect.objectContaining({
          name: "clusterpolicies",
          singularName: "clusterpolicy",
          kind: "ClusterPolicy",
          namespaced: false,
        }),
      ]);
      expect(certManager.body.resources).toEqual([
        expect.objectContaining({ name: "certificates", kind: "Certificate", namespaced: true }),
      ]);
    });

    it("does not list a group that neither the table nor the cluster's manifests have", async () => {
      const { body } = await getJson(`/k8s/${DR}/apis`);

      const names = (body.groups as { name: string }[]).map((g) => g.name);
      expect(names).toContain("traefik.io");
      expect(names).not.toContain("kyverno.io");
    });
  });

  describe("list", () => {
    it("lists the seeded Namespaces sorted by name and invents none", async () => {
      const { core } = clients();

      const list = await core.listNamespace();

      expect(list.kind).toBe("NamespaceList");
      expect(list.items.map((n) => n.metadata?.name)).toEqual([
        "batch",
        "monitoring",
        "payments",
        "storefront",
        "traefik",
      ]);
      expect(list.metadata?._continue).toBeUndefined();
    });

    it("fills uid, resourceVersion and creationTimestamp the same way on every load", async () => {
      const again = loadKubernetesEstate(SEED);
      const { core } = clients();

      const list = await core.listNamespace();
      const direct = again.handle(PROD, {
        method: "GET",
        path: "/api/v1/namespaces",
        query: new URLSearchParams(),
        headers: {},
        body: Buffer.alloc(0),
      }).body as { items: { metadata: { uid: string; resourceVersion: string } }[] };

      const first = list.items[0]?.metadata;
      expect(first?.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(first?.resourceVersion).toMatch(/^\d+$/);
      expect(first?.creationTimestamp).toBeInstanceOf(Date);
      expect(list.items.map((n) => n.metadata?.uid)).toEqual(
        direct.items.map((n) => n.metadata.uid),
      );
      expect(new Set(list.items.map((n) => n.metadata?.uid)).size).toBe(5);
    });

    it("pages with limit and continue, completely and without duplicates", async () => {
      const { core } = clients();
      const names: string[] = [];
      const pageSizes: number[] = [];
      let token: string | undefined;

      do {
        const page = await core.listNamespace({ limit: 2, _continue: token });
        names.push(...page.items.map((n) => n.metadata?.name ?? ""));
        pageSizes.push(page.items.length);
        token = page.metadata?._continue;
      } while (token);

      expect(pageSizes).toEqual([2, 2, 1]);
      expect(names).toEqual(["batch", "monitoring", "payments", "storefront", "traefik"]);
      expect(requests).toContain(`GET /k8s/${PROD}/api/v1/namespaces?limit=2`);
    });

    it("pages by the estate's pageSize when the client sends no limit", async () => {
      const { custom } = clients(PROD, "paged");

      const first = (await custom.listClusterCustomObject({
        group: "traefik.io",
        version: "v1alpha1",
        plural: "tlsoptions",
      })) as CustomList;
      const firstNetpols = await clients(
        PROD,
        "paged",
      ).networking.listNetworkPolicyForAllNamespaces();
      const rest = await clients(PROD, "paged").networking.listNetworkPolicyForAllNamespaces({
        _continue: firstNetpols.metadata?._continue,
      });

      expect(first.items.map(qualified)).toEqual(["traefik/default", "traefik/modern"]);
      expect(first.metadata.continue).toBeUndefined();
      expect(firstNetpols.items.map(qualified)).toEqual([
        "batch/allow-any-ingress",
        "payments/allow-from-traefik",
      ]);
      expect(firstNetpols.metadata?.remainingItemCount).toBe(2);
      expect(rest.items.map(qualified)).toEqual([
        "payments/deny-everything",
        "storefront/deny-ingress",
      ]);
      expect(rest.metadata?._continue).toBeUndefined();
    });

    it("rejects a continue token it did not issue with a 400 Status", async () => {
      const { core } = clients();

      const { code, body } = await failure(core.listNamespace({ limit: 2, _continue: "bogus" }));

      expect(code).toBe(400);
      expect(body).toMatchObject({ kind: "Status", status: "Failure", reason: "BadRequest" });
    });

    it("lists a namespace's NetworkPolicies, including its default deny", async () => {
      const { networking } = clients();

      const payments = await networking.listNamespacedNetworkPolicy({ namespace: "payments" });
      const elsewhere = await networking.listNamespacedNetworkPolicy({ namespace: "monitoring" });

      expect(payments.kind).toBe("NetworkPolicyList");
      expect(payments.apiVersion).toBe("networking.k8s.io/v1");
      expect(payments.items.map((p) => p.metadata?.name)).toEqual([
        "allow-from-traefik",
        "deny-everything",
      ]);
      const deny = payments.items[1];
      expect(deny?.spec?.podSelector).toEqual({});
      expect(deny?.spec?.policyTypes).toEqual(["Ingress", "Egress"]);
      expect(deny?.spec?.ingress).toBeUndefined();
      expect(payments.items[0]?.spec?.ingress?.[0]?.ports?.[0]?.port).toBe(8080);
      expect(elsewhere.items).toEqual([]);
    });

    it("keeps traefik.io and traefik.containo.us IngressRoutes apart", async () => {
      const { custom } = clients();

      const current = (await custom.listClusterCustomObject({
        group: "traefik.io",
        version: "v1alpha1",
        plural: "ingressroutes",
      })) as CustomList;
      const legacy = (await custom.listClusterCustomObject({
        group: "traefik.containo.us",
        version: "v1alpha1",
        plural: "ingressroutes",
      })) as CustomList;

      expect(current.kind).toBe("IngressRouteList");
      expect(current.apiVersion).toBe("traefik.io/v1alpha1");
      expect(current.items.map(qualified)).toEqual(["payments/payments-api", "storefront/shop"]);
      expect(current.items.every((i) => i.apiVersion === "traefik.io/v1alpha1")).toBe(true);
      expect(legacy.items.map(qualified)).toEqual(["payments/legacy-admin"]);
      expect(legacy.items[0]?.apiVersion).toBe("traefik.containo.us/v1alpha1");
      expect(legacy.items[0]?.kind).toBe("IngressRoute");
    });

    it("lists namespaced Traefik objects of one namespace", async () => {
      const { custom } = clients();

      const tcp = (await custom.listNamespacedCustomObject({
        group: "traefik.io",
        version: "v1alpha1",
        namespace: "payments",
        plural: "ingressroutetcps",
      })) as CustomList;
      const stores = (await custom.listNamespacedCustomObject({
        group: "traefik.io",
        version: "v1alpha1",
        namespace: "traefik",
        plural: "tlsstores",
      })) as CustomList;
      const middlewares = (await custom.listNamespacedCustomObject({
        group: "traefik.io",
        version: "v1alpha1",
        namespace: "traefik",
        plural: "middlewares",
      })) as CustomList;

      expect(tcp.items.map(qualified)).toEqual(["payments/postgres"]);
      expect(stores.items.map(qualified)).toEqual(["traefik/default"]);
      expect(middlewares.items.map(qualified)).toEqual(["traefik/redirect-https"]);
    });

    it("serves an object without metadata.namespace in the default namespace", async () => {
      const { core } = clients();

      const all = await core.listConfigMapForAllNamespaces();
      const inDefault = await core.listNamespacedConfigMap({ namespace: "default" });

      expect(all.items.map(qualified)).toEqual(["default/cluster-notes"]);
      expect(inDefault.items.map(qualified)).toEqual(["default/cluster-notes"]);
    });

    it("answers an empty list for a known kind nobody seeded", async () => {
      const { core } = clients();

      const pods = await core.listPodForAllNamespaces();

      expect(pods.kind).toBe("PodList");
      expect(pods.items).toEqual([]);
    });

    it.each([
      ["tier=app", ["payments", "storefront"]],
      ["tier==edge", ["traefik"]],
      ["tier!=app", ["batch", "monitoring", "traefik"]],
      ["tier in (edge, app)", ["payments", "storefront", "traefik"]],
      ["tier notin (app)", ["batch", "monitoring", "traefik"]],
      ["!tier", ["batch", "monitoring"]],
      ["tier,kubernetes.io/metadata.name=payments", ["payments"]],
    ])("filters by labelSelector %s", async (selector, expected) => {
      const { core } = clients();

      const list = await core.listNamespace({ labelSelector: selector });

      expect(list.items.map((n) => n.metadata?.name)).toEqual(expected);
    });

    it("filters by fieldSelector metadata.name and rejects other fields", async () => {
      const { core } = clients();

      const one = await core.listNamespace({ fieldSelector: "metadata.name=traefik" });
      const rejected = await failure(core.listNamespace({ fieldSelector: "status.phase=Active" }));

      expect(one.items.map((n) => n.metadata?.name)).toEqual(["traefik"]);
      expect(rejected.code).toBe(400);
    });
  });

  describe("get", () => {
    it("reads a Namespace and a namespaced custom object", async () => {
      const { core, custom } = clients();

      const namespace = await core.readNamespace({ name: "payments" });
      const option = (await custom.getNamespacedCustomObject({
        group: "traefik.io",
        version: "v1alpha1",
        namespace: "traefik",
        plural: "tlsoptions",
        name: "modern",
      })) as { kind: string; spec: { minVersion: string } };

      expect(namespace.metadata?.labels?.tier).toBe("app");
      expect(option.kind).toBe("TLSOption");
      expect(option.spec.minVersion).toBe("VersionTLS13");
    });

    it("answers a missing object with a NotFound Status naming it", async () => {
      const { core, custom } = clients();

      const namespace = await failure(core.readNamespace({ name: "default" }));
      const route = await failure(
        custom.getNamespacedCustomObject({
          group: "traefik.io",
          version: "v1alpha1",
          namespace: "payments",
          plural: "ingressroutes",
          name: "legacy-admin",
        }),
      );

      expect(namespace).toEqual({
        code: 404,
        body: expect.objectContaining({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          reason: "NotFound",
          code: 404,
          message: 'namespaces "default" not found',
        }),
      });
      expect(route.code).toBe(404);
      expect(route.body).toMatchObject({
        reason: "NotFound",
        message: 'ingressroutes.traefik.io "legacy-admin" not found',
      });
    });

    it.each([
      ["an unknown resource type", `/k8s/${PROD}/apis/traefik.io/v1alpha1/nosuchthings`],
      ["an unknown group", `/k8s/${PROD}/apis/example.com/v1/widgets`],
      ["an unknown version", `/k8s/${PROD}/apis/traefik.io/v9/ingressroutes`],
      ["a cluster-scoped kind under a namespace", `/k8s/${PROD}/api/v1/namespaces/x/nodes`],
      ["a namespaced kind by name without namespace", `/k8s/${PROD}/api/v1/services/traefik`],
      ["a subresource", `/k8s/${PROD}/api/v1/namespaces/traefik/services/traefik/proxy`],
      ["an unseeded cluster", "/k8s/aks-nowhere/api/v1/namespaces"],
    ])("answers %s with a 404 Status", async (_case, path) => {
      const { status, body } = await getJson(path);

      expect(status).toBe(404);
      expect(body).toMatchObject({
        kind: "Status",
        status: "Failure",
        reason: "NotFound",
        code: 404,
      });
    });

    it("refuses write verbs with a 405 Status and changes nothing", async () => {
      const { core } = clients();

      const create = await failure(core.createNamespace({ body: { metadata: { name: "evil" } } }));
      const remove = await failure(core.deleteNamespace({ name: "payments" }));
      const after = await core.listNamespace();

      expect(create.code).toBe(405);
      expect(create.body).toMatchObject({ kind: "Status", reason: "MethodNotAllowed", code: 405 });
      expect(remove.code).toBe(405);
      expect(after.items.map((n) => n.metadata?.name)).toContain("payments");
      expect(after.items.map((n) => n.metadata?.name)).not.toContain("evil");
    });
  });

  describe("serviceOverrides", () => {
    it("serves the Traefik Service's seeded ports and load-balancer address unchanged", async () => {
      const { core } = clients();

      const service = await core.readNamespacedService({ namespace: "traefik", name: "traefik" });

      expect(service.status?.loadBalancer?.ingress).toEqual([{ ip: "20.50.10.4" }]);
      expect(service.spec?.ports).toEqual([
        { name: "web", port: 80, targetPort: "web", protocol: "TCP" },
        { name: "websecure", port: 443, targetPort: "websecure", protocol: "TCP" },
      ]);
    });

    it("gives a Service without a load-balancer address the override's stable one", async () => {
      const { core } = clients(DR);

      const list = await core.listServiceForAllNamespaces();

      expect(list.items[0]?.status?.loadBalancer?.ingress).toEqual([{ ip: "192.0.2.2" }]);
      expect(list.items[0]?.spec?.ports).toEqual([
        { name: "http", port: 80 },
        { name: "https", port: 443 },
      ]);
    });

    it("maps each Service's load-balancer address and TLS port to its override's router", () => {
      expect(estates.k8s?.connectTo()).toEqual({
        "20.50.10.4:443": "127.0.0.1:48443",
        "192.0.2.2:443": "127.0.0.1:48444",
      });
    });

    it("maps nothing for a Service that is not seeded", () => {
      const estate = loadKubernetesEstate(SEED, {
        serviceOverrides: [{ ...PROD_OVERRIDE, name: "absent" }],
      });

      expect(estate.connectTo()).toEqual({});
    });

    it("leaves Services alone in an estate without overrides", async () => {
      const { core } = clients(PROD, "paged");

      const service = await core.readNamespacedService({ namespace: "traefik", name: "traefik" });

      expect(service.status?.loadBalancer?.ingress).toEqual([{ ip: "20.50.10.4" }]);
      expect(service.spec?.ports?.[1]?.port).toBe(443);
    });
  });

  describe("reload, put and delete", () => {
    it("keeps the old state when a reloaded file is malformed, and takes the fixed one", async () => {
      const seed = join(scratch, "reload");
      cpSync(SEED, seed, { recursive: true });
      estates.reload = loadKubernetesEstate(seed, { serviceOverrides: OVERRIDES });
      const { core } = clients(PROD, "reload");
      const broken = join(seed, PROD, "50-late.yaml");
      const newNamespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: late\n";
      writeFileSync(broken, `${newNamespace}---\nkind: [unclosed\n`);

      const error = (() => {
        try {
          estates.reload?.reload();
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      const during = await core.listNamespace();
      writeFileSync(broken, newNamespace);
      estates.reload.reload();
      const after = await core.listNamespace();
      const service = await core.readNamespacedService({ namespace: "traefik", name: "traefik" });

      expect(error).toBeInstanceOf(SeedError);
      expect((error as SeedError).file).toBe(broken);
      expect((error as SeedError).message).toContain("document 1");
      expect(during.items.map((n) => n.metadata?.name)).not.toContain("late");
      expect(during.items).toHaveLength(5);
      expect(after.items.map((n) => n.metadata?.name)).toContain("late");
      expect(service.spec?.ports?.[1]?.port).toBe(443);
      expect(estates.reload.connectTo()["20.50.10.4:443"]).toBe("127.0.0.1:48443");
    });

    it("serves a put object, applies the override to a put Service, and deletes", async () => {
      const estate = loadKubernetesEstate(SEED, { serviceOverrides: OVERRIDES });
      estates.put = estate;
      const { core, custom } = clients(PROD, "put");
      const before = await core.listNamespace();

      estate.put(PROD, { apiVersion: "v1", kind: "Namespace", metadata: { name: "added" } });
      estate.put(PROD, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "traefik", namespace: "traefik" },
        spec: { type: "LoadBalancer", ports: [{ name: "websecure", port: 8443 }] },
      });
      estate.put(PROD, {
        apiVersion: "traefik.io/v1alpha1",
        kind: "IngressRoute",
        metadata: { name: "shop", namespace: "storefront" },
        spec: { entryPoints: ["web"], routes: [] },
      });
      const added = await core.readNamespace({ name: "added" });
      const service = await core.readNamespacedService({ namespace: "traefik", name: "traefik" });
      const routes = (await custom.listClusterCustomObject({
        group: "traefik.io",
        version: "v1alpha1",
        plural: "ingressroutes",
      })) as CustomList & { items: { spec: { entryPoints: string[] } }[] };
      const removed = estate.delete(PROD, { apiVersion: "v1", kind: "Namespace", name: "added" });
      const removedAgain = estate.delete(PROD, {
        apiVersion: "v1",
        kind: "Namespace",
        name: "added",
      });
      const gone = await failure(core.readNamespace({ name: "added" }));

      expect(Number(added.metadata?.resourceVersion)).toBeGreaterThan(
        Number(before.metadata?.resourceVersion),
      );
      expect(service.spec?.ports).toEqual([{ name: "websecure", port: 8443 }]);
      expect(service.status?.loadBalancer?.ingress).toEqual([{ ip: "192.0.2.1" }]);
      expect(estate.connectTo()).toEqual({
        "192.0.2.1:8443": "127.0.0.1:48443",
        "192.0.2.2:443": "127.0.0.1:48444",
      });
      expect(routes.items.map(qualified)).toEqual(["payments/payments-api", "storefront/shop"]);
      expect(routes.items[1]?.spec.entryPoints).toEqual(["web"]);
      expect([removed, removedAgain]).toEqual([true, false]);
      expect(gone.code).toBe(404);
    });

    it("refuses a seed that declares one object twice, naming both places", () => {
      const seed = join(scratch, "duplicate");
      const ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: twice\n";
      cpSync(join(SEED, DR), join(seed, DR), { recursive: true });
      writeFileSync(join(seed, DR, "a.yaml"), ns);
      writeFileSync(join(seed, DR, "b.yaml"), `${ns}---\n${ns}`);

      const load = () => loadKubernetesEstate(seed);

      expect(load).toThrow(SeedError);
      expect(load).toThrow(/b\.yaml: document 0 repeats Namespace "twice" of .*a\.yaml document 0/);
    });

    it("serves no clusters when the seed has no kubernetes folder", () => {
      const estate = loadKubernetesEstate(join(scratch, "no-such-folder"));

      expect(estate.clusters()).toEqual([]);
    });

    it("refuses a put without metadata.name and into an unseeded cluster", () => {
      const estate = loadKubernetesEstate(SEED);

      expect(() => estate.put(PROD, { apiVersion: "v1", kind: "Namespace", metadata: {} })).toThrow(
        TypeError,
      );
      expect(() =>
        estate.put("aks-nowhere", { apiVersion: "v1", kind: "Namespace", metadata: { name: "x" } }),
      ).toThrow(RangeError);
    });
  });
});

const kubectl = await promisify(execFile)("kubectl", ["version", "--client"]).then(
  () => true,
  () => false,
);

describe.runIf(kubectl)("kubectl against the emulator", () => {
  it("resolves ingressroutes.traefik.io through discovery and lists them across namespaces", async () => {
    const dir = mkdtempSync(join(scratch, "kubectl-"));
    const caFile = join(dir, "ca.pem");
    writeFileSync(caFile, ca.caPem);
    writeFileSync(join(dir, "config"), "apiVersion: v1\nkind: Config\n");
    const args = [
      "--kubeconfig",
      join(dir, "config"),
      "--cache-dir",
      join(dir, "cache"),
      "--server",
      `${base}/k8s/${PROD}`,
      "--token",
      TOKEN,
      "--certificate-authority",
      caFile,
    ];

    const { stdout } = await promisify(execFile)("kubectl", [
      ...args,
      "get",
      "ingressroutes.traefik.io",
      "-A",
      "-o",
      "json",
    ]);
    const names = await promisify(execFile)("kubectl", [
      ...args,
      "get",
      "netpol",
      "-n",
      "payments",
      "-o",
      "name",
    ]);
    const table = await promisify(execFile)("kubectl", [
      ...args,
      "get",
      "ingressroutes.traefik.io",
      "-A",
    ]);

    const list = JSON.parse(stdout) as CustomList;
    expect(list.items.map(qualified)).toEqual(["payments/payments-api", "storefront/shop"]);
    expect(names.stdout.trim().split("\n")).toEqual([
      "networkpolicy.networking.k8s.io/allow-from-traefik",
      "networkpolicy.networking.k8s.io/deny-everything",
    ]);
    expect(table.stdout).toMatch(/^NAMESPACE\s+NAME\s+AGE\n/);
    expect(table.stdout).toMatch(/\npayments\s+payments-api\s+\S+\nstorefront\s+shop\s+\S+\n$/);
  });
});
