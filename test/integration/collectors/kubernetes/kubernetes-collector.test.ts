/**
 * The Kubernetes collector's behaviour under failure against the emulator: the collector
 * contract, random faults that change nothing, an unreachable API server, a proxy answering 200
 * without a list, a Traefik group that is not installed, failed IngressRouteTCP and Service
 * lists, paging, and a kubeconfig context instead of AKS.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createCallPolicy } from "../../../../src/collectors/call-policy.js";
import {
  createKubernetesCollector,
  type KubernetesCollectorOptions,
  tlsTargetsOf,
} from "../../../../src/collectors/kubernetes/index.js";
import type { CollectorSettings } from "../../../../src/collectors/types.js";
import type { ClusterTarget, Observation } from "../../../../src/core/index.js";
import type { RunningEmulator } from "../../../../src/emulator/index.js";
import {
  comparable,
  emulatorSettings,
  runCollectorContract,
} from "../../../support/contracts/collector-contract.js";
import { startTestEmulator } from "../../../support/emulator.js";

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const DEMO = join(import.meta.dirname, "../../../../estates/demo");
const CLUSTER: ClusterTarget = {
  kind: "aks",
  name: "aks-hfw-prod",
  subscriptionId: "daa9e34f-fc7d-46c9-bee8-a67739d9ef7a",
  resourceId:
    "/subscriptions/daa9e34f-fc7d-46c9-bee8-a67739d9ef7a/resourceGroups/rg-hfw-erp-aks-prod/providers/Microsoft.ContainerService/managedClusters/aks-hfw-prod",
};
const TRAEFIK = {
  entryPoints: { "*": { web: { tls: false }, websecure: { tls: true } } },
  allowCrossNamespace: { "*": false },
};

function connectTo(emulator: RunningEmulator) {
  return async (cluster: ClusterTarget) => ({
    server: emulator.kubernetes[cluster.name]?.server as string,
    caPem: emulator.caPem,
  });
}

runCollectorContract({
  name: "createKubernetesCollector",
  emulatorSeed: DEMO,
  api: "kubernetes",
  settings: { traefik: TRAEFIK },
  create: ({ emulator, settings }) =>
    createKubernetesCollector(settings, { connect: connectTo(emulator) }),
  target: () => ({ kind: "cluster", cluster: CLUSTER }),
});

describe("createKubernetesCollector", () => {
  let emulator: RunningEmulator;
  let settings: CollectorSettings;

  beforeAll(async () => {
    emulator = await startTestEmulator(DEMO);
    settings = emulatorSettings(emulator, {
      traefik: TRAEFIK,
      callPolicy: createCallPolicy({ initialBackoffInMs: 5, maxBackoffInMs: 20 }),
    });
  });

  async function collect(
    target: ClusterTarget = CLUSTER,
    connect: KubernetesCollectorOptions["connect"] = connectTo(emulator),
  ): Promise<Observation[]> {
    return createKubernetesCollector(settings, { connect }).collect(
      { kind: "cluster", cluster: target },
      { now: emulator.estate.now },
    );
  }

  it("returns the same observations when a fifth of the requests are throttled, fail or reset", async () => {
    const clean = await collect();
    emulator.setFaults([
      { api: "kubernetes", kind: "throttle", retryAfterMs: 5, rate: 0.2 },
      { api: "kubernetes", kind: "error", status: 503, rate: 0.2 },
      { api: "kubernetes", kind: "reset", rate: 0.2 },
    ]);

    try {
      const faulty = await collect();

      expect(comparable(faulty)).toEqual(comparable(clean));
      expect(clean.filter((o) => o.error !== undefined)).toEqual([]);
    } finally {
      emulator.setFaults([]);
    }
  });

  it("reports exactly the cluster's observations as error when its API server is down", async () => {
    const port = await closedPort();

    const observations = await collect(CLUSTER, async () => ({
      server: `https://127.0.0.1:${port}/k8s/aks-hfw-prod`,
      caPem: emulator.caPem,
    }));

    expect(observations.map((o) => [o.id, o.error?.code])).toEqual([
      ["k8s://aks-hfw-prod/_/core/Namespace/*", "ECONNREFUSED"],
      ["k8s://aks-hfw-prod/*/traefik.io/IngressRoute/*", "ECONNREFUSED"],
      ["k8s://aks-hfw-prod/*/traefik.containo.us/IngressRoute/*", "ECONNREFUSED"],
      ["k8s://aks-hfw-prod/*/networking.k8s.io/Ingress/*", "ECONNREFUSED"],
      ["k8s://aks-hfw-prod/*/traefik.io/IngressRouteTCP/*", "ECONNREFUSED"],
      ["k8s://aks-hfw-prod/*/traefik.containo.us/IngressRouteTCP/*", "ECONNREFUSED"],
      ["k8s://aks-hfw-prod/*/core/Service/*", "ECONNREFUSED"],
    ]);
  });

  it("reports every list as UnexpectedResponse when a proxy answers 200 without items", async () => {
    const proxy = createHttpServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end("{}");
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const { port } = proxy.address() as AddressInfo;

    try {
      const observations = await collect(CLUSTER, async () => ({
        server: `http://127.0.0.1:${port}`,
        // Plain HTTP on loopback: the client refuses it unless TLS verification is off.
        skipTlsVerify: true,
      }));

      expect(observations.map((o) => [o.id, o.error?.code])).toEqual([
        ["k8s://aks-hfw-prod/_/core/Namespace/*", "UnexpectedResponse"],
        ["k8s://aks-hfw-prod/*/traefik.io/IngressRoute/*", "UnexpectedResponse"],
        ["k8s://aks-hfw-prod/*/traefik.containo.us/IngressRoute/*", "UnexpectedResponse"],
        ["k8s://aks-hfw-prod/*/networking.k8s.io/Ingress/*", "UnexpectedResponse"],
        ["k8s://aks-hfw-prod/*/traefik.io/IngressRouteTCP/*", "UnexpectedResponse"],
        ["k8s://aks-hfw-prod/*/traefik.containo.us/IngressRouteTCP/*", "UnexpectedResponse"],
        ["k8s://aks-hfw-prod/*/core/Service/*", "UnexpectedResponse"],
      ]);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it("reports a failed IngressRouteTCP list as an error observation per Traefik group", async () => {
    emulator.setFaults([
      { api: "kubernetes", path: "ingressroutetcps", kind: "error", status: 403 },
    ]);

    try {
      const observations = await collect();

      expect(
        observations
          .filter((o) => o.error !== undefined)
          .map((o) => [o.id, o.type, o.error?.statusCode]),
      ).toEqual([
        ["k8s://aks-hfw-prod/*/traefik.io/IngressRouteTCP/*", "traefik.io/IngressRouteTCP", 403],
        [
          "k8s://aks-hfw-prod/*/traefik.containo.us/IngressRouteTCP/*",
          "traefik.containo.us/IngressRouteTCP",
          403,
        ],
      ]);
    } finally {
      emulator.setFaults([]);
    }
  });

  it("reports failed Services as an error observation and gives the cluster no TLS endpoints", async () => {
    const clean = tlsTargetsOf(await collect());
    emulator.setFaults([
      { api: "kubernetes", path: "^/api/v1/services", kind: "error", status: 403 },
    ]);

    try {
      const observations = await collect();

      expect(
        observations
          .filter((o) => o.error !== undefined)
          .map((o) => [o.id, o.type, o.error?.statusCode]),
      ).toEqual([["k8s://aks-hfw-prod/*/core/Service/*", "Service", 403]]);
      expect(clean.length).toBeGreaterThan(0);
      expect(tlsTargetsOf(observations)).toEqual([]);
    } finally {
      emulator.setFaults([]);
    }
  });

  it("treats a Traefik API group that is not installed (404) as having no objects", async () => {
    emulator.setFaults([
      { api: "kubernetes", path: "/apis/traefik\\.containo\\.us/", kind: "error", status: 404 },
    ]);

    try {
      const observations = await collect();

      expect(observations.filter((o) => o.error !== undefined)).toEqual([]);
      expect(observations.some((o) => o.type === "traefik.io/IngressRoute")).toBe(true);
    } finally {
      emulator.setFaults([]);
    }
  });

  it("gives each Namespace a gap when NetworkPolicies cannot be listed", async () => {
    emulator.setFaults([
      { api: "kubernetes", path: "networkpolicies", kind: "error", status: 403 },
    ]);

    try {
      const namespaces = (await collect()).filter((o) => o.type === "Namespace");

      expect(namespaces.length).toBeGreaterThan(0);
      for (const namespace of namespaces)
        expect(namespace.gaps).toEqual([
          expect.objectContaining({ path: "joined.networkPolicies", statusCode: 403 }),
        ]);
    } finally {
      emulator.setFaults([]);
    }
  });

  it("reads a kubeconfig context with its own token the same way as AKS", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-kubeconfig-"));
    const path = join(dir, "config");
    writeFileSync(
      path,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: demo",
        "  cluster:",
        `    server: ${emulator.kubernetes["aks-hfw-prod"]?.server}`,
        `    certificate-authority-data: ${Buffer.from(emulator.caPem).toString("base64")}`,
        "users:",
        "- name: reader",
        "  user:",
        `    token: ${emulator.token}`,
        "contexts:",
        "- name: demo-reader",
        "  context: { cluster: demo, user: reader }",
        "current-context: demo-reader",
        "",
      ].join("\n"),
    );
    const aks = await collect();

    const viaKubeconfig = await collect(
      { kind: "kubeconfig", name: "aks-hfw-prod", kubeconfigPath: path, context: "demo-reader" },
      async () => undefined,
    );

    // Without the AKS lookup there is no joined.cluster; everything else is the same.
    expect(comparable(viaKubeconfig)).toEqual(comparable(aks));
  });
});
